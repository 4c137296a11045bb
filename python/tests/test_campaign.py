"""Campaigns from Python: whole, in shards, merged; the command line's files."""

import pytest

import exosim


def small_sensitivity(tmp_path, studies):
    """The RVG brain campaign with 64 Saltelli points instead of 1024."""
    text = (studies.parent / "campaigns" / "rvg_brain_sensitivity.toml").read_text()
    text = text.replace("points = 1024", "points = 64").replace("bootstrap = 1000", "bootstrap = 100")
    text = text.replace('study = "../studies/', f'study = "{studies.as_posix()}/')
    path = tmp_path / "small.toml"
    path.write_text(text)
    return path


def test_a_campaign_merges_the_table_the_command_line_merges(tmp_path, studies, cli):
    file = small_sensitivity(tmp_path, studies)
    campaign = exosim.Campaign.from_toml(file)
    assert campaign.runs == 64 * 7 and not campaign.is_calibration
    ours = campaign.run(tmp_path / "ours")
    cli("run", file, "-o", tmp_path / "theirs", "-q")
    theirs = exosim.read_run(tmp_path / "theirs")
    assert ours.points.num_rows == campaign.runs
    assert ours.points.equals(theirs.points, check_metadata=True)
    assert ours.sensitivity.equals(theirs.sensitivity)
    assert ours.summary == theirs.summary
    units = {f.name: f.metadata[b"unit"].decode() for f in ours.points.schema}
    assert units["brain_4h"] == "1"


def test_shards_merge_into_the_whole_campaign(tmp_path, studies, cli):
    file = small_sensitivity(tmp_path, studies)
    campaign = exosim.Campaign.from_toml(file)
    record = campaign.run_shard(1, 2, tmp_path / "a")
    assert record["shard"] == 1
    cli("run", file, "--shard", "2/2", "-o", tmp_path / "b", "-q")
    merged = exosim.merge([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")
    whole = campaign.run(tmp_path / "whole")
    assert merged.points.equals(whole.points, check_metadata=True)
    assert merged.manifest["written_by"] == "merge"


def test_a_calibration_runs_and_reports_its_fit(tmp_path, campaigns):
    campaign = exosim.Campaign.from_toml(campaigns / "b16bl6_organs_calibration.toml")
    assert campaign.is_calibration
    result = campaign.run(tmp_path / "fit", threads=2)
    assert "calibration_fit" in result.tables
    assert result.points is None
    assert result.table("calibration_fit").num_rows == 3


def test_an_abc_calibration_runs_and_reads_back_its_posterior(tmp_path, campaigns):
    text = (campaigns / "spheroid_growth_abc.toml").read_text()
    text = text.replace("../studies/", str(campaigns.parent / "studies") + "/")
    text = text.replace("../data/", str(campaigns.parent / "data") + "/")
    text = text.replace("population = 200", "population = 10").replace("generations = 5", "generations = 1")
    path = tmp_path / "abc.toml"
    path.write_text(text)
    campaign = exosim.Campaign.from_toml(path)
    assert campaign.is_calibration
    with pytest.raises(exosim.CampaignError, match="runs whole"):
        campaign.run_shard(1, 2, tmp_path / "s")
    result = campaign.run(tmp_path / "abc", threads=2)
    assert result.summary["method"] == "abc_smc"
    posterior = result.table("abc_posterior")
    assert posterior.num_rows == 10
    assert abs(sum(posterior.column("weight").to_pylist()) - 1.0) < 1e-12
    assert result.table("abc_generations").num_rows == 2
    assert result.table("abc_fit").num_rows == 2


def test_campaign_problems_raise_campaign_error(tmp_path, campaigns):
    bad = tmp_path / "bad.toml"
    bad.write_text('[campaign]\nname = "x"\nstudy = "missing.toml"\n')
    with pytest.raises(exosim.CampaignError) as caught:
        exosim.Campaign.from_toml(bad)
    assert caught.value.file == str(bad)
    campaign = exosim.Campaign.from_toml(campaigns / "virtual_mice.toml")
    with pytest.raises(exosim.CampaignError, match="shard"):
        campaign.run_shard(3, 2, tmp_path / "s")
    with pytest.raises(exosim.CampaignError):
        exosim.merge(tmp_path / "nothing-here", tmp_path / "out")


def test_a_campaigns_study_path_starts_from_its_folder(tmp_path, studies, monkeypatch):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "study.toml").write_text((studies / "mouse_iv_bolus.toml").read_text())
    text = (studies.parent / "campaigns" / "virtual_mice.toml").read_text()
    text = text.replace('study = "../studies/mouse_tumour_dose.toml"', 'study = "study.toml"')
    (folder / "c.toml").write_text(text.split("[[parameters]]")[0] + '[[parameters]]\npath = "body.mps.capacity"\ndistribution = "uniform"\nlow = 0.5\nhigh = 1.5\n\n[[observables]]\nname = "blood_1h"\nkind = "fraction_of_dose"\narm = "main"\nplace = "blood"\ntime = "1 h"\n')
    monkeypatch.chdir(tmp_path)
    campaign = exosim.Campaign.from_toml("sub/c.toml")
    assert campaign.runs == 500


def test_studies_and_campaigns_pickle_for_other_processes(studies, campaigns):
    import pickle

    study = exosim.Study.from_toml(studies / "mouse_iv_bolus.toml")
    study["vesicles.sEV.diameter"] = "150 nm"
    again = pickle.loads(pickle.dumps(study))
    assert again["vesicles.sEV.diameter"] == "150 nm"
    assert again.run()["timeseries"].equals(study.run()["timeseries"])
    text = exosim.Study.from_toml((studies / "mouse_iv_bolus.toml").read_text())
    assert pickle.loads(pickle.dumps(text)).to_toml() == text.to_toml()
    as_dict = exosim.Study.from_dict(text.to_dict())
    assert pickle.loads(pickle.dumps(as_dict)).to_dict() == as_dict.to_dict()
    campaign = exosim.Campaign.from_toml(campaigns / "virtual_mice.toml")
    assert pickle.loads(pickle.dumps(campaign)).runs == campaign.runs


def test_a_campaign_set_is_the_command_lines_set_and_survives_pickling(tmp_path, studies, cli):
    import pickle

    file = small_sensitivity(tmp_path, studies)
    sets = {"vesicles.sEV_RVG.diameter": "150 nm"}
    campaign = exosim.Campaign.from_toml(file, set=sets)
    again = pickle.loads(pickle.dumps(campaign))
    ours = again.run(tmp_path / "ours")
    cli("run", file, "-o", tmp_path / "theirs", "-q", "--set", 'vesicles.sEV_RVG.diameter="150 nm"')
    theirs = exosim.read_run(tmp_path / "theirs")
    assert ours.summary == theirs.summary
    assert ours.summary["sets"] == ['vesicles.sEV_RVG.diameter="150 nm"']
    plain = exosim.Campaign.from_toml(file).run(tmp_path / "plain")
    assert plain.summary["fingerprint"] != ours.summary["fingerprint"]
    with pytest.raises(exosim.CampaignError) as caught:
        exosim.Campaign.from_toml(file, set={"body.mps.capacity": 0.5})
    assert "is fixed by --set body.mps.capacity=0.5" in str(caught.value)
