"""SALib's reading of exosim's designs, for the test
`campaign_sensitivity::salib_agrees` (crates/exosim/tests/integration/).

Usage: python3 salib_check.py DIR D LEVELS RESAMPLES

DIR holds saltelli_x.txt and saltelli_y.txt (a Saltelli design without
second-order rows and its outputs) and morris_x.txt and morris_y.txt (a
Morris design and its outputs), written by exosim; D is the number of
parameters, LEVELS Morris's grid levels, RESAMPLES the bootstrap size.
Prints SALib's indices as JSON on one line.
"""

import json
import sys

import numpy as np
from SALib.analyze import morris, sobol


def main():
    folder, d, levels, resamples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    problem = {
        "num_vars": d,
        "names": [f"x{j}" for j in range(d)],
        "bounds": [[0.0, 1.0]] * d,
    }
    y = np.loadtxt(f"{folder}/saltelli_y.txt")
    x = np.loadtxt(f"{folder}/saltelli_x.txt", ndmin=2)
    assert x.shape == (y.size, d), (x.shape, y.size)
    s = sobol.analyze(problem, y, calc_second_order=False, num_resamples=resamples, seed=1)
    mx = np.loadtxt(f"{folder}/morris_x.txt", ndmin=2)
    my = np.loadtxt(f"{folder}/morris_y.txt")
    m = morris.analyze(problem, mx, my, num_resamples=resamples, num_levels=levels, seed=1)
    out = {
        "S1": list(s["S1"]),
        "S1_conf": list(s["S1_conf"]),
        "ST": list(s["ST"]),
        "ST_conf": list(s["ST_conf"]),
        "mu": [float(v) for v in m["mu"]],
        "mu_star": [float(v) for v in m["mu_star"]],
        "sigma": [float(v) for v in m["sigma"]],
        "mu_star_conf": [float(v) for v in m["mu_star_conf"]],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
