//! `exosim run CAMPAIGN`, `--shard I/N`, `exosim merge` and `--set`, as a
//! user types them.

use std::fs;

use crate::common::{exosim, repo_root, snapshot, stderr, stdout};

/// A small Saltelli campaign over the shipped RVG study, in `dir`.
fn small_campaign(dir: &std::path::Path) -> std::path::PathBuf {
    let text = fs::read_to_string(repo_root().join("campaigns/rvg_brain_sensitivity.toml"))
        .unwrap()
        .replace(
            "../studies/",
            &format!("{}/studies/", repo_root().display()),
        )
        .replace("points = 1024", "points = 16");
    let path = dir.join("small.toml");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_campaign_runs_and_two_shards_merged_give_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_campaign(tmp.path());
    let whole = tmp.path().join("whole");
    let out = exosim([
        "run".as_ref(),
        file.as_os_str(),
        "-o".as_ref(),
        whole.as_os_str(),
        "--threads".as_ref(),
        "2".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("brain_4h") && text.contains("S1") && text.contains("ST"),
        "{text}"
    );
    for i in 1..=2 {
        let part = tmp.path().join(format!("p{i}"));
        let out = exosim([
            "run".as_ref(),
            file.as_os_str(),
            "--shard".as_ref(),
            format!("{i}/2").as_ref(),
            "-o".as_ref(),
            part.as_os_str(),
            "-q".as_ref(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let merged = tmp.path().join("merged");
    let out = exosim([
        "merge".as_ref(),
        tmp.path().join("p1").as_os_str(),
        tmp.path().join("p2").as_os_str(),
        "-o".as_ref(),
        merged.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (a, b) = (snapshot(&whole), snapshot(&merged));
    for name in [
        "campaign.parquet",
        "campaign.csv",
        "sensitivity.csv",
        "summary.json",
    ] {
        assert_eq!(a.get(name), b.get(name), "{name}");
    }
    // `merge --report` adds the page over the same files.
    let with_page = tmp.path().join("with_page");
    let out = exosim([
        "merge".as_ref(),
        tmp.path().join("p1").as_os_str(),
        tmp.path().join("p2").as_os_str(),
        "-o".as_ref(),
        with_page.as_os_str(),
        "-q".as_ref(),
        "--report".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = fs::read_to_string(with_page.join("report.html")).unwrap();
    assert!(page.contains("brain_4h"), "the page shows the observables");
    assert_eq!(
        snapshot(&with_page).get("summary.json"),
        b.get("summary.json")
    );
    // The whole run keeps no part files; a merge refuses an incomplete set.
    assert!(!a.keys().any(|k| k.starts_with("part-")), "{:?}", a.keys());
    let out = exosim([
        "merge".as_ref(),
        tmp.path().join("p2").as_os_str(),
        "-o".as_ref(),
        tmp.path().join("m2").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("missing parts: 1 of 2"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("m2").exists());
}

#[test]
fn a_campaign_folder_is_not_overwritten_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_campaign(tmp.path());
    let dir = tmp.path().join("out");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    let run = |force: bool| {
        let mut args = vec![
            "run".into(),
            file.clone().into_os_string(),
            "-o".into(),
            dir.clone().into_os_string(),
            "-q".into(),
        ];
        if force {
            args.push("--force".into());
        }
        exosim(args)
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not empty"), "{}", stderr(&out));
    assert!(run(true).status.success());
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    assert!(dir.join("summary.json").is_file());
}

#[test]
fn set_changes_a_study_value_and_a_wrong_path_says_the_nearest() {
    let tmp = tempfile::tempdir().unwrap();
    let study = repo_root().join("studies/mouse_iv_bolus.toml");
    let out = exosim([
        "run".as_ref(),
        study.as_os_str(),
        "-o".as_ref(),
        tmp.path().join("a").as_os_str(),
        "-q".as_ref(),
        "--set".as_ref(),
        "vesicles.sEV.diameter=150 nm".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = fs::read_to_string(tmp.path().join("a/summary.json")).unwrap();
    assert!(
        summary.contains("150 nm") || summary.contains("1.5e-7 m"),
        "the resolved study records the value"
    );
    let out = exosim([
        "validate".as_ref(),
        study.as_os_str(),
        "--set".as_ref(),
        "vesicles.sEX.diameter=150 nm".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(
        err.matches("no entry of `vesicles` is named `sEX`").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("did you mean `vesicles.sEV.diameter`?"),
        "{err}"
    );
    // A campaign's --set fixes a value of its study for every point; on a
    // path the campaign varies it is refused at that parameter, not ignored.
    let campaign = repo_root().join("campaigns/virtual_mice.toml");
    for cmd in ["validate", "run"] {
        let mut args = vec![cmd.into(), campaign.clone().into_os_string()];
        if cmd == "run" {
            args.extend(["-o".into(), tmp.path().join("c").into_os_string()]);
        }
        args.extend(["--set".into(), "body.mps.capacity=0.5".into()]);
        let out = exosim(args);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).contains(
                "`parameters[3].path`: `body.mps.capacity` varies here and is fixed by --set body.mps.capacity=0.5"
            ),
            "{}",
            stderr(&out)
        );
        assert!(!tmp.path().join("c").exists(), "nothing written");
    }
    let out = exosim([
        "validate".as_ref(),
        campaign.as_os_str(),
        "--set".as_ref(),
        "body.mps.km=\"1 parsec\"".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--set body.mps.km"),
        "{}",
        stderr(&out)
    );
}

/// A trial at a dose chosen without exposure: the shipped xenograft trial
/// with the targeted arm's dose set 30 times lower on the command line
/// (no copied file). Its power falls; the summary records the set, and
/// the fingerprint differs, so its parts never merge with the full dose's.
#[test]
fn a_campaign_set_runs_the_same_trial_at_another_dose() {
    let tmp = tempfile::tempdir().unwrap();
    let campaign = repo_root().join("campaigns/xenograft_trial.toml");
    let text = fs::read_to_string(&campaign)
        .unwrap()
        .replace("points = 240", "points = 48")
        .replace("subjects = [3, 4, 6, 8, 10, 12]", "subjects = [4, 8]")
        .replace("trials = 1000", "trials = 300")
        .replace("power = 0.8", "")
        .replace(
            "../studies/",
            &format!("{}/studies/", repo_root().display()),
        );
    let file = tmp.path().join("trial.toml");
    fs::write(&file, text).unwrap();
    let run = |dir: &str, set: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "run".into(),
            file.clone().into_os_string(),
            "-o".into(),
            tmp.path().join(dir).into_os_string(),
            "--quiet".into(),
        ];
        for s in set {
            args.extend(["--set".into(), (*s).into()]);
        }
        let out = exosim(args);
        assert!(out.status.success(), "{}", stderr(&out));
        let summary: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(tmp.path().join(dir).join("summary.json")).unwrap(),
        )
        .unwrap();
        summary
    };
    let full = run("full", &[]);
    let low = run("low", &["arms.targeted.doses[0].amount=3.3e9"]);
    let power = |s: &serde_json::Value| {
        (s["trial"]["power"].as_array().unwrap().iter())
            .find(|p| p["arm"] == "targeted" && p["subjects"] == 8)
            .unwrap()["power"]
            .as_f64()
            .unwrap()
    };
    println!(
        "targeted, 8 per arm: power {} at the full dose, {} at 1/30",
        power(&full),
        power(&low)
    );
    assert!(
        power(&low) < power(&full) - 0.2,
        "{} vs {}",
        power(&low),
        power(&full)
    );
    assert_eq!(
        low["sets"],
        serde_json::json!(["arms.targeted.doses[0].amount=3300000000.0"])
    );
    assert!(full.get("sets").is_none());
    assert_ne!(low["fingerprint"], full["fingerprint"]);
}

#[test]
fn every_shipped_campaign_is_valid() {
    let dir = repo_root().join("campaigns");
    let mut n = 0;
    for e in fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            let out = exosim(["validate".as_ref(), path.as_os_str()]);
            assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
            let said = stdout(&out);
            assert!(
                said.contains("valid campaign")
                    || said.contains("valid calibration")
                    || said.contains("valid ABC-SMC calibration"),
                "{said}"
            );
            n += 1;
        }
    }
    assert!(n >= 3, "{n} campaigns shipped");
}

#[test]
fn the_slurm_task_script_runs_shards_and_merges_them_to_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_campaign(tmp.path());
    let script = repo_root().join("examples/slurm/campaign.sh");
    let out = tmp.path().join("out");
    let task = |env: &[(&str, &str)]| {
        let status = std::process::Command::new("bash")
            .arg(&script)
            .arg(&file)
            .arg(&out)
            .env("EXOSIM", env!("CARGO_BIN_EXE_exosim"))
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", stderr(&status));
    };
    for i in ["1", "2", "3"] {
        task(&[
            ("SLURM_ARRAY_TASK_ID", i),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_CPUS_PER_TASK", "1"),
        ]);
    }
    task(&[("EXOSIM_MERGE", "1")]);
    let whole = tmp.path().join("whole");
    let run = exosim([
        "run".as_ref(),
        file.as_os_str(),
        "-o".as_ref(),
        whole.as_os_str(),
        "-q".as_ref(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let (a, b) = (snapshot(&whole), snapshot(&out.join("merged")));
    for name in [
        "campaign.parquet",
        "campaign.csv",
        "sensitivity.csv",
        "summary.json",
    ] {
        assert_eq!(a.get(name), b.get(name), "{name}");
    }
}

#[test]
fn campaign_report_from_run_and_from_a_merge_draws_in_chromium_or_skip() {
    let tmp = tempfile::tempdir().unwrap();
    let file = small_campaign(tmp.path());
    let run = |extra: &[&str], out: &std::path::Path| {
        let mut args = vec!["run".into(), file.clone().into_os_string(), "-q".into()];
        args.extend(extra.iter().map(|a| a.into()));
        args.extend(["-o".into(), out.as_os_str().to_owned()]);
        exosim(args)
    };
    // `run --report`: the page and its figures, recorded in the manifest.
    let whole = tmp.path().join("whole");
    let out = run(&["--report"], &whole);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = fs::read_to_string(whole.join("report.html")).unwrap();
    for name in [
        "brain_4h",
        "liver_4h",
        "body.mps.capacity",
        "Sensitivity of brain_4h",
    ] {
        assert!(html.contains(name), "{name}");
    }
    assert!(whole.join("figures/sensitivity_brain_4h.png").is_file());
    let manifest = fs::read_to_string(whole.join(".exosim-manifest.json")).unwrap();
    assert!(
        manifest.contains("figures/histogram_liver_4h.svg"),
        "{manifest}"
    );
    crate::report::check_in_browser(&whole.join("report.html"), "campaign");
    // A shard cannot make the page; its folder is told to merge first.
    let p1 = tmp.path().join("p1");
    let out = run(&["--shard", "1/2", "--report"], &p1);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--report needs the whole campaign"),
        "{}",
        stderr(&out)
    );
    for i in 1..=2 {
        let out = run(
            &["--shard", &format!("{i}/2")],
            &tmp.path().join(format!("p{i}")),
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = exosim(["report".as_ref(), p1.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("exosim merge"), "{}", stderr(&out));
    // `exosim report` on the merged folder: the same page as the whole run's.
    let merged = tmp.path().join("merged");
    let parts = ["p1", "p2"].map(|p| tmp.path().join(p));
    let out = exosim(
        [
            &["merge".as_ref(), parts[0].as_os_str(), parts[1].as_os_str()][..],
            &["-o".as_ref(), merged.as_os_str(), "-q".as_ref()],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = exosim(["report".as_ref(), merged.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        merged.join("report.html").display().to_string()
    );
    let (a, b) = (snapshot(&whole), snapshot(&merged));
    for name in [
        "figures/sensitivity_brain_4h.svg",
        "figures/histogram_brain_4h.png",
    ] {
        assert_eq!(a.get(name), b.get(name), "{name}");
    }
}

/// The campaign commands of README.md, as written (output folders moved
/// to a temporary directory).
#[test]
fn the_readme_campaign_commands_run_as_written() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let commands: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("exosim run campaigns/"))
        .collect();
    assert!(commands.len() >= 3, "{commands:?}");
    let tmp = tempfile::tempdir().unwrap();
    for (k, line) in commands.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        let mut it = words[1..].iter();
        while let Some(w) = it.next() {
            if *w == "-o" {
                it.next();
                args.push("-o".into());
                args.push(tmp.path().join(format!("r{k}")).into_os_string());
            } else if w.starts_with("campaigns/") {
                args.push(repo_root().join(w).into_os_string());
            } else {
                args.push(w.into());
            }
        }
        args.push("-q".into());
        let out = exosim(&args);
        assert!(out.status.success(), "{line}: {}", stderr(&out));
        assert!(
            tmp.path().join(format!("r{k}/summary.json")).is_file(),
            "{line}"
        );
    }
}
