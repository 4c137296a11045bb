"""Cross-checks of exosim's SBML export with other SBML tools.

Called by the Rust tests (crates/exosim/tests/integration/sbml.rs) and by
benches/sbml_vs_roadrunner.py; each command reads a JSON list of jobs:

    python3 scripts/sbml_check.py consistency jobs.json
        jobs: [{"sbml": PATH}]; prints one JSON line per file:
        {"sbml": PATH, "messages": [[severity, id, category, message], ...]}
        from libSBML's checkConsistency with every check on, units included.
    python3 scripts/sbml_check.py roadrunner jobs.json
    python3 scripts/sbml_check.py copasi jobs.json
        jobs: [{"sbml": PATH, "times": [s, ...], "species": [id, ...],
                "rtol": r, "atol": a, "out": CSV}]; simulates the model from
        its initial state with libRoadRunner (CVODE) or COPASI (LSODA,
        through basico) and writes the species amounts (vesicles) at the
        times to CSV: a header of species ids, one row per time.

`python3 scripts/sbml_check.py modules` prints which of libsbml,
roadrunner and basico import, as JSON.
"""

import json
import sys


def modules():
    found = {}
    for name in ("libsbml", "roadrunner", "basico"):
        try:
            __import__(name)
            found[name] = True
        except Exception:  # noqa: BLE001 - any import failure means absent
            found[name] = False
    print(json.dumps(found))


def consistency(jobs):
    import libsbml

    for job in jobs:
        doc = libsbml.readSBMLFromFile(job["sbml"])
        for cat in (
            libsbml.LIBSBML_CAT_GENERAL_CONSISTENCY,
            libsbml.LIBSBML_CAT_IDENTIFIER_CONSISTENCY,
            libsbml.LIBSBML_CAT_UNITS_CONSISTENCY,
            libsbml.LIBSBML_CAT_MATHML_CONSISTENCY,
            libsbml.LIBSBML_CAT_SBO_CONSISTENCY,
            libsbml.LIBSBML_CAT_OVERDETERMINED_MODEL,
            libsbml.LIBSBML_CAT_MODELING_PRACTICE,
        ):
            doc.setConsistencyChecks(cat, True)
        doc.checkConsistency()
        messages = []
        for i in range(doc.getNumErrors()):
            e = doc.getError(i)
            messages.append(
                [
                    e.getSeverityAsString(),
                    e.getErrorId(),
                    e.getCategoryAsString(),
                    e.getMessage().strip(),
                ]
            )
        print(json.dumps({"sbml": job["sbml"], "messages": messages}))


def write_csv(path, species, rows):
    with open(path, "w") as f:
        f.write(",".join(species) + "\n")
        for row in rows:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def roadrunner_jobs(jobs):
    import roadrunner

    for job in jobs:
        r = roadrunner.RoadRunner(job["sbml"])
        configure_roadrunner(r, job["rtol"], job["atol"])
        res = r.simulate(times=job["times"], selections=job["species"])
        write_csv(job["out"], job["species"], res)


def configure_roadrunner(r, rtol, atol):
    """CVODE with the given tolerances and enough steps for days of
    simulated time. The absolute tolerance is given as a vector, one entry
    per species: libRoadRunner multiplies a scalar one by each state's
    value whenever it (re)starts the integrator (sys-bio/roadrunner#1349),
    so after a dose event it would allow errors of a percent of the dose."""
    r.integrator.relative_tolerance = rtol
    r.integrator.absolute_tolerance = [atol] * r.model.getNumFloatingSpecies()
    r.integrator.maximum_num_steps = 1000000
    r.integrator.variable_step_size = False


def copasi_jobs(jobs):
    import basico

    for job in jobs:
        model = basico.load_model(job["sbml"])
        tc = basico.run_time_course(
            model=model,
            values=job["times"],
            use_numbers=True,
            r_tol=job["rtol"],
            a_tol=job["atol"],
            max_steps=1000000,
        )
        # basico labels the columns with species names: map them to ids.
        table = basico.get_species(model=model)
        name = {row["sbml_id"]: label for label, row in table.iterrows()}
        columns = [name[s] for s in job["species"]]
        rows = [[tc[c].iloc[k] for c in columns] for k in range(len(tc))]
        times = list(tc.index)
        if len(times) != len(job["times"]):
            sys.exit(f"COPASI returned {len(times)} rows for {len(job['times'])} times")
        write_csv(job["out"], job["species"], rows)
        basico.remove_datamodel(model)


def main():
    command = sys.argv[1]
    if command == "modules":
        return modules()
    with open(sys.argv[2]) as f:
        jobs = json.load(f)
    {
        "consistency": consistency,
        "roadrunner": roadrunner_jobs,
        "copasi": copasi_jobs,
    }[command](jobs)


if __name__ == "__main__":
    main()
