"""libRoadRunner's speed on an SBML model exported by exosim, for
`cargo bench -p exosim --bench sbml` (crates/exosim/benches/sbml.rs).

Reads a JSON job {"sbml", "times", "species", "rtol", "atol",
"min_seconds", "out"}; loads (and compiles) the model once, then simulates
one individual after another, each `resetAll()` + `simulate(times=...)`,
for at least `min_seconds`; prints {"individuals_per_s", "runs",
"load_s"} as JSON and writes the last run's species amounts to `out`
(CSV, a header of species ids) for the benchmark to compare with exosim.

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
    print(json.dumps({"individuals_per_s": runs / elapsed, "runs": runs, "load_s": load_s}))


if __name__ == "__main__":
    main()
