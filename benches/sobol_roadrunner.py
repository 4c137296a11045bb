"""A Sobol sensitivity analysis of the mouse study, two ways, both on the
same cores: exosim's Saltelli campaign (`exosim run CAMPAIGN --threads C`)
against SALib driving libRoadRunner on the model exosim exports
(`SALib.sample.sobol` + one libRoadRunner per process + `SALib.analyze.sobol`).

The study is studies/mouse_iv_bolus.toml cut to 4 h (its observables are at
1 h and 4 h: neither side integrates further); five parameters vary,
uniform on their ranges; three observables: the fractions of the dose in
blood and in the liver at 1 h, in the spleen at 4 h; first- and total-order
indices with 1000 bootstrap resamples on both sides.

libRoadRunner gets each individual's parameters by setting the exported
model's parameters (no reload, no recompile): the flows, the clearances
and the macrophages' Vmax scale with the cardiac output; Vmax with the
macrophage capacity; the liver's uptake clearance as Ep/(1−Ep), p the
liver sinusoids' passage of the vesicles' diameter; the
macrophages' recognition as (1 − w + w·PS)(1 − p·CD47). Before timing,
that mapping is checked against `exosim export sbml --set …` at design
rows (every parameter of the model, to 1e-12), and libRoadRunner's outputs
on exosim's own design rows against exosim's campaign table.

Wall time on each side is everything: exosim's includes starting the
command, reading the study, the design, the runs, the indices and writing
the files; SALib + libRoadRunner's includes the processes' start, loading
and compiling the model in each, the design, the runs and the indices.

Usage: python3 benches/sobol_roadrunner.py [--points 1024] [--cores 2]
Needs the exosim command ($EXOSIM_BIN, else $CARGO_TARGET_DIR or target/
release/exosim), and libroadrunner, SALib, python-libsbml, numpy.
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from sbml_check import configure_roadrunner  # noqa: E402

DOSE = 1e10
RTOL, ATOL = 1e-8, 1e-12 * DOSE  # the study's own tolerances
TIMES = [0.0, 3600.0, 14400.0]

# name, study path, low, high, unit written in the campaign
PARAMETERS = [
    ("cardiac_output", "body.cardiac_output", 10.0, 18.0, " mL/min"),
    ("mps_capacity", "body.mps.capacity", 0.2, 2.0, ""),
    ("liver_extraction", "body.organs.liver.uptake_extraction", 0.005, 0.05, ""),
    ("ps_exposure", "vesicles.sEV.ps_exposure", 0.2, 1.5, ""),
    ("cd47", "vesicles.sEV.cd47", 0.0, 0.8, ""),
]
# The reference point every exported value is scaled from.
REFERENCE = [14.0, 1.0, 0.02, 1.0, 0.0]
OBSERVABLES = [("blood_1h", "blood", "1 h"), ("liver_1h", "liver", "1 h"), ("spleen_4h", "spleen", "4 h")]


def exosim_bin():
    given = os.environ.get("EXOSIM_BIN")
    if given:
        return given
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return str(target / "release" / "exosim")


def write_inputs(tmp, points):
    """The study cut to 4 h, and the Saltelli campaign over it."""
    text = (REPO / "studies" / "mouse_iv_bolus.toml").read_text()
    text = text.replace('duration = "48 h"', 'duration = "4 h"')
    text = text.replace('report_times = ["10 min", "1 h", "4 h", "24 h"]', 'report_times = ["1 h", "4 h"]')
    assert 'duration = "4 h"' in text and '"24 h"' not in text
    study = tmp / "mouse_4h.toml"
    study.write_text(text)
    lines = [
        "[campaign]",
        'name = "mouse_sobol"',
        f'study = "{study.as_posix()}"',
        "seed = 11",
        "",
        "[design]",
        'method = "saltelli"',
        f"points = {points}",
        "bootstrap = 1000",
    ]
    for _, path, low, high, unit in PARAMETERS:
        lo, hi = (f'"{low} {unit.strip()}"', f'"{high} {unit.strip()}"') if unit else (low, high)
        lines += ["", "[[parameters]]", f'path = "{path}"', 'distribution = "uniform"', f"low = {lo}", f"high = {hi}"]
    for name, place, at in OBSERVABLES:
        lines += ["", "[[observables]]", f'name = "{name}"', 'kind = "fraction_of_dose"',
                  f'place = "{place}"', f'time = "{at}"']
    campaign = tmp / "mouse_sobol.toml"
    campaign.write_text("\n".join(lines) + "\n")
    return study, campaign


def sets(values):
    out = []
    for (_, path, _, _, unit), v in zip(PARAMETERS, values):
        out += ["--set", f"{path}={float(v)!r}{unit}"]
    return out


def export(study, folder, values):
    """The exported model's parameters at `values`: {id: value}, and the file."""
    import libsbml

    subprocess.run([exosim_bin(), "export", "sbml", str(study), "-o", str(folder), *sets(values)],
                   check=True, capture_output=True)
    model = libsbml.readSBML(str(folder / "model.xml")).getModel()
    return {p.getId(): p.getValue() for p in model.getListOfParameters()}, folder / "model.xml"


class Mapping:
    """The model's parameters for given study values, scaled from the reference export."""

    def __init__(self, study, tmp):
        self.ref, self.sbml = export(study, tmp / "ref", REFERENCE)
        co, _ = export(study, tmp / "co", [18.0, *REFERENCE[1:]])
        self.by_co = sorted(k for k in self.ref if co[k] != self.ref[k])
        assert all(k.startswith(("Q_", "CL_uptake_", "Vmax_mps_")) for k in self.by_co), self.by_co
        self.vmax = [k for k in self.ref if k.startswith("Vmax_mps_")]
        ps, _ = export(study, tmp / "ps", [*REFERENCE[:3], 0.5, 0.0])
        cd, _ = export(study, tmp / "cd", [*REFERENCE[:3], 1.0, 0.5])
        # The liver's extraction is E·p, p the sinusoids' passage of the
        # class's diameter: p from the clearances at two extractions.
        e0, e1 = REFERENCE[2], 2.0 * REFERENCE[2]
        ex, _ = export(study, tmp / "ex", [*REFERENCE[:2], e1, *REFERENCE[3:]])
        r, k = ex["CL_uptake_liver"] / self.ref["CL_uptake_liver"], e1 / e0
        self.passage = (r - k) / (r * e1 - k * e0)
        r0 = self.ref["recognition_sEV"]
        self.w = 2.0 * (1.0 - ps["recognition_sEV"] / r0)
        self.p = 2.0 * (1.0 - cd["recognition_sEV"] / r0)
        self.ids = sorted(set(self.by_co) | {"recognition_sEV"})

    def values(self, x):
        co, cap, ext, ps, cd47 = x
        e0 = REFERENCE[2]
        out = {k: self.ref[k] * co / REFERENCE[0] for k in self.by_co}
        for k in self.vmax:
            out[k] *= cap / REFERENCE[1]
        p = self.passage
        out["CL_uptake_liver"] *= (ext * p / (1 - ext * p)) / (e0 * p / (1 - e0 * p))
        out["recognition_sEV"] = self.ref["recognition_sEV"] * (1 - self.w + self.w * ps) * (1 - self.p * cd47)
        return [out[k] for k in self.ids]


# --- libRoadRunner, one per process -------------------------------------------------

_RR = {}


def _load(sbml, ids):
    import roadrunner

    start = time.perf_counter()
    r = roadrunner.RoadRunner(sbml)
    configure_roadrunner(r, RTOL, ATOL)
    species = list(r.model.getFloatingSpeciesIds())
    blood = [s for s in species if s.endswith(("_vascular", "__venous_blood", "__arterial_blood"))]
    # An organ's share in exosim's observables is its tissue (the vascular
    # bed counts as blood).
    liver = ["sEV__liver"]
    spleen = ["sEV__spleen"]
    _RR.update(r=r, ids=ids, sel=["time", *species], species=species, groups=(blood, liver, spleen))
    _RR.setdefault("load_s", time.perf_counter() - start)
    return _RR["load_s"]


def _observe(res):
    """blood at 1 h, liver at 1 h, spleen at 4 h, as fractions of the dose."""
    names = _RR["species"]
    col = {s: i + 1 for i, s in enumerate(names)}
    blood, liver, spleen = _RR["groups"]
    return [
        sum(res[1, col[s]] for s in blood) / DOSE,
        sum(res[1, col[s]] for s in liver) / DOSE,
        sum(res[2, col[s]] for s in spleen) / DOSE,
    ]


def _run_rows(rows):
    r = _RR["r"]
    out = []
    for values in rows:
        r.resetAll()
        r.setValues(_RR["ids"], values)
        res = r.simulate(times=TIMES, selections=_RR["sel"])
        out.append(_observe(np.asarray(res)))
    return out


def roadrunner_rows(pool, cores, mapping, x):
    params = [mapping.values(row) for row in x]
    chunks = [params[i::cores] for i in range(cores)]
    parts = pool.map(_run_rows, chunks)
    y = np.empty((len(params), len(OBSERVABLES)))
    for i in range(cores):
        y[i::cores] = parts[i]
    return y


def exosim_command(campaign, out, cores):
    """The campaign through the command; seconds."""
    start = time.perf_counter()
    subprocess.run([exosim_bin(), "run", str(campaign), "-o", str(out), "--threads", str(cores), "-q"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def exosim_package(campaign, out, cores):
    """The campaign through the Python package, read included; seconds (None without the package)."""
    try:
        import exosim
    except ImportError:
        return None
    start = time.perf_counter()
    exosim.Campaign.from_toml(campaign).run(out, threads=cores)
    return time.perf_counter() - start


def salib_roadrunner(problem, points, cores, mapping):
    """SALib's design, libRoadRunner on `cores` processes, SALib's indices; (seconds, indices)."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    ctx = multiprocessing.get_context("fork")
    start = time.perf_counter()
    with ctx.Pool(cores, initializer=_load, initargs=(str(mapping.sbml), mapping.ids)) as pool:
        x = sample.sample(problem, points, calc_second_order=False, seed=11)
        y = roadrunner_rows(pool, cores, mapping, x)
    indices = [analyze.analyze(problem, y[:, j], calc_second_order=False, num_resamples=1000, seed=1)
               for j in range(len(OBSERVABLES))]
    return time.perf_counter() - start, indices


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=1024)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="timings alternate; medians are printed")
    args = ap.parse_args()
    runs = args.points * (len(PARAMETERS) + 2)
    problem = {"num_vars": len(PARAMETERS), "names": [n for n, *_ in PARAMETERS],
               "bounds": [[lo, hi] for _, _, lo, hi, _ in PARAMETERS]}

    with tempfile.TemporaryDirectory(prefix="exosim-sobol-") as t:
        tmp = Path(t)
        study, campaign = write_inputs(tmp, args.points)
        mapping = Mapping(study, tmp)
        command_s, package_s, rr_s = [], [], []
        for rep in range(args.repeat):
            command_s.append(exosim_command(campaign, tmp / f"command{rep}", args.cores))
            package_s.append(exosim_package(campaign, tmp / f"package{rep}", args.cores))
            seconds, indices = salib_roadrunner(problem, args.points, args.cores, mapping)
            rr_s.append(seconds)
        out = tmp / "command0"
        same_bytes = None
        if package_s[0] is not None:
            same_bytes = all((out / f).read_bytes() == (tmp / "package0" / f).read_bytes()
                             for f in ("campaign.csv", "campaign.parquet", "sensitivity.csv", "summary.json"))
        table = np.genfromtxt(out / "campaign.csv", delimiter=",", names=True, deletechars="")
        sens = (out / "sensitivity.csv").read_text().splitlines()
        x_exo = np.column_stack([table[p] for _, p, *_ in PARAMETERS])
        y_exo = np.column_stack([table[n] for n, *_ in OBSERVABLES])

        # The mapping against exosim's own export, every parameter of the model, at 4 design rows.
        worst_map = 0.0
        for k, i in enumerate((1, runs // 3, runs // 2, runs - 1)):
            got, _ = export(study, tmp / f"check{k}", list(x_exo[i]))
            want = {**mapping.ref, **dict(zip(mapping.ids, mapping.values(x_exo[i])))}
            assert set(got) == set(want)
            for key, v in want.items():
                worst_map = max(worst_map, abs(got[key] - v) / max(abs(got[key]), 1e-300))
        assert worst_map < 1e-12, worst_map
        # libRoadRunner on exosim's own design rows: the same outputs?
        with multiprocessing.get_context("fork").Pool(
            args.cores, initializer=_load, initargs=(str(mapping.sbml), mapping.ids)
        ) as pool:
            y_check = roadrunner_rows(pool, args.cores, mapping, x_exo)
            load_s = pool.apply(_load, (str(mapping.sbml), mapping.ids))  # the first load's
        worst_y = float(np.max(np.abs(y_check - y_exo)))

    values = {}
    for line in sens[1:]:
        obs, par, index, value = line.split(",")[:4]
        values[(obs, par, index)] = float(value)
    worst_index = 0.0
    for j, (name, *_) in enumerate(OBSERVABLES):
        for k, (_, path, *_) in enumerate(PARAMETERS):
            for index in ("S1", "ST"):
                worst_index = max(worst_index, abs(indices[j][index][k] - values[(name, path, index)]))
    median = lambda v: float(np.median(v))  # noqa: E731
    report = {
        "points": args.points, "parameters": len(PARAMETERS), "runs": runs, "cores": args.cores,
        "repeat": args.repeat, "load_average": os.getloadavg(),
        "exosim_command_s": round(median(command_s), 3),
        "salib_roadrunner_s": round(median(rr_s), 3),
        "speedup_command": round(median(rr_s) / median(command_s), 2),
        "exosim_command_individuals_per_s": round(runs / median(command_s), 1),
        "roadrunner_individuals_per_s": round(runs / median(rr_s), 1),
    }
    if package_s[0] is not None:
        report.update({
            "exosim_package_s": round(median(package_s), 3),
            "speedup_package": round(median(rr_s) / median(package_s), 2),
            "exosim_package_individuals_per_s": round(runs / median(package_s), 1),
            "package_same_bytes_as_command": same_bytes,
        })
    report.update({
        "all_s": {"command": command_s, "package": package_s, "roadrunner": rr_s},
        "roadrunner_load_and_compile_s": round(load_s, 3),
        "mapping_worst_relative": worst_map,
        "outputs_worst_abs_fraction_of_dose": worst_y,
        "indices_worst_abs_difference": round(worst_index, 4),
    })
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
