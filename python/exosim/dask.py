"""A campaign's shards as tasks of a Dask cluster, merged into one folder.

::

    from dask.distributed import Client, LocalCluster
    import exosim.dask

    if __name__ == "__main__":  # the workers are processes that import the script
        with Client(LocalCluster(n_workers=2, threads_per_worker=1)) as client:
            result = exosim.dask.run_campaign("campaigns/virtual_mice.toml", "results/vm", client)

The merged folder holds the same bytes as ``exosim run CAMPAIGN -o DIR`` on
one machine, whatever the cluster, the number of shards or the workers that
ran them (docs/python.md, "Campaigns on a Dask cluster").

How it works: one task per shard. A task runs :meth:`Campaign.run_shard` in
a scratch folder of its worker and returns the part's files as bytes; the
client writes each part into its own folder (a temporary folder, renamed
into place when whole), then merges them with :func:`exosim.merge`. So the
workers need to read the campaign and its study (at the same absolute path,
or the campaign's text) but share no output folder with the client; a worker
killed mid-shard leaves nothing in the parts or the result, and the shard's
task runs again from the start on another worker: Dask's scheduler reruns a
task whose worker died (``distributed.scheduler.allowed-failures``, 3 by
default), and this module submits a failed shard again up to ``retries``
times. A shard is a deterministic function of the campaign, so a rerun gives
the same bytes.

Dask is imported when :func:`run_campaign` is called: ``import exosim``
works without it (``pip install ./python[dask]`` installs it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import MANIFEST, Campaign, CampaignError, CampaignResult, Error, PathLike, merge

__all__ = ["run_campaign"]

#: A part's files by name, as one task returns them.
PartFiles = Dict[str, bytes]


def _scratch() -> Optional[str]:
    """The running Dask worker's own folder (removed with it), else the system's temporary folder."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def _shard_task(
    campaign: Campaign,
    index: int,
    count: int,
    threads: Optional[int],
    worker_progress: Optional[Callable[[int, int, float], Any]],
) -> Tuple[Dict[str, Any], PartFiles]:
    """Runs shard ``index`` of ``count`` on a worker; returns its record and its files' bytes.

    The shard runs in a scratch folder of its own, removed afterwards, so a
    task run again (after its worker died) starts afresh and shares nothing
    with the first attempt.
    """
    hook = None
    if worker_progress is not None:

        def hook(fraction: float) -> None:
            worker_progress(index, count, fraction)

    with tempfile.TemporaryDirectory(prefix=f"exosim-shard-{index}-of-{count}-", dir=_scratch()) as tmp:
        record = campaign.run_shard(index, count, tmp, threads=threads, progress=hook)
        files = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}
    return record, files


def _part_file(parts_dir: Path, index: int, count: int) -> Path:
    """The record a finished part ``index`` of ``count`` has in ``parts_dir``."""
    return parts_dir / str(index) / f"part-{index}-of-{count}.json"


def _write_part(parts_dir: Path, index: int, files: PartFiles, replace: bool) -> None:
    """Writes a part's files into ``parts_dir/index``: all of them, or none.

    They go into a hidden temporary folder beside it, each synced to disk,
    and the folder is renamed into place. ``replace`` removes an earlier
    part folder there first, only the files its manifest lists (an exosim
    part folder holding other files is refused).
    """
    final = parts_dir / str(index)
    tmp = parts_dir / f".{index}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        if final.exists():
            if not replace:
                raise Error(f"{final} exists: pass force=True to run that shard again")
            _remove_part(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        fd = os.open(parts_dir, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened (not POSIX): the rename stands
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_part(folder: Path) -> None:
    """Removes a part folder exosim wrote: the files its manifest lists, then the folder.

    Refused (:class:`Error`) when it has no exosim manifest or holds other files.
    """
    import json

    manifest = folder / MANIFEST
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError) as e:
        raise Error(f"{folder}: not a part folder exosim wrote (no manifest); not removed") from e
    for name in listed:
        (folder / name).unlink(missing_ok=True)
    manifest.unlink()
    try:
        folder.rmdir()
    except OSError as e:
        raise Error(f"{folder} holds files exosim did not write; not removed") from e


def _check_out_dir(out_dir: Path, force: bool) -> None:
    """Refuses, before anything runs, an output folder that :func:`merge` would refuse."""
    if out_dir.exists() and not out_dir.is_dir():
        raise Error(f"output directory `{out_dir}` is not a directory")
    if not force and out_dir.is_dir() and any(p.name != MANIFEST for p in out_dir.iterdir()):
        raise Error(f"output directory `{out_dir}` is not empty (pass force=True to overwrite)")


def run_campaign(
    campaign: Union[Campaign, PathLike, str],
    out_dir: PathLike,
    client: Any = None,
    shards: Optional[int] = None,
    threads: Optional[int] = 1,
    retries: int = 2,
    parts_dir: Optional[PathLike] = None,
    force: bool = False,
    progress: Optional[Callable[[float], Any]] = None,
    worker_progress: Optional[Callable[[int, int, float], Any]] = None,
) -> CampaignResult:
    """Runs ``campaign``'s shards as tasks of a Dask cluster and merges them into ``out_dir``.

    ``campaign`` is a :class:`~exosim.Campaign` or its file (or text).
    ``client`` is a ``distributed.Client`` (default: the current one).
    ``shards`` (default: the cluster's threads when called, at most the
    number of runs) is the number of tasks; each runs its points on
    ``threads`` threads (default 1: give workers one Dask thread per core).
    Neither changes a byte of the result.

    A shard whose task fails (an exception, or its worker died beyond what
    the scheduler reruns itself) is submitted again, at most ``retries``
    times; then the failure is raised as :class:`~exosim.Error` (a
    :class:`~exosim.CampaignError` as it is, not retried), the other tasks
    are cancelled and ``out_dir`` is not touched.

    The parts go to ``parts_dir/1`` … ``parts_dir/N``, each written whole
    or not at all, or by default to a temporary folder removed at the end.
    Parts of this shard count already in ``parts_dir`` are kept and their
    shards not run again (a run resumed after a failure; :func:`merge`
    refuses parts of another campaign); ``force`` runs every shard again
    and replaces the parts exosim wrote there. ``out_dir`` is refused
    when it holds files, before anything runs, unless ``force``, which
    replaces what exosim wrote there and nothing else.

    ``progress(fraction)`` is called on this thread as parts arrive;
    ``worker_progress(index, count, fraction)`` on the worker, as a shard
    advances (both must pickle to reach the worker: a module's function).
    Returns the merged folder read back, as :func:`exosim.merge`.
    """
    try:
        from distributed import as_completed, get_client
    except ImportError as e:
        raise ImportError(
            "exosim.dask needs Dask distributed: pip install 'dask[distributed]' (or ./python[dask])"
        ) from e
    if not isinstance(campaign, Campaign):
        campaign = Campaign.from_toml(campaign)
    if campaign.is_calibration:
        raise CampaignError("a calibration runs whole (its starts share one state): use campaign.run")
    if retries < 0:
        raise ValueError(f"retries={retries}: the number of times a shard may run again, 0 or more")
    if client is None:
        try:
            client = get_client()
        except ValueError as e:
            raise Error("no Dask client: pass client=Client(...) or start one first") from e
    if shards is None:
        shards = sum(client.nthreads().values())
    shards = max(1, min(int(shards), max(campaign.runs, 1)))
    out = Path(out_dir).absolute()
    _check_out_dir(out, force)

    own_parts = parts_dir is None
    if parts_dir is None:
        parts = Path(tempfile.mkdtemp(prefix=f"exosim-{campaign.name}-parts-"))
    else:
        parts = Path(parts_dir).absolute()
    if out == parts or out in parts.parents:
        raise Error(f"parts_dir `{parts}` is inside out_dir `{out}`: give them separate folders")
    try:
        parts.mkdir(parents=True, exist_ok=True)
        todo = [i for i in range(1, shards + 1) if force or not _part_file(parts, i, shards).is_file()]
        taken = [str(i) for i in todo if not force and (parts / str(i)).exists()]
        if taken:
            raise Error(
                f"parts_dir `{parts}` holds {', '.join(taken)}, not parts of {shards} shards: "
                "pass force=True to replace them (or another parts_dir)"
            )
        _run_tasks(client, as_completed, campaign, todo, shards, threads, retries, parts, force, progress,
                   worker_progress)
        return merge([parts / str(i) for i in range(1, shards + 1)], out, force=force)
    finally:
        if own_parts:
            shutil.rmtree(parts, ignore_errors=True)


def _run_tasks(
    client: Any,
    as_completed: Any,
    campaign: Campaign,
    todo: List[int],
    shards: int,
    threads: Optional[int],
    retries: int,
    parts: Path,
    force: bool,
    progress: Optional[Callable[[float], Any]],
    worker_progress: Optional[Callable[[int, int, float], Any]],
) -> None:
    """Submits shards ``todo`` of ``shards``, writes each part as it arrives, resubmits failures."""
    # The campaign goes with each task (it pickles as its file's path, or its
    # text: a few bytes), not scattered: data scattered to a worker that dies
    # is lost, and the tasks that need it with it.

    def submit(index: int) -> Any:
        return client.submit(
            _shard_task, campaign, index, shards, threads, worker_progress,
            key=f"exosim-shard-{campaign.name}-{index}-of-{shards}-{uuid.uuid4().hex}", pure=False,
        )

    which = {}
    attempts = {i: 0 for i in todo}
    for i in todo:
        which[submit(i)] = i
    done = shards - len(todo)
    running = as_completed(list(which))
    try:
        for future in running:
            index = which.pop(future)
            try:
                _record, files = future.result()
            except CampaignError:
                raise
            except Exception as e:
                if attempts[index] < retries:
                    attempts[index] += 1
                    again = submit(index)
                    which[again] = index
                    running.add(again)
                    continue
                tries = attempts[index] + 1
                raise Error(
                    f"shard {index}/{shards} of campaign `{campaign.name}` failed on the Dask cluster "
                    f"({tries} attempt{'s' if tries > 1 else ''}): {type(e).__name__}: {e}; nothing was merged"
                ) from e
            finally:
                future.release()
            _write_part(parts, index, files, replace=force)
            done += 1
            if progress is not None:
                progress(done / shards)
    finally:
        if which:
            client.cancel(list(which))
