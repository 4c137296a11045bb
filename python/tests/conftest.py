"""Fixtures of the exosim package's tests: the repository's studies and the
``exosim`` command they are compared with."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli_path():
    """The `exosim` binary: $EXOSIM_BIN, else the release build of the workspace."""
    given = os.environ.get("EXOSIM_BIN")
    if given:
        return Path(given)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for candidate in (target / "release" / "exosim", Path(shutil.which("exosim") or "")):
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def cli():
    """Runs the command line; skips when it is not built (never when $EXOSIM_BIN names it)."""
    path = _cli_path()
    if path is None:
        pytest.skip("the exosim command is not built (cargo build --release -p exosim-cli)")
    assert path.is_file(), f"EXOSIM_BIN={path} does not exist"

    def run(*args, check=True):
        done = subprocess.run([str(path), *map(str, args)], capture_output=True, text=True, cwd=REPO)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    return run


@pytest.fixture
def studies():
    """The folder of the repository's example studies."""
    return REPO / "studies"


@pytest.fixture
def campaigns():
    """The folder of the repository's example campaigns."""
    return REPO / "campaigns"
