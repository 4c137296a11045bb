"""Studies from Python: load, read and set values, validate, run."""

import json

import pyarrow as pa
import pytest

import exosim


def test_the_mouse_study_runs_with_units_in_the_schema(studies):
    result = exosim.Study.from_toml(studies / "mouse_iv_bolus.toml").run()
    assert result.summary["study"] == "mouse_iv_bolus"
    assert result.tables == ["timeseries"]
    table = result["timeseries"]
    assert isinstance(table, pa.Table)
    assert table.column_names[0] == "time_s"
    assert "main/blood/sEV" in table.column_names
    units = {f.name: f.metadata[b"unit"].decode() for f in table.schema}
    assert units["time_s"] == "s"
    assert units["main/blood/sEV"] == "vesicles"
    assert table.schema.field("main/blood/sEV").metadata[b"description"]
    # 48 h every 5 min, plus the extra 2 min row.
    assert table.num_rows == 48 * 12 + 2
    assert result.to_pandas().shape == (table.num_rows, table.num_columns)


def test_a_path_reads_and_sets_a_value_as_written(studies):
    study = exosim.Study.from_toml(studies / "mouse_iv_bolus.toml")
    assert study["vesicles.sEV.diameter"] == "100 nm"
    assert study["doses[0].amount"] == 1e10
    before = study.run()["timeseries"]
    study["vesicles.sEV.diameter"] = "150 nm"
    assert study["vesicles.sEV.diameter"] == "150 nm"
    assert 'diameter = "150 nm"' in study.to_toml()
    after = study.run()["timeseries"]
    assert before.column("main/blood/sEV") != after.column("main/blood/sEV")


def test_a_set_equals_the_command_lines_set(studies, cli, tmp_path):
    study = exosim.Study.from_toml(studies / "mouse_iv_bolus.toml")
    study["vesicles.sEV.diameter"] = "150 nm"
    ours = study.run()["timeseries"]
    cli("run", studies / "mouse_iv_bolus.toml", "-o", tmp_path, "-q", "--set", "vesicles.sEV.diameter=150 nm")
    assert ours.equals(exosim.read_run(tmp_path)["timeseries"], check_metadata=True)


def test_a_wrong_path_is_refused_at_once_with_the_names_there(studies):
    study = exosim.Study.from_toml(studies / "mouse_iv_bolus.toml")
    with pytest.raises(exosim.StudyError) as caught:
        study["vesicles.sXV.diameter"] = "1 nm"
    assert caught.value.key == "vesicles.sXV.diameter"
    assert caught.value.hint == "the entries of `vesicles` are: sEV"
    with pytest.raises(exosim.StudyError, match="not set in the study"):
        study["vesicles.sEV.cd47_typo"]
    with pytest.raises(exosim.StudyError, match="not a parameter path"):
        study["vesicles..diameter"]


BAD = """[study]
name = "bad"
duration = 3
"""


def test_an_error_carries_its_line_and_the_command_lines_text(tmp_path, cli):
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    with pytest.raises(exosim.StudyError) as caught:
        exosim.Study.from_toml(path).validate()
    e = caught.value
    assert isinstance(e, exosim.Error)
    assert (e.file, e.line, e.column, e.key) == (str(path), 3, 12, "study.duration")
    assert "has no unit" in e.message
    printed = cli("validate", path, check=False)
    assert printed.returncode == 2
    assert "error: " + str(e) == printed.stderr.strip()


def test_a_long_run_is_told_by_a_warning_with_the_command_lines_text(studies, tmp_path, cli):
    text = (studies / "dish_uptake.toml").read_text()
    assert "weight = 500" in text
    path = tmp_path / "long.toml"
    path.write_text(text.replace("weight = 500", "weight = 2", 1))
    with pytest.warns(exosim.StudyNotice) as caught:
        assert exosim.Study.from_toml(path).validate() == "dish_uptake"
    assert len(caught) == 1
    note = str(caught[0].message)
    assert "`tissue.time_step`: the run is valid but long" in note
    printed = cli("validate", path)
    assert printed.stderr.strip() == note


def test_a_value_set_that_does_not_fit_names_the_setting(studies):
    study = exosim.Study.from_toml(studies / "mouse_iv_bolus.toml")
    study["vesicles.sEV.diameter"] = "150 parsecs"
    with pytest.raises(exosim.StudyError) as caught:
        study.run()
    assert caught.value.file == '--set vesicles.sEV.diameter="150 parsecs"'
    assert caught.value.line == 0


def test_text_and_dicts_make_the_same_study(studies):
    text = (studies / "mouse_iv_bolus.toml").read_text()
    from_text = exosim.Study.from_toml(text)
    from_dict = exosim.Study.from_dict(from_text.to_dict())
    assert from_text.file == "<string>" and from_dict.file == "<dict>"
    a, b = from_text.run().summary, from_dict.run().summary
    assert json.dumps(a["vesicles"]) == json.dumps(b["vesicles"])


@pytest.mark.parametrize(
    "make",
    [
        lambda: exosim.Study.from_toml("no/such/study.toml"),
        lambda: exosim.Study.from_toml("not toml ["),
        lambda: exosim.Study.from_dict({"study": {"name": None}}),
        lambda: exosim.Study.from_dict({"study": {"name": "x", "nonsense": 1}}),
    ],
)
def test_bad_input_raises_study_error_never_a_panic(make):
    with pytest.raises(exosim.StudyError):
        make()


def test_threads_and_seed_are_checked_and_do_not_change_results(studies):
    study = exosim.Study.from_toml(studies / "screening_ovarian.toml")
    one = study.run(threads=1)
    two = study.run(threads=2)
    assert one.summary == two.summary
    assert study.run(seed=7).summary["seed"] == 7
    with pytest.raises(ValueError):
        study.run(threads=0)


def test_mutated_studies_raise_study_errors_and_never_panic(studies):
    import random

    lines = (studies / "mouse_iv_bolus.toml").read_text().splitlines()
    tokens = ["-1", "0", "1e400", '"1 parsec"', '"-5 min"', '""', "[]", "{}", "nan", '"0 nm"', "true", '"1e308 h"']
    rng = random.Random(17)
    outcomes = {"valid": 0, "invalid": 0}
    for _ in range(300):
        mutated = list(lines)
        i = rng.randrange(len(mutated))
        if "=" in mutated[i] and rng.random() < 0.8:
            key = mutated[i].split("=")[0]
            mutated[i] = f"{key}= {rng.choice(tokens)}"
        else:
            del mutated[i]
        try:
            exosim.Study.from_toml("\n".join(mutated)).run()
            outcomes["valid"] += 1
        except exosim.StudyError:
            outcomes["invalid"] += 1
    assert outcomes["invalid"] > 50, outcomes


def test_tables_written_only_as_csv_carry_units_and_descriptions(studies):
    """The columns of CSV-only tables get their unit from the library's dictionary."""
    result = exosim.Study.from_toml(studies / "gut_barrier_blood_test.toml").run()
    table = result["biopsy_conditions"]
    meta = {f.name: f.metadata for f in table.schema}
    assert meta["threshold_per_ml"][b"unit"] == b"/mL"
    assert meta["auc"][b"unit"] == b"1"
    assert meta["group"][b"unit"] == b""
    assert all(m and m[b"description"] for m in meta.values())
    roc = result[next(t for t in result.tables if t.startswith("biopsy_roc_"))]
    assert roc.schema.field("threshold").metadata[b"unit"] == b"/m3"
