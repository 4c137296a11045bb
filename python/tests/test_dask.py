"""A campaign's shards as tasks of a Dask cluster (exosim.dask): merged, the
bytes of the local run, even when a worker is killed in the middle of a shard.

They run on a local cluster of 2 worker processes, 1 thread each. Without
Dask distributed they skip, unless EXOSIM_REQUIRE_DASK=1 (CI), which makes
a missing Dask a failure.
"""

import functools
import os
from pathlib import Path

import pytest

if not os.environ.get("EXOSIM_REQUIRE_DASK"):
    pytest.importorskip(
        "distributed", reason="Dask distributed is not installed (pip install './python[dask]')"
    )
import distributed  # noqa: E402

import exosim  # noqa: E402
import exosim.dask  # noqa: E402


@pytest.fixture(scope="module")
def campaign_file():
    """500 virtual mice: a shipped campaign, 0.4 s on one core of the 2-core machine."""
    return Path(__file__).resolve().parents[2] / "campaigns" / "virtual_mice.toml"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory, campaign_file):
    """The same with 2500 mice, so that a shard (834 runs) lasts long enough
    to be killed in the middle on a fast machine too: the worker sees its
    progress every 50 ms."""
    text = campaign_file.read_text()
    assert "points = 500\n" in text
    text = text.replace("points = 500\n", "points = 2500\n")
    text = text.replace('study = "../studies/', f'study = "{campaign_file.parent.parent.as_posix()}/studies/')
    path = tmp_path_factory.mktemp("big") / "virtual_mice.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def client():
    """A local cluster: 2 worker processes of 1 thread, restarted when killed."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def run_here(tmp, file):
    """The campaign run whole here, and its 2 shards run here and merged."""
    campaign = exosim.Campaign.from_toml(file)
    campaign.run(tmp / "whole", threads=2)
    for i in (1, 2):
        campaign.run_shard(i, 2, tmp / f"part{i}", threads=2)
    exosim.merge([tmp / "part1", tmp / "part2"], tmp / "merged")
    return tmp


@pytest.fixture(scope="module")
def local(tmp_path_factory, campaign_file):
    """The shipped campaign's results, made here."""
    return run_here(tmp_path_factory.mktemp("local"), campaign_file)


@pytest.fixture(scope="module")
def big_local(tmp_path_factory, big_file):
    """The 2500 mice's results, made here."""
    return run_here(tmp_path_factory.mktemp("big_local"), big_file)


def files(folder):
    """Every file under ``folder`` (hidden ones included) by relative path, as bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()
    }


def assert_same_as_local(out, local):
    """``out`` holds, byte for byte, every file of the local merge and the whole run's results."""
    got = files(out)
    assert got == files(local / "merged")
    # The whole run's manifest says `campaign` wrote it: every other file is the same.
    whole = files(local / "whole")
    del got[exosim.MANIFEST], whole[exosim.MANIFEST]
    assert sorted(whole) == ["campaign.csv", "campaign.parquet", "summary.json"]
    assert got == whole


def kill_once(marker, shard, index, count, fraction):
    """A worker's progress hook: kills the worker running ``shard`` once, mid-shard.

    The first time that shard has done part of its points, and not all,
    the marker file is made (atomically: only one process can) holding the
    worker's process id, and the process exits at once, as a killed or
    crashed worker would: no Python cleanup, the shard's files half made.
    """
    if index != shard or not 0.0 < fraction < 1.0:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, f"{os.getpid()} {fraction}".encode())
    os.close(fd)
    os._exit(17)


def was_killed_mid_shard(marker, client):
    """The killed worker's process id was a worker's and is none now; it had done part of its shard."""
    pid, fraction = marker.read_text().split()
    assert 0.0 < float(fraction) < 1.0
    assert int(pid) not in client.run(os.getpid).values()


def test_shards_on_dask_merge_to_the_bytes_of_the_local_run(tmp_path, client, campaign_file, local):
    seen = []
    result = exosim.dask.run_campaign(campaign_file, tmp_path / "out", client, shards=3, progress=seen.append)
    assert_same_as_local(tmp_path / "out", local)
    assert result.points.num_rows == 500
    assert result.manifest["written_by"] == "merge"
    assert seen == [1 / 3, 2 / 3, 1.0]
    # The parts went to a temporary folder, removed: only the result is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_worker_killed_mid_shard_is_replaced_and_the_merge_is_exact(tmp_path, client, big_file, big_local):
    marker = tmp_path / "killed"
    exosim.dask.run_campaign(
        big_file,
        tmp_path / "out",
        client,
        shards=3,
        retries=0,  # the scheduler reruns the task itself (allowed-failures)
        worker_progress=functools.partial(kill_once, str(marker), 2),
    )
    was_killed_mid_shard(marker, client)
    assert_same_as_local(tmp_path / "out", big_local)


def test_a_shard_whose_worker_died_is_submitted_again_and_the_merge_is_exact(
    tmp_path, client, big_file, big_local
):
    marker = tmp_path / "killed"
    scheduler = client.cluster.scheduler
    scheduler.allowed_failures = 0  # a worker's death fails its task at once
    try:
        exosim.dask.run_campaign(
            big_file,
            tmp_path / "out",
            client,
            shards=3,
            retries=1,
            parts_dir=tmp_path / "parts",
            worker_progress=functools.partial(kill_once, str(marker), 3),
        )
    finally:
        scheduler.allowed_failures = 3
    was_killed_mid_shard(marker, client)
    assert_same_as_local(tmp_path / "out", big_local)
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["1", "2", "3"]


def test_without_retries_a_killed_shard_raises_and_writes_no_result(tmp_path, client, big_file, big_local):
    marker = tmp_path / "killed"
    parts = tmp_path / "parts"
    scheduler = client.cluster.scheduler
    scheduler.allowed_failures = 0
    try:
        with pytest.raises(exosim.Error, match=r"shard [1-3]/3 of campaign `virtual_mice` failed") as caught:
            exosim.dask.run_campaign(
                big_file,
                tmp_path / "out",
                client,
                shards=3,
                retries=0,
                parts_dir=parts,
                worker_progress=functools.partial(kill_once, str(marker), 2),
            )
    finally:
        scheduler.allowed_failures = 3
    was_killed_mid_shard(marker, client)
    assert "KilledWorker" in str(caught.value)
    assert not (tmp_path / "out").exists()
    # What is in the parts folder is whole parts, nothing half written.
    for folder in parts.iterdir():
        assert not folder.name.startswith("."), folder
        names = sorted(p.name for p in folder.iterdir())
        assert names == [".exosim-manifest.json", f"part-{folder.name}-of-3.json", f"part-{folder.name}-of-3.parquet"]
    assert "2" not in {p.name for p in parts.iterdir()}
    # The same call again runs only what is missing and merges the exact bytes.
    kept = {p.name: files(p) for p in parts.iterdir()}
    seen = []
    exosim.dask.run_campaign(
        big_file, tmp_path / "out", client, shards=3, parts_dir=parts, progress=seen.append
    )
    assert_same_as_local(tmp_path / "out", big_local)
    assert len(seen) == 3 - len(kept)
    assert {name: files(parts / name) for name in kept} == kept


def test_a_folder_holding_files_is_refused_before_anything_runs(tmp_path, client, campaign_file):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    seen = []
    with pytest.raises(exosim.Error, match="not empty"):
        exosim.dask.run_campaign(campaign_file, out, client, shards=2, progress=seen.append)
    assert seen == []
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    # A parts folder holding something else where a part goes, too.
    parts = tmp_path / "parts"
    (parts / "2").mkdir(parents=True)
    (parts / "2" / "mine.txt").write_text("mine")
    with pytest.raises(exosim.Error, match="holds 2, not parts of 2 shards"):
        exosim.dask.run_campaign(
            campaign_file, tmp_path / "o2", client, shards=2, parts_dir=parts, progress=seen.append
        )
    assert seen == []
    assert sorted(p.name for p in parts.iterdir()) == ["2"]
    with pytest.raises(exosim.Error, match="not a part folder exosim wrote"):
        exosim.dask.run_campaign(campaign_file, tmp_path / "o2", client, shards=2, parts_dir=parts, force=True)
    assert (parts / "2" / "mine.txt").read_text() == "mine"
    with pytest.raises(exosim.CampaignError, match="calibration"):
        exosim.dask.run_campaign(campaign_file.parent / "b16bl6_organs_calibration.toml", tmp_path / "c", client)


def test_the_current_client_and_its_threads_are_the_defaults(tmp_path, client, campaign_file, local):
    seen = []
    with client.as_current():
        result = exosim.dask.run_campaign(
            exosim.Campaign.from_toml(campaign_file), tmp_path / "out", progress=seen.append
        )
    assert seen == [0.5, 1.0]  # a shard for each of the 2 worker threads
    assert result.points.num_rows == 500
    assert_same_as_local(tmp_path / "out", local)


def test_without_dask_the_error_says_what_to_install(tmp_path, campaign_file, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'dask\[distributed\]'"):
        exosim.dask.run_campaign(campaign_file, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_parts_from_the_command_line_and_from_dask_merge_together(tmp_path, client, campaign_file, local, cli):
    parts = tmp_path / "parts"
    cli("run", campaign_file, "--shard", "2/3", "-o", parts / "2", "-q")
    seen = []
    exosim.dask.run_campaign(campaign_file, tmp_path / "out", client, shards=3, parts_dir=parts, progress=seen.append)
    assert seen == [2 / 3, 1.0]  # shards 1 and 3 ran on Dask, 2 was there
    assert_same_as_local(tmp_path / "out", local)
