"""Type hints of exosim's compiled half (``exosim._exosim``); users call the
wrappers in ``exosim/__init__.py``."""

from typing import Any, Callable, List, Optional, Tuple

__version__: str

class Error(Exception):
    """Any exosim failure."""

class StudyError(Error):
    """A study that is not valid, located in its file."""

    file: str
    line: int
    column: int
    key: str
    message: str
    hint: Optional[str]

class CampaignError(Error):
    """A campaign that is not valid (located, as a StudyError) or could not run."""

    file: str
    line: int
    column: int
    key: str
    message: str
    hint: Optional[str]

class ArrowTable:
    """A table for Arrow readers (the Arrow PyCapsule protocol)."""

    column_names: List[str]
    def __arrow_c_schema__(self) -> object: ...
    def __arrow_c_array__(self, requested_schema: Optional[object] = None) -> Tuple[object, object]: ...
    def __len__(self) -> int: ...

class NativeRun:
    """A study as run and what the run observed."""

    name: str
    def summary_json(self) -> str: ...
    def table_names(self) -> List[str]: ...
    def timeseries(self) -> Optional[ArrowTable]: ...
    def save(self, dir: str, force: bool = False) -> List[str]: ...

class NativeStudy:
    """A study file with values set over it."""

    file: str
    @staticmethod
    def from_path(path: str) -> "NativeStudy": ...
    @staticmethod
    def from_text(text: str, file: str = "<string>") -> "NativeStudy": ...
    @staticmethod
    def from_json(json: str, file: str = "<dict>") -> "NativeStudy": ...
    def get(self, path: str) -> str: ...
    def set(self, path: str, json: str) -> None: ...
    def to_toml(self) -> str: ...
    def to_json(self) -> str: ...
    def validate(self) -> str: ...
    def notices(self) -> List[str]: ...
    def run(
        self,
        seed: Optional[int] = None,
        threads: Optional[int] = None,
        progress: Optional[Callable[[float], Any]] = None,
    ) -> NativeRun: ...

class NativeCampaign:
    """A campaign file and its study, checked."""

    name: str
    runs: int
    is_calibration: bool
    @staticmethod
    def from_path(path: str, sets: List[Tuple[str, str]] = ...) -> "NativeCampaign": ...
    @staticmethod
    def from_text(
        text: str, file: str = "<string>", sets: List[Tuple[str, str]] = ...
    ) -> "NativeCampaign": ...
    def run(
        self,
        dir: str,
        threads: Optional[int] = None,
        force: bool = False,
        progress: Optional[Callable[[float], Any]] = None,
    ) -> str: ...
    def run_shard(
        self,
        index: int,
        count: int,
        dir: str,
        threads: Optional[int] = None,
        force: bool = False,
        progress: Optional[Callable[[float], Any]] = None,
    ) -> str: ...

def merge(dirs: List[str], out: str, force: bool = False) -> str: ...

def csv_columns(stem: str, columns: List[str]) -> List[Optional[Tuple[str, str]]]:
    """The (unit, description) of each column of the CSV-only table ``stem``; None where unknown."""

def rust_timings(path: str, dir: str, repeat: int, save: bool = True) -> List[float]:
    """Seconds of each read, run and (with ``save``) save of a study, timed in Rust (for the benchmark)."""
