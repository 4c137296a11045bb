//! The report of a virtual trial: reduced copies of the shipped xenograft
//! trial (36 mice, 3 and 6 per arm, 200 trials) run through the library
//! with each endpoint. The page must hold the trial in words, the power
//! curves with the numbers of `power.csv`, the sample-size verdicts of
//! `summary.json`, and per endpoint the Kaplan–Meier curves of
//! `kaplan_meier.csv`, the waterfall of the table's best responses, or
//! each arm's histogram, and every subject's course with the median of
//! `trajectories.parquet`; a campaign without a trial has no trial section
//! (and a one-parameter list is drawn as lines); a damaged trial file is
//! refused with the file named, writing nothing.

use std::fs;
use std::path::{Path, PathBuf};

use exosim_report::page::esc;
use exosim_report::trial_page::{PARTIAL_RESPONSE, PROGRESSION};
use exosim_report::{FIGURES_DIR, REPORT_FILE};
use serde_json::Value;

mod common;
use common::{figure_spec, numbers};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Runs campaign `text` (studies found in the repository) into `dir`.
fn run(text: &str, dir: &Path) {
    let text = text.replace("../studies/", &format!("{}/studies/", repo("").display()));
    fs::create_dir_all(dir).unwrap();
    let file = dir.join("campaign.toml");
    fs::write(&file, text).unwrap();
    let campaign = exosim::campaign::Campaign::load(&file).expect("campaign loads");
    exosim::campaign::run_whole(&campaign, dir, |_, _| {}).expect("campaign runs");
    fs::remove_file(file).unwrap();
}

/// The shipped xenograft trial, reduced, with `endpoint` (its lines).
fn xenograft(dir: &Path, endpoint: &str) {
    let text = fs::read_to_string(repo("campaigns/xenograft_trial.toml"))
        .unwrap()
        .replace("points = 240", "points = 36")
        .replace("subjects = [3, 4, 6, 8, 10, 12]", "subjects = [3, 6]")
        .replace("trials = 1000", "trials = 200")
        .replace(
            "endpoint = \"change\"\ntime = \"21 day\"\ntest = \"welch\"",
            endpoint,
        );
    run(&text, dir);
}

fn report(dir: &Path) -> String {
    let written = exosim_report::write(dir).unwrap_or_else(|e| panic!("report: {e}"));
    fs::read_to_string(written.html).unwrap()
}

/// The rows of a CSV file whose first field is `key`, as numbers after it.
fn csv_rows(path: &Path, key: &str) -> Vec<Vec<f64>> {
    (fs::read_to_string(path).unwrap().lines().skip(1))
        .filter(|l| l.split(',').next() == Some(key))
        .map(|l| l.split(',').skip(1).map(|f| f.parse().unwrap()).collect())
        .collect()
}

/// The trace named `name` of a figure.
fn trace<'a>(spec: &'a Value, name: &str) -> &'a Value {
    (spec["data"].as_array().unwrap().iter())
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no trace `{name}`"))
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}: {x} vs {y}"
        );
    }
}

/// Power curves, verdicts, table and the per-arm histograms of a `change`.
#[test]
fn a_trial_page_shows_the_power_of_power_csv_and_the_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("change");
    xenograft(
        &dir,
        "endpoint = \"change\"\ntime = \"21 day\"\ntest = \"welch\"",
    );
    let html = report(&dir);
    assert!(html.contains("<section id=\"trial\""));
    assert!(html.contains("by Welch&#39;s t-test on the tumour response at day 21 over its start"));
    let spec = figure_spec(&html, "Power against subjects per arm");
    for arm in ["untargeted", "targeted"] {
        let rows = csv_rows(&dir.join("power.csv"), arm);
        let t = trace(&spec, arm);
        let size: Vec<f64> = rows.iter().map(|r| r[0]).collect();
        assert_eq!(numbers(&t["x"]), size, "{arm}: every size evaluated");
        assert_eq!(size, [2.0, 3.0, 4.0, 5.0, 6.0], "the search tries 2 to 6");
        let power: Vec<f64> = rows.iter().map(|r| r[3]).collect();
        assert_close(&numbers(&t["y"]), &power, 1e-6, arm);
        let high: Vec<f64> = rows.iter().map(|r| r[5]).collect();
        let band = trace(&spec, &format!("{arm} interval"));
        assert_close(&numbers(&band["y"]), &high, 1e-6, "Wilson high");
        assert_eq!(band["fill"], "tonexty", "a band down to the low ends");
    }
    assert_eq!(
        numbers(&trace(&spec, "power sought (0.8)")["y"]),
        [0.8, 0.8]
    );
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let search = summary["trial"]["search"].as_array().unwrap();
    assert_eq!(search.len(), 2);
    for s in search {
        let verdict = s["verdict"].as_str().unwrap();
        assert!(html.contains(&esc(verdict)), "verdict `{verdict}`");
    }
    // The table: one row per listed size, the power with its count.
    let (p, n) = (
        csv_rows(&dir.join("power.csv"), "targeted")[4].clone(),
        200.0,
    );
    assert_eq!(p[0], 6.0);
    assert!(
        html.contains(&format!("; {} of {n})", p[2])),
        "targeted at 6"
    );
    // The simulated trials: the median estimate of trials.csv at 6 per arm.
    let mut e: Vec<f64> = (fs::read_to_string(dir.join("trials.csv"))
        .unwrap()
        .lines()
        .skip(1))
    .map(|l| l.split(',').collect::<Vec<_>>())
    .filter(|f| f[0] == "6" && f[2] == "targeted")
    .map(|f| f[7].parse::<f64>().unwrap())
    .filter(|x| x.is_finite())
    .collect();
    e.sort_by(f64::total_cmp);
    let median = 0.5 * (e[(e.len() - 1) / 2] + e[e.len() / 2]);
    let row = format!(
        "<td>targeted</td><td>6</td><td>{} of 200</td><td>{}</td>",
        e.len(),
        exosim_report::format::num(median)
    );
    assert!(html.contains(&row), "{row}");
    // Each arm's endpoint over the same bins, every subject counted.
    for arm in ["control", "untargeted", "targeted"] {
        let spec = figure_spec(&html, &format!("Endpoint in {arm}"));
        let counts = numbers(&spec["data"][0]["y"]);
        assert_eq!(counts.iter().sum::<f64>(), 36.0, "{arm}");
    }
    // Each arm's courses: every subject (36, under the sample's cap) and
    // the median of trajectories.parquet at each time.
    let traj = exosim::output::read_parquet(&dir.join("trajectories.parquet")).unwrap();
    let times = 25;
    for arm in ["control", "untargeted", "targeted"] {
        let spec = figure_spec(&html, &format!("Courses in {arm}"));
        assert_eq!(spec["data"].as_array().unwrap().len(), 36 + 1, "{arm}");
        let values = &traj.column(arm).unwrap().values;
        let median: Vec<f64> = (0..times)
            .map(|k| {
                let mut at: Vec<f64> = (0..36).map(|s| values[s * times + k]).collect();
                at.sort_by(f64::total_cmp);
                0.5 * (at[17] + at[18])
            })
            .collect();
        assert_close(&numbers(&trace(&spec, "median")["y"]), &median, 1e-6, arm);
        let days = numbers(&trace(&spec, "median")["x"]);
        assert_eq!(days.len(), times);
        assert!(days[0] == 0.0 && (days[times - 1] - 21.0).abs() < 1e-6);
    }
    for ext in ["svg", "png"] {
        let file = dir
            .join(FIGURES_DIR)
            .join(format!("trial_median_course.{ext}"));
        assert!(file.is_file(), "{}", file.display());
    }
    // The static figure shows the spread too: 10 % and 90 % of every arm.
    let svg =
        std::fs::read_to_string(dir.join(FIGURES_DIR).join("trial_median_course.svg")).unwrap();
    for arm in ["control", "untargeted", "targeted"] {
        for q in ["10 %", "90 %"] {
            assert!(
                svg.contains(&format!("{arm} {q}")),
                "`{arm} {q}` not in the figure"
            );
        }
    }
    for ext in ["svg", "png"] {
        assert!(
            dir.join(FIGURES_DIR)
                .join(format!("trial_power.{ext}"))
                .is_file()
        );
    }
}

/// Kaplan–Meier curves of a `progression` trial, with the file's steps.
#[test]
fn a_progression_trial_draws_the_kaplan_meier_curves_of_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("progression");
    xenograft(&dir, "endpoint = \"progression\"");
    let html = report(&dir);
    assert!(html.contains("by the log-rank test on the time to progression"));
    let spec = figure_spec(&html, "Kaplan–Meier curves by arm");
    for arm in ["control", "untargeted", "targeted"] {
        let rows = csv_rows(&dir.join("kaplan_meier.csv"), arm);
        let t = trace(&spec, arm);
        assert_eq!(t["line"]["shape"], "hv", "{arm}: a step plot");
        let (x, y) = (numbers(&t["x"]), numbers(&t["y"]));
        let days: Vec<f64> = rows.iter().map(|r| r[0] / 86_400.0).collect();
        let survival: Vec<f64> = rows.iter().map(|r| r[3]).collect();
        assert_close(&x[..days.len()], &days, 1e-6, arm);
        assert_close(&y[..survival.len()], &survival, 1e-6, arm);
        assert!(x.len() - days.len() <= 1, "carried on to the end only");
        assert!(*x.last().unwrap() <= 21.0 + 1e-9);
    }
    assert!(!html.contains("Waterfall of best response"));
    for ext in ["svg", "png"] {
        assert!(
            dir.join(FIGURES_DIR)
                .join(format!("trial_kaplan_meier.{ext}"))
                .is_file()
        );
    }
}

/// The waterfall: each mouse's best response of the table, in %, sorted,
/// one colour per arm, RECIST's lines read on a volume.
#[test]
fn a_best_response_trial_draws_a_waterfall_of_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("best");
    xenograft(&dir, "endpoint = \"best_response\"");
    let html = report(&dir);
    let spec = figure_spec(&html, "Waterfall of best response");
    let table = exosim::output::read_csv(&dir.join("campaign.csv")).unwrap();
    let mut colours = std::collections::HashSet::new();
    for arm in ["control", "untargeted", "targeted"] {
        let mut want: Vec<f64> = (table.column(&format!("trial.{arm}")).unwrap().values.iter())
            .map(|v| 100.0 * v)
            .collect();
        want.sort_by(|a, b| b.total_cmp(a));
        let t = trace(&spec, arm);
        assert_eq!(t["type"], "bar");
        assert_close(&numbers(&t["y"]), &want, 1e-12, arm);
        assert!(
            colours.insert(t["marker"]["color"].to_string()),
            "{arm}: its own colour"
        );
    }
    let lines: Vec<f64> = (spec["data"].as_array().unwrap().iter())
        .filter(|t| t["type"] == "scatter")
        .map(|t| numbers(&t["y"])[0])
        .collect();
    assert_close(
        &lines,
        &[100.0 * PARTIAL_RESPONSE, 100.0 * PROGRESSION],
        1e-12,
        "RECIST",
    );
    assert!((PARTIAL_RESPONSE + 0.657).abs() < 1e-12 && (PROGRESSION - 0.728).abs() < 1e-12);
    assert!(html.contains("RECIST 1.1&#39;s lines are read on a volume"));
    for ext in ["svg", "png"] {
        assert!(
            dir.join(FIGURES_DIR)
                .join(format!("trial_waterfall.{ext}"))
                .is_file()
        );
    }
}

/// A campaign without a trial: no trial section. The shipped dose–response
/// (a list of one parameter over three decades) is drawn as lines on a log
/// x axis, each value once, and not again as a scatter.
#[test]
fn a_dose_response_list_is_drawn_as_lines_and_has_no_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dose");
    run(
        &fs::read_to_string(repo("campaigns/xenograft_dose_response.toml")).unwrap(),
        &dir,
    );
    let html = report(&dir);
    assert!(!html.contains("<section id=\"trial\"") && !html.contains("Virtual trial"));
    assert!(
        !html.contains("<section id=\"scatter\""),
        "the lines hold every run"
    );
    let p = "arms.targeted.doses[0].amount";
    let spec = figure_spec(&html, &format!("tumour_ratio_21d against {p}"));
    assert_eq!(spec["layout"]["xaxis"]["type"], "log");
    let table = exosim::output::read_csv(&dir.join("campaign.csv")).unwrap();
    let t = &spec["data"][0];
    assert_close(
        &numbers(&t["x"]),
        &table.column(p).unwrap().values,
        1e-6,
        "ascending doses",
    );
    let ratio = &table.column("tumour_ratio_21d").unwrap().values;
    assert_close(&numbers(&t["y"]), ratio, 1e-6, "ratio");
    assert!(
        ratio[6] < ratio[0],
        "the largest dose shrinks the tumour most"
    );
    assert!(
        dir.join(FIGURES_DIR)
            .join("line_tumour_ratio_21d.png")
            .is_file()
    );
    // A summary that writes its missing trial as null reads the same.
    edit(&dir, "summary.json", |t| {
        t.replacen('{', "{\"trial\": null, ", 1)
    });
    assert!(!report(&dir).contains("<section id=\"trial\""));
}

/// Damages a copy of `good` with `damage`; the refusal must name `file`
/// and say `why`, and nothing may be written.
fn refused(good: &Path, name: &str, damage: impl FnOnce(&Path), expected: &[&str]) {
    let copy = good.parent().unwrap().join(name);
    fs::create_dir_all(&copy).unwrap();
    for e in fs::read_dir(good).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
    damage(&copy);
    let err = match exosim_report::write(&copy) {
        Ok(_) => panic!("{name}: accepted"),
        Err(e) => e.to_string(),
    };
    for e in expected {
        assert!(err.contains(e), "{name}: `{e}` not in: {err}");
    }
    assert!(!copy.join(REPORT_FILE).exists(), "{name}: page written");
    assert!(!copy.join(FIGURES_DIR).exists(), "{name}: figures written");
}

fn edit(dir: &Path, file: &str, f: impl FnOnce(String) -> String) {
    let path = dir.join(file);
    fs::write(&path, f(fs::read_to_string(&path).unwrap())).unwrap();
}

#[test]
fn damaged_trial_files_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    xenograft(&good, "endpoint = \"progression\"");
    let power_col = |d: &Path, value: &str| {
        edit(d, "power.csv", |t| {
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            let mut f: Vec<&str> = lines[2].split(',').collect();
            f[4] = value;
            lines[2] = f.join(",");
            lines.join("\n") + "\n"
        })
    };
    refused(
        &good,
        "no_power",
        |d| fs::remove_file(d.join("power.csv")).unwrap(),
        &["power.csv", "missing", "trial"],
    );
    refused(
        &good,
        "power_above_1",
        |d| power_col(d, "1.5"),
        &["power.csv", "row 3", "`power`", "outside [0, 1]"],
    );
    refused(
        &good,
        "power_text",
        |d| power_col(d, "high"),
        &["power.csv", "row 3", "cannot parse"],
    );
    refused(
        &good,
        "power_outside_interval",
        |d| power_col(d, "0.999"),
        &["power.csv", "row 3", "outside its interval"],
    );
    refused(
        &good,
        "power_cut",
        |d| edit(d, "power.csv", |t| t[..t.len() / 2].to_string()),
        &["power.csv"],
    );
    refused(
        &good,
        "power_rows_lost",
        |d| {
            edit(d, "power.csv", |t| {
                t.lines().take(3).map(|l| format!("{l}\n")).collect()
            })
        },
        &["power.csv", "`subjects`", "a size summary.json lists"],
    );
    refused(
        &good,
        "power_arm",
        |d| edit(d, "power.csv", |t| t.replacen("untargeted,", "sham,", 1)),
        &["power.csv", "`sham`", "not an arm"],
    );
    refused(
        &good,
        "no_km",
        |d| fs::remove_file(d.join("kaplan_meier.csv")).unwrap(),
        &["kaplan_meier.csv", "progression"],
    );
    refused(
        &good,
        "km_rising",
        |d| {
            edit(d, "kaplan_meier.csv", |t| {
                t.replacen(",0,1\n", ",0,0.5\n", 1)
            })
        },
        &["kaplan_meier.csv", "row 3", "survival rose"],
    );
    let damage_trajectories = |d: &Path, f: &dyn Fn(&mut exosim::output::Table)| {
        let path = d.join("trajectories.parquet");
        let mut t = exosim::output::read_parquet(&path).unwrap();
        f(&mut t);
        exosim::output::write_parquet(&path, &t).unwrap();
    };
    refused(
        &good,
        "trajectories_arm",
        |d| damage_trajectories(d, &|t| t.columns.retain(|c| c.name != "targeted")),
        &["trajectories.parquet", "`targeted`", "missing"],
    );
    refused(
        &good,
        "trajectories_times",
        |d| damage_trajectories(d, &|t| t.columns[1].values[30] = 1.0),
        &[
            "trajectories.parquet",
            "`time_s`",
            "the same for every subject",
        ],
    );
    refused(
        &good,
        "trajectories_infinite",
        |d| damage_trajectories(d, &|t| t.columns[2].values[7] = f64::INFINITY),
        &["trajectories.parquet", "`control`", "infinite"],
    );
    refused(
        &good,
        "trial_no_arms",
        |d| edit(d, "summary.json", |t| t.replacen("\"arms\"", "\"armz\"", 1)),
        &["summary.json", "trial.arms"],
    );
    refused(
        &good,
        "endpoint_column",
        |d| {
            edit(d, "campaign.csv", |t| {
                t.replacen("trial.targeted,", "trial.target,", 1)
            })
        },
        &["campaign.csv", "trial.targeted"],
    );
    // The control: the undamaged folder gives a page.
    report(&good);
}
