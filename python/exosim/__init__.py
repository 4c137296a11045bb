"""exosim from Python: studies, runs and campaigns, tables as pyarrow.

The package runs the same library as the ``exosim`` command, so a study run
here gives the same numbers and, saved, the same files as ``exosim run``::

    import exosim
    study = exosim.Study.from_toml("studies/mouse_iv_bolus.toml")
    study["vesicles.sEV.diameter"] = "150 nm"
    result = study.run()
    result["timeseries"].to_pandas()
    result.save("results/bigger_evs")

Tables are ``pyarrow.Table`` objects: the units and descriptions of a
column are in its field metadata (``field.metadata[b"unit"]``), as in the
Parquet files. Every failure raises an :class:`Error`: a study that is not
valid a :class:`StudyError` located at its line, a campaign a
:class:`CampaignError`. Ctrl-C stops a run (``KeyboardInterrupt``) and
leaves no output.

:mod:`exosim.dask` runs a campaign's shards as tasks of a Dask cluster and
merges them (``pip install ./python[dask]``); it is imported on its own,
``import exosim.dask``, so that ``import exosim`` needs no Dask.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import pyarrow as pa

from . import _exosim
from ._exosim import CampaignError, Error, StudyError

__version__: str = _exosim.__version__

__all__ = [
    "Campaign",
    "CampaignError",
    "CampaignResult",
    "Error",
    "Result",
    "Study",
    "StudyError",
    "StudyNotice",
    "merge",
    "read_run",
]

class StudyNotice(UserWarning):
    """What validation tells a valid study, as a warning: a run estimated
    to take more than ten minutes on one thread. Its text is the command
    line's ``note:`` line, located at the key that sets the work."""


#: A path: text or any `os.PathLike` (`pathlib.Path`).
PathLike = Union[str, "os.PathLike[str]"]

#: The manifest exosim writes into each of its output folders.
MANIFEST = ".exosim-manifest.json"


def _is_file(path_or_text: Union[PathLike, str]) -> bool:
    """Whether ``path_or_text`` is a path rather than TOML text.

    A path object, an existing file, or one line ending in ``.toml`` (so
    that a mistyped path says the file is missing rather than that it is
    not TOML).
    """
    if isinstance(path_or_text, os.PathLike):
        return True
    if "\n" in path_or_text:
        return False
    if path_or_text.strip().endswith(".toml"):
        return True
    try:
        return Path(path_or_text).is_file()
    except (OSError, ValueError):
        return False


class Study:
    """A study file, the values set over it, and its runs.

    Make one with :meth:`from_toml` or :meth:`from_dict`. A value is read
    and set by its parameter path, the syntax of ``exosim run --set`` and of
    campaigns: ``study["vesicles.sEV.diameter"] = "150 nm"``. Values are as
    written in a study file: a quantity is text with its unit, a count a
    number.
    """

    def __init__(self, native: _exosim.NativeStudy, made: Any = None) -> None:
        """Wraps a compiled study; use :meth:`from_toml` or :meth:`from_dict`."""
        self._native = native
        # How it was made and the values set since: what a pickle carries,
        # so that a study can go to another process (multiprocessing, Dask).
        self._made = made
        self._sets: List[Any] = []

    def __reduce__(self) -> Any:
        """Pickled as the way it was made and the values set since."""
        return (_remake_study, (self._made, self._sets))

    @classmethod
    def from_toml(cls, path_or_text: Union[PathLike, str]) -> "Study":
        """A study from a file path, or from TOML text when no file has that name.

        A file's relative paths (a cells CSV, for instance) start from its
        folder, as for ``exosim run``; those of text from the working directory.
        Raises :class:`StudyError` when the text is not a study file.
        """
        if _is_file(path_or_text):
            path = os.fspath(path_or_text)
            return cls(_exosim.NativeStudy.from_path(path), ("path", os.path.abspath(path)))
        return cls(_exosim.NativeStudy.from_text(str(path_or_text)), ("text", str(path_or_text)))

    @classmethod
    def from_dict(cls, study: Mapping[str, Any]) -> "Study":
        """A study from a dict shaped like the TOML file (``{"study": {...}, "vesicles": [...]}``)."""
        text = json.dumps(study, allow_nan=False)
        return cls(_exosim.NativeStudy.from_json(text), ("json", text))

    def __getitem__(self, path: str) -> Any:
        """The value at ``path`` as written (``"100 nm"``, ``1e10``); :class:`StudyError` if unset."""
        return json.loads(self._native.get(path))

    def __setitem__(self, path: str, value: Any) -> None:
        """Sets the value at ``path`` as ``--set PATH=VALUE`` would.

        A path that names nothing raises :class:`StudyError` now (with the
        nearest name as a hint); a value that does not fit, at
        :meth:`validate` or :meth:`run`.
        """
        self._native.set(path, json.dumps(value, allow_nan=False))
        self._sets.append((path, value))

    @property
    def file(self) -> str:
        """The name errors give the study: its path, ``<string>`` or ``<dict>``."""
        return self._native.file

    def validate(self) -> str:
        """Checks the study as ``exosim validate`` does; returns its name.

        Raises :class:`StudyError` with ``file``, ``line``, ``column``,
        ``key``, ``message`` and ``hint``; its text is the command line's.
        A valid study estimated to run long is told so by a
        :class:`StudyNotice` warning.
        """
        name = self._native.validate()
        self._warn_notices()
        return name

    def _warn_notices(self) -> None:
        """Each of the study's notices as a :class:`StudyNotice` warning."""
        for notice in self._native.notices():
            warnings.warn(notice, StudyNotice, stacklevel=3)

    def to_toml(self) -> str:
        """The study as TOML: the file's own text until a value is set."""
        return self._native.to_toml()

    def to_dict(self) -> Dict[str, Any]:
        """The study as a dict, values as written (the inverse of :meth:`from_dict`)."""
        return json.loads(self._native.to_json())

    def run(
        self,
        seed: Optional[int] = None,
        threads: Optional[int] = None,
        progress: Optional[Callable[[float], Any]] = None,
    ) -> "Result":
        """Runs the study; ``seed`` replaces the study's, ``threads`` sizes the pool.

        The results do not depend on ``threads`` (default: every core). The
        GIL is released while the engines work; Ctrl-C raises
        ``KeyboardInterrupt`` and abandons the run. ``progress``, if given,
        is called on this thread with the fraction done (0 to 1) as it grows,
        at most every 50 ms and last with 1.0 (for a progress bar); an
        exception it raises abandons the run too. A run estimated to take
        long is told so first by a :class:`StudyNotice` warning.
        """
        self._warn_notices()
        native = self._native.run(seed=seed, threads=threads, progress=progress)
        return Result._of_run(native)

    def __repr__(self) -> str:
        """``Study('studies/x.toml')``."""
        return f"Study({self.file!r})"


def _remake_study(made: Any, sets: List[Any]) -> Study:
    """A pickled study made again: read as it was, the same values set."""
    kind, source = made
    make = {"path": _exosim.NativeStudy.from_path, "text": _exosim.NativeStudy.from_text}
    study = Study(make.get(kind, _exosim.NativeStudy.from_json)(source), made)
    for path, value in sets:
        study[path] = value
    return study


class Result:
    """What a run observed: its summary and its tables.

    ``summary`` is ``summary.json`` as a dict; ``tables`` names the tables
    of the run directory (``timeseries``, ``biopsy_curve``, …), each read as
    a ``pyarrow.Table`` by ``result["timeseries"]`` or
    :meth:`table`. Tables the command line writes as Parquet carry units and
    descriptions in their field metadata; so do the tables written only as
    CSV, from the library's dictionary of their columns.

    Attributes: ``summary`` (dict), ``tables`` (names), ``manifest`` (the
    folder's manifest as a dict, for a result read from a folder) and
    ``path`` (that folder; ``None`` for a run in memory).
    """

    def __init__(
        self,
        summary: Optional[Dict[str, Any]],
        tables: Sequence[str],
        load: Callable[[str], pa.Table],
        manifest: Optional[Dict[str, Any]] = None,
        path: Optional[Path] = None,
        native: Optional[_exosim.NativeRun] = None,
    ) -> None:
        """Use :meth:`Study.run` or :func:`read_run` rather than this."""
        self._summary = summary
        self.tables: List[str] = list(tables)
        self.manifest = manifest
        self.path = path
        self._load = load
        self._native = native
        self._cache: Dict[str, pa.Table] = {}

    @classmethod
    def _of_run(cls, native: _exosim.NativeRun) -> "Result":
        """The result of a run in memory; CSV tables made on first use."""
        result = cls(None, native.table_names(), lambda n: None, native=native)
        result._load = result._load_from_run
        return result

    def _load_from_run(self, name: str) -> pa.Table:
        """``timeseries`` straight from the run; any other table as its file reads."""
        native = self._native
        assert native is not None
        if name == "timeseries":
            batch = native.timeseries()
            return pa.Table.from_batches([pa.record_batch(batch)])
        # The other tables exist as the library writes them: write once, read back.
        with tempfile.TemporaryDirectory(prefix="exosim-") as tmp:
            native.save(tmp, force=True)
            for other in self.tables:
                if other != "timeseries":
                    self._cache[other] = _read_table(Path(tmp), other)
        return self._cache[name]

    @property
    def summary(self) -> Dict[str, Any]:
        """``summary.json`` as a dict (made on first use for a run in memory)."""
        if self._summary is None:
            assert self._native is not None
            self._summary = json.loads(self._native.summary_json())
        return self._summary

    def table(self, name: str) -> pa.Table:
        """The table ``name`` (one of :attr:`tables`) as a ``pyarrow.Table``."""
        if name not in self.tables:
            raise KeyError(f"no table `{name}`: this run has {', '.join(self.tables) or 'none'}")
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def __getitem__(self, name: str) -> pa.Table:
        """``result["timeseries"]``: :meth:`table`."""
        return self.table(name)

    def to_pandas(self, name: str = "timeseries") -> Any:
        """The table ``name`` as a pandas DataFrame (needs pandas)."""
        return self.table(name).to_pandas()

    def save(self, dir: PathLike, force: bool = False) -> List[Path]:
        """Writes the run directory exactly as ``exosim run -o DIR`` would.

        Refused (:class:`Error`) when ``dir`` holds files, unless ``force``,
        which removes what an earlier exosim run wrote there and nothing else.
        Returns the paths written.
        """
        if self._native is None:
            raise Error("this result was read from a folder; it is already saved there")
        return [Path(p) for p in self._native.save(os.fspath(dir), force=force)]

    def __repr__(self) -> str:
        """``Result('mouse_iv_bolus', tables=[...])``."""
        name = self.summary.get("study") or self.summary.get("campaign")
        return f"{type(self).__name__}({name!r}, tables={self.tables!r})"


def _read_table(dir: Path, name: str) -> pa.Table:
    """``dir/name.parquet`` (units in its metadata) or else ``dir/name.csv``,
    each known column given its unit and description as field metadata."""
    parquet = dir / f"{name}.parquet"
    if parquet.is_file():
        import pyarrow.parquet as pq

        return pq.read_table(parquet)
    import pyarrow.csv as pcsv

    table = pcsv.read_csv(dir / f"{name}.csv")
    known = _exosim.csv_columns(name, table.column_names)
    fields = [
        field.with_metadata({"unit": doc[0], "description": doc[1]}) if doc is not None else field
        for field, doc in zip(table.schema, known)
    ]
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields))


def _table_names(dir: Path, manifest: Optional[Dict[str, Any]]) -> List[str]:
    """The tables of a folder: in the manifest's order, else by file name."""
    if manifest is not None:
        files = list(manifest.get("files", []))
    else:
        files = sorted(p.name for p in dir.iterdir())
    names: List[str] = []
    for f in files:
        stem, dot, ext = f.rpartition(".")
        if dot and ext in ("csv", "parquet") and "/" not in f and stem not in names:
            if (dir / f).is_file():
                names.append(stem)
    return names


def read_run(dir: PathLike) -> Result:
    """Loads a folder ``exosim run`` (or ``merge``, or :meth:`Result.save`) wrote.

    ``summary.json`` is required (it is written last: its presence marks a
    complete result); every table is read as pyarrow, the manifest as a dict.
    """
    path = Path(dir)
    summary_file = path / "summary.json"
    if not summary_file.is_file():
        raise Error(f"{path}: no summary.json, so not a finished exosim run directory")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    manifest_file = path / MANIFEST
    manifest = json.loads(manifest_file.read_text(encoding="utf-8")) if manifest_file.is_file() else None
    cls = CampaignResult if "campaign" in summary else Result
    return cls(summary, _table_names(path, manifest), lambda n: _read_table(path, n), manifest, path)


class CampaignResult(Result):
    """A campaign's folder read back: ``summary`` (the merged ``summary.json``),
    :attr:`points` (one row per run) and :attr:`sensitivity`; a calibration's
    tables (``calibration_fit``, ``calibration_timeseries``,
    ``calibration_curves``; for ABC-SMC ``abc_posterior``,
    ``abc_generations``, ``abc_fit``) by name."""

    @property
    def points(self) -> Optional[pa.Table]:
        """The merged table, ``campaign.parquet``: one row per run, parameters then observables."""
        return self.table("campaign") if "campaign" in self.tables else None

    @property
    def sensitivity(self) -> Optional[pa.Table]:
        """The sensitivity indices, ``sensitivity.csv``, when the design gives them."""
        return self.table("sensitivity") if "sensitivity" in self.tables else None


class Campaign:
    """A campaign file (many runs of one study) and the study it names.

    Runs write the folder the command line writes, so shards run here, on
    a cluster or with ``exosim run --shard`` merge together.
    """

    def __init__(
        self, native: _exosim.NativeCampaign, made: Any = None, sets: Optional[Mapping[str, Any]] = None
    ) -> None:
        """Wraps a compiled campaign; use :meth:`from_toml`."""
        self._native = native
        self._made = made
        self._sets = dict(sets or {})

    def __reduce__(self) -> Any:
        """Pickled as the file (or text) it was read from and its sets, read again on arrival."""
        return (Campaign.from_toml, (self._made, self._sets))

    @classmethod
    def from_toml(cls, path_or_text: Union[PathLike, str], set: Optional[Mapping[str, Any]] = None) -> "Campaign":
        """A campaign from a file path, or from TOML text when no file has that name.

        Its ``study`` path starts from the file's folder (from the working
        directory for text). ``set`` fixes values of its study for every
        point, by path, as ``exosim run CAMPAIGN --set PATH=VALUE`` does
        (``{"arms.targeted.doses[0].amount": 3.3e9}``; a value with a unit
        as text, ``"150 nm"``); a path the campaign varies is refused.
        Raises :class:`CampaignError`, located.
        """
        sets = [(path, json.dumps(value)) for path, value in (set or {}).items()]
        if _is_file(path_or_text):
            path = os.fspath(path_or_text)
            native = _exosim.NativeCampaign.from_path(path, sets=sets)
            return cls(native, Path(os.path.abspath(path)), set)
        return cls(_exosim.NativeCampaign.from_text(str(path_or_text), sets=sets), str(path_or_text), set)

    @property
    def name(self) -> str:
        """The campaign's name."""
        return self._native.name

    @property
    def runs(self) -> int:
        """Runs in all: design points × replicates."""
        return self._native.runs

    @property
    def is_calibration(self) -> bool:
        """Whether the campaign fits parameters to data rather than running points
        (maximum likelihood, or an ABC-SMC posterior)."""
        return self._native.is_calibration

    def run(
        self,
        out_dir: PathLike,
        threads: Optional[int] = None,
        force: bool = False,
        progress: Optional[Callable[[float], Any]] = None,
    ) -> CampaignResult:
        """Runs every point into ``out_dir`` and merges there (a calibration: fits;
        ABC-SMC: samples the posterior, resuming after its last saved generation).

        As ``exosim run CAMPAIGN -o DIR``: a folder holding this campaign's
        interrupted run resumes it; one holding other files is refused unless
        ``force``. Ctrl-C stops at the next chunk of points, the journal kept
        for a resumed run. ``progress`` receives the fraction of points done,
        as for :meth:`Study.run`.
        """
        self._native.run(os.fspath(out_dir), threads=threads, force=force, progress=progress)
        result = read_run(out_dir)
        assert isinstance(result, CampaignResult)
        return result

    def run_shard(
        self,
        index: int,
        count: int,
        out_dir: PathLike,
        threads: Optional[int] = None,
        force: bool = False,
        progress: Optional[Callable[[float], Any]] = None,
    ) -> Dict[str, Any]:
        """Runs shard ``index`` of ``count`` (from 1) into ``out_dir``; returns the part's record.

        As ``exosim run CAMPAIGN --shard I/N``: the part files
        (``part-I-of-N.parquet`` and ``.json``) are for :func:`merge`.
        """
        native = self._native.run_shard(
            index, count, os.fspath(out_dir), threads=threads, force=force, progress=progress
        )
        return json.loads(native)

    def __repr__(self) -> str:
        """``Campaign('virtual_mice', runs=500)``."""
        return f"Campaign({self.name!r}, runs={self.runs})"


def merge(dirs: Union[PathLike, Sequence[PathLike]], out_dir: PathLike, force: bool = False) -> CampaignResult:
    """Merges the parts in ``dirs`` into ``out_dir``, as ``exosim merge DIRS -o OUT``.

    Returns the merged folder read back: the whole table, the summary and
    the sensitivity indices.
    """
    folders = [dirs] if isinstance(dirs, (str, os.PathLike)) else list(dirs)
    _exosim.merge([os.fspath(d) for d in folders], os.fspath(out_dir), force=force)
    result = read_run(out_dir)
    assert isinstance(result, CampaignResult)
    return result
