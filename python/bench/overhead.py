"""The cost of the Python layer: the same study run and saved by the package
and by the `exosim` command, in one invocation.

    python python/bench/overhead.py [--exosim-bin PATH] [--repeat N] [STUDY.toml ...]

Each repeat runs the command (`exosim run STUDY -o DIR --force -q`, a new
process) and then the package (`Study.from_toml(STUDY).run().save(DIR,
force=True)`, in this process), alternating so that both see the same
machine; the medians and minima of their wall-clock times are printed with
the package's overhead in percent of the command's time. The command pays
for starting a process, the package for reading the study, converting
results and writing the same files from Python.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import exosim

REPO = Path(__file__).resolve().parents[2]
DEFAULT = ["mouse_iv_bolus", "screening_body_kinetics", "tumour_ev_dose"]


def default_bin() -> Path:
    """$EXOSIM_BIN, else the release build in $CARGO_TARGET_DIR or target/."""
    if os.environ.get("EXOSIM_BIN"):
        return Path(os.environ["EXOSIM_BIN"])
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "exosim"


def time_cli(binary: Path, study: Path, out: Path) -> float:
    """Seconds for `exosim run` of `study` into `out`."""
    start = time.perf_counter()
    subprocess.run([str(binary), "run", str(study), "-o", str(out), "--force", "-q"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def time_package(study: Path, out: Path) -> float:
    """Seconds for the package to read, run and save `study` into `out`."""
    start = time.perf_counter()
    exosim.Study.from_toml(study).run().save(out, force=True)
    return time.perf_counter() - start


def main() -> int:
    """Prints one line per study: command and package times, overhead."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("studies", nargs="*", help="study files (default: three studies of studies/)")
    parser.add_argument("--exosim-bin", type=Path, default=default_bin())
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    studies = [Path(s) for s in args.studies] or [REPO / "studies" / f"{n}.toml" for n in DEFAULT]
    print(f"exosim {exosim.__version__}; {args.repeat} repeats; command {args.exosim_bin}")
    print(f"{'study':<28} {'command median':>15} {'package median':>15} {'overhead':>9}   (minima)")
    with tempfile.TemporaryDirectory() as tmp:
        for study in studies:
            cli, py = [], []
            time_package(study, Path(tmp) / "warm")  # first import and page cache
            for _ in range(args.repeat):
                cli.append(time_cli(args.exosim_bin, study, Path(tmp) / "cli"))
                py.append(time_package(study, Path(tmp) / "py"))
            c, p = statistics.median(cli), statistics.median(py)
            print(
                f"{study.stem:<28} {c * 1e3:>12.1f} ms {p * 1e3:>12.1f} ms {100 * (p - c) / c:>+8.1f} %"
                f"   ({min(cli) * 1e3:.1f} ms, {min(py) * 1e3:.1f} ms: {100 * (min(py) - min(cli)) / min(cli):+.1f} %)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
