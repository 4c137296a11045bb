"""libRoadRunner's speed on an SBML model exported by exosim, for
`cargo bench -p exosim --bench sbml` (crates/exosim/benches/sbml.rs).

Reads a JSON job {"sbml", "times", "species", "rtol", "atol",
"min_seconds", "out"} and optionally "study", "atol_fraction"; loads (and compiles)
the model once, then simulates one individual after another, each
`resetAll()` + `simulate(times=...)`, for at least `min_seconds`; prints
{"individuals_per_s", "runs", "load_s"} as JSON and writes the last run's
species amounts to `out` (CSV, a header of species ids) for the benchmark
to compare with exosim.

With "study" (its path) and the exosim Python package importable, it also
times exosim through the package, the same way: the study read once with
the job's tolerances (`solver.rtol`, `solver.atol_fraction`), then
`study.run(threads=1)` per individual (the whole run: the arm, its time
series and summary, as the command's run minus the files), adding
{"package_individuals_per_s", "package_runs"}.

Usage: python3 benches/sbml_roadrunner.py job.json
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))
from sbml_check import configure_roadrunner, write_csv  # noqa: E402

import roadrunner  # noqa: E402


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    start = time.perf_counter()
    r = roadrunner.RoadRunner(job["sbml"])
    configure_roadrunner(r, job["rtol"], job["atol"])
    load_s = time.perf_counter() - start
    runs = 0
    start = time.perf_counter()
    while True:
        r.resetAll()
        res = r.simulate(times=job["times"], selections=job["species"])
        runs += 1
        elapsed = time.perf_counter() - start
        if runs >= 20 and elapsed >= job["min_seconds"]:
            break
    write_csv(job["out"], job["species"], res)
    report = {"individuals_per_s": runs / elapsed, "runs": runs, "load_s": load_s}
    report.update(package_rate(job))
    print(json.dumps(report))


def package_rate(job):
    """exosim through its Python package: individuals/s of `study.run()`, or {} without it."""
    if "study" not in job:
        return {}
    try:
        import exosim
    except ImportError:
        return {}
    study = exosim.Study.from_toml(job["study"])
    study["solver.rtol"] = job["rtol"]
    study["solver.atol_fraction"] = job["atol_fraction"]
    runs = 0
    start = time.perf_counter()
    while True:
        study.run(threads=1)
        runs += 1
        elapsed = time.perf_counter() - start
        if runs >= 20 and elapsed >= job["min_seconds"]:
            break
    return {"package_individuals_per_s": runs / elapsed, "package_runs": runs}


if __name__ == "__main__":
    main()
