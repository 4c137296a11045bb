"""Runs the Smoldyn side of exosim's transport benchmark.

Usage: python3 transport_smoldyn.py CONFIG STEPS

CONFIG is transport.smoldyn.txt, copied by the benchmark next to the cell and
vesicle files it reads. Loads the model, then times STEPS time steps alone
(loading 10^6 molecules is left out) and prints one JSON line: seconds,
particle-steps per second (initial vesicles x steps / seconds, the same
definition as exosim's), vesicles at the start and at the end (the others were
absorbed by the cells: the box is reflective).
"""

import json
import os
import sys
import time


def main():
    config, steps = sys.argv[1], int(sys.argv[2])
    try:
        import smoldyn
        from smoldyn import _smoldyn
    except ImportError as e:
        sys.exit(f"smoldyn is not installed ({e}); pip install smoldyn==2.74")

    # Smoldyn writes its parameter report and warnings to the C stdout:
    # silence it, keep a handle for the JSON line.
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    try:
        start = time.perf_counter()
        sim = smoldyn.Simulation.fromFile(config, "q")
        sim.updateSim()
        loaded = time.perf_counter() - start
        state = _smoldyn.MolecState.all
        initial = sim.getMoleculeCount("vesicle", state)
        dt = sim.dt
        start = time.perf_counter()
        # Smoldyn steps until its clock reaches the stop time; half a step
        # short of the end keeps rounding of the clock from adding a step.
        sim.runUntil((steps - 0.5) * dt, dt, display=False)
        seconds = time.perf_counter() - start
        remaining = sim.getMoleculeCount("vesicle", state)
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
    print(
        json.dumps(
            {
                "version": smoldyn.__version__,
                "load_seconds": loaded,
                "seconds": seconds,
                "steps": steps,
                "dt": dt,
                "initial": initial,
                "remaining": remaining,
                "particle_steps_per_second": initial * steps / seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
