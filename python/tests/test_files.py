"""Run directories: saved as the command line writes them, read back whole."""

import json

import pytest

import exosim


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["mouse_iv_bolus", "screening_ovarian"])
def test_save_writes_the_directory_the_command_line_writes(name, studies, cli, tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    exosim.Study.from_toml(studies / f"{name}.toml").run().save(ours)
    cli("run", studies / f"{name}.toml", "-o", theirs, "-q")
    assert _files(ours) == _files(theirs)
    for f in _files(ours):
        assert (ours / f).read_bytes() == (theirs / f).read_bytes(), f


@pytest.mark.parametrize("name", ["mouse_iv_bolus", "screening_ovarian", "screening_tissue_tumour"])
def test_read_run_of_a_command_line_directory_equals_the_run(name, studies, cli, tmp_path):
    result = exosim.Study.from_toml(studies / f"{name}.toml").run()
    cli("run", studies / f"{name}.toml", "-o", tmp_path, "-q")
    read = exosim.read_run(tmp_path)
    assert read.tables == result.tables
    assert read.summary == json.loads(json.dumps(result.summary))
    assert read.manifest["written_by"] == "run"
    for t in result.tables:
        assert read[t].equals(result[t], check_metadata=True), t


def test_save_refuses_a_folder_with_files_unless_forced(studies, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = exosim.Study.from_toml(studies / "mouse_iv_bolus.toml").run()
    with pytest.raises(exosim.Error, match="not empty"):
        result.save(tmp_path)
    written = result.save(tmp_path, force=True)
    assert tmp_path / "summary.json" in written
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_read_run_needs_a_finished_run(tmp_path):
    with pytest.raises(exosim.Error, match="summary.json"):
        exosim.read_run(tmp_path)
