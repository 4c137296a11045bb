"""The cost of the Python layer: the same study run and saved by the package
and by the `exosim` command, in one invocation.

    python python/bench/overhead.py [--exosim-bin PATH] [--repeat N] [STUDY.toml ...]

Each repeat times, one after the other so that all see the same machine:

- the package: `Study.from_toml(STUDY).run().save(DIR, force=True)`;
- the same steps in Rust, inside this process (`_exosim.rust_timings`: read,
  resolve, `run::run`, `run::write_as`), the package's own baseline;
- the command, `exosim run STUDY -o DIR --force -q`, a new process.

It prints the medians, and the package's overhead over the Rust steps
(the cost of the Python layer: goal within 5 %) and over the command
(which also pays for starting a process and printing its table); then the
same without writing files (read and run only, package against Rust), where
the layer's cost is not hidden by the disk.
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


def time_rust(study: Path, out: Path, save: bool = True) -> float:
    """Seconds for the same read, run and save, timed in Rust."""
    return exosim._exosim.rust_timings(str(study), str(out), 1, save)[0]


def time_run_only(study: Path) -> float:
    """Seconds for the package to read and run `study`, writing nothing."""
    start = time.perf_counter()
    exosim.Study.from_toml(study).run()
    return time.perf_counter() - start


def main() -> int:
    """Prints one line per study: command and package times, overhead."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("studies", nargs="*", help="study files (default: three studies of studies/)")
    parser.add_argument("--exosim-bin", type=Path, default=default_bin())
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    studies = [Path(s) for s in args.studies] or [REPO / "studies" / f"{n}.toml" for n in DEFAULT]
    print(f"exosim {exosim.__version__}; medians of {args.repeat} repeats; command {args.exosim_bin}")
    print(f"{'study':<26} {'package':>11} {'Rust':>11} {'command':>11} {'vs Rust':>9} {'vs command':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for study in studies:
            py, rust, cli = [], [], []
            time_package(study, Path(tmp) / "warm")  # first import and page cache
            for _ in range(args.repeat):
                py.append(time_package(study, Path(tmp) / "py"))
                rust.append(time_rust(study, Path(tmp) / "rust"))
                cli.append(time_cli(args.exosim_bin, study, Path(tmp) / "cli"))
            p, r, c = (statistics.median(x) for x in (py, rust, cli))
            print(
                f"{study.stem:<26} {p * 1e3:>8.1f} ms {r * 1e3:>8.1f} ms {c * 1e3:>8.1f} ms"
                f" {100 * (p - r) / r:>+8.1f} % {100 * (p - c) / c:>+10.1f} %"
            )
    # Without the files (each synced to disk, the noisiest part of a short
    # run): the Python layer against the same Rust calls, nothing else.
    print(f"\nread and run only, no files: {'package':>11} {'Rust':>11} {'vs Rust':>9}")
    for study in studies:
        py, rust = [], []
        # Short runs repeat for about two seconds, so their medians settle.
        for _ in range(max(args.repeat, int(1.0 / time_run_only(study)))):
            py.append(time_run_only(study))
            rust.append(time_rust(study, Path("."), save=False))
        p, r = statistics.median(py), statistics.median(rust)
        print(f"{study.stem:<28} {p * 1e3:>8.2f} ms {r * 1e3:>8.2f} ms {100 * (p - r) / r:>+8.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
