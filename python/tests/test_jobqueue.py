"""The cluster route of docs/python.md, "On a real cluster": workers started
as Slurm jobs by dask-jobqueue's ``SLURMCluster``, a campaign's shards run on
them, merged to the bytes of the local run.

No Slurm here: ``sbatch`` and ``scancel`` are stand-ins put first on PATH.
``sbatch`` keeps a copy of the job script dask-jobqueue wrote (its ``#SBATCH``
header, the prologue, the worker command) and runs it in the background as
the job would run on a node, printing Slurm's "Submitted batch job N";
``scancel N`` ends that job's process group. Everything between them is
dask-jobqueue's own code and the real worker process, so what this checks is
what a user's login node does, up to the queue itself.

Without dask-jobqueue the tests skip, unless EXOSIM_REQUIRE_DASK=1 (CI),
which makes a missing dask-jobqueue a failure.
"""

import importlib.util
import os
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

# Not imported here: importing dask_jobqueue sets a SIGINT handler that
# exits (see slurm_cluster), which would change Ctrl-C for every test.
if not os.environ.get("EXOSIM_REQUIRE_DASK") and importlib.util.find_spec("dask_jobqueue") is None:
    pytest.skip("dask-jobqueue is not installed (pip install './python[jobqueue]')", allow_module_level=True)
import distributed  # noqa: E402

import exosim  # noqa: E402
import exosim.dask  # noqa: E402

from test_dask import assert_same_as_local, run_here  # noqa: E402

# The stand-ins are bash scripts and the jobs' processes are found in /proc.
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the stand-in Slurm needs Linux (bash, setsid, /proc)"
)

SBATCH = """#!/bin/bash
# Stand-in for Slurm's sbatch: the job script is the last argument.
set -eu
script="${@: -1}"
job="$JOBS/job-$$"  # this sbatch's own process id: jobs are submitted concurrently
cp "$script" "$job.sh"
setsid bash "$job.sh" > "$job.out" 2>&1 < /dev/null &
echo $! > "$job.pid"
echo "Submitted batch job $!"
"""

SCANCEL = """#!/bin/bash
# Stand-in for Slurm's scancel: the job id is the job's process group.
for id in "$@"; do
    echo "$id" >> "$JOBS/cancelled"
    kill -TERM -- "-$id" 2>/dev/null || true
done
"""


def slurm_cluster(**options):
    """dask-jobqueue's SLURMCluster, imported with the SIGINT handler kept.

    dask_jobqueue's runner module sets a handler that turns Ctrl-C into
    ``SystemExit`` when it is imported; the tests of Ctrl-C in this process
    expect ``KeyboardInterrupt``, so the handler in place before is restored.
    """
    before = signal.getsignal(signal.SIGINT)
    try:
        from dask_jobqueue import SLURMCluster
    finally:
        signal.signal(signal.SIGINT, before)
    return SLURMCluster(**options)


@pytest.fixture
def slurm(tmp_path, monkeypatch):
    """A folder of stand-in Slurm commands first on PATH; its jobs' scripts and logs in ``jobs``."""
    bin_dir = tmp_path / "slurm-bin"
    jobs = tmp_path / "jobs"
    bin_dir.mkdir()
    jobs.mkdir()
    for name, text in (("sbatch", SBATCH), ("scancel", SCANCEL)):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("JOBS", str(jobs))
    yield jobs
    # Whatever a test left running is ended, as Slurm's walltime would.
    for pid in jobs.glob("job-*.pid"):
        try:
            os.killpg(int(pid.read_text()), 9)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def campaign_file():
    return Path(__file__).resolve().parents[2] / "campaigns" / "virtual_mice.toml"


@pytest.fixture(scope="module")
def local(tmp_path_factory, campaign_file):
    return run_here(tmp_path_factory.mktemp("local"), campaign_file)


def test_shards_on_slurm_jobs_started_by_dask_jobqueue_merge_to_the_local_bytes(
    tmp_path, slurm, campaign_file, local
):
    cluster = slurm_cluster(
        cores=1,
        processes=1,  # one single-threaded worker a job
        memory="1GB",
        walltime="00:10:00",
        account="my_project",
        queue="normal",
        python=sys.executable,  # the nodes' Python with exosim installed
        job_script_prologue=[f"cd {tmp_path}"],
        local_directory=str(tmp_path / "scratch"),
        scheduler_options={"dashboard_address": ":0"},
    )
    with cluster:
        cluster.scale(jobs=2)
        with distributed.Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            seen = []
            result = exosim.dask.run_campaign(
                campaign_file, tmp_path / "out", client, shards=4, progress=seen.append
            )
            ran_on = set(client.run(os.getpid).values())
    assert_same_as_local(tmp_path / "out", local)
    assert result.points.num_rows == 500
    assert seen == [0.25, 0.5, 0.75, 1.0]
    # The workers were the jobs' processes, submitted through sbatch with
    # the header a Slurm scheduler reads.
    scripts = sorted(slurm.glob("job-*.sh"))
    assert len(scripts) == 2
    for script in scripts:
        text = script.read_text()
        for line in ("#SBATCH -A my_project", "#SBATCH -p normal", "#SBATCH -t 00:10:00"):
            assert line in text, text
        assert f"{sys.executable} -m distributed.cli.dask_worker" in text
    assert len(ran_on) == 2
    # Closing the cluster cancelled both jobs; their processes end.
    jobs = {p.read_text().strip() for p in slurm.glob("job-*.pid")}
    assert set((slurm / "cancelled").read_text().split()) == jobs
    deadline = time.monotonic() + 30
    while any(_alive(int(j)) for j in jobs) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(int(j)) for j in jobs)


def _alive(group):
    """Whether a process of group ``group`` is still running (a zombie, ended
    but not yet reaped by the container's init, does not count)."""
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state != "Z":
            return True
    return False
