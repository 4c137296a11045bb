//! The report of a campaign folder: small campaigns of the shipped RVG
//! study run through the library (Saltelli and Morris), and folders written
//! by the test itself where exact values matter (a grid, a large design,
//! failures and units). The page must hold every observable and parameter,
//! its tornado charts the numbers of `sensitivity.csv`, and a damaged
//! folder must be refused with the file named, writing nothing.

use std::fs;
use std::path::{Path, PathBuf};

use exosim_report::campaign_page::{MAX_SCATTER_POINTS, observable_scale};
use exosim_report::{FIGURES_DIR, REPORT_FILE, campaign::CampaignDir};
use serde_json::{Value, json};

mod common;
use common::{figure_spec, numbers};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The shipped RVG sensitivity campaign with `method` and `points`, run
/// through the library into `dir`.
fn rvg_campaign(dir: &Path, method: &str, points: u64) {
    let text = fs::read_to_string(repo("campaigns/rvg_brain_sensitivity.toml"))
        .unwrap()
        .replace("../studies/", &format!("{}/studies/", repo("").display()))
        .replace("method = \"saltelli\"", &format!("method = \"{method}\""))
        .replace("points = 1024", &format!("points = {points}"))
        .replace("bootstrap = 1000", "bootstrap = 100");
    fs::create_dir_all(dir).unwrap();
    let file = dir.join("campaign.toml");
    fs::write(&file, text).unwrap();
    let campaign = exosim::campaign::Campaign::load(&file).expect("campaign loads");
    exosim::campaign::run_whole(&campaign, dir, |_, _| {}).expect("campaign runs");
    fs::remove_file(file).unwrap();
}

fn report(dir: &Path) -> String {
    let written = exosim_report::write(dir).unwrap_or_else(|e| panic!("report: {e}"));
    fs::read_to_string(written.html).unwrap()
}

/// `sensitivity.csv` as (observable, parameter, index) → (value, low, high, conf).
fn indices_csv(dir: &Path) -> Vec<IndexRow> {
    let text = fs::read_to_string(dir.join("sensitivity.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            (
                f[0].into(),
                f[1].into(),
                f[2].into(),
                [n(3), n(5), n(6), n(4)],
            )
        })
        .collect()
}

type IndexRow = (String, String, String, [f64; 4]);

/// The tornado of observable `o` shows the numbers of `sensitivity.csv`:
/// S1 and ST per parameter, error bars to the percentile interval's ends,
/// parameters ranked by ST (ascending from the bottom, the largest on top).
fn check_sobol_tornado(html: &str, csv: &[IndexRow], o: &str) {
    let spec = figure_spec(html, &format!("Sensitivity of {o}"));
    let traces = spec["data"].as_array().unwrap();
    assert_eq!(traces.len(), 2, "S1 and ST");
    for t in traces {
        let index = t["name"].as_str().unwrap();
        let params = t["y"].as_array().unwrap();
        let x = numbers(&t["x"]);
        let (plus, minus) = (
            numbers(&t["error_x"]["array"]),
            numbers(&t["error_x"]["arrayminus"]),
        );
        assert_eq!(params.len(), 5);
        for (k, p) in params.iter().map(|p| p.as_str().unwrap()).enumerate() {
            let row = csv.iter().find(|r| r.0 == o && r.1 == p && r.2 == index);
            let [value, low, high, _] = row.unwrap().3;
            // The page writes the file's number (shortest round trip);
            // serde_json's default reader may land one ulp off it.
            let ulp = f64::EPSILON * value.abs();
            let at = format!("{o} {p} {index}");
            assert!((x[k] - value).abs() <= ulp, "{at}: {} vs {value}", x[k]);
            assert!(
                (plus[k] - (high - value).max(0.0)).abs() < 1e-12,
                "{at} high"
            );
            assert!(
                (minus[k] - (value - low).max(0.0)).abs() < 1e-12,
                "{at} low"
            );
        }
        if index == "ST" {
            assert!(x.windows(2).all(|w| w[0] <= w[1]), "{o}: by ST: {x:?}");
        }
    }
}

#[test]
fn saltelli_page_holds_every_name_and_the_numbers_of_sensitivity_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rvg");
    rvg_campaign(&dir, "saltelli", 16);
    let html = report(&dir);
    let c = CampaignDir::load(&dir).unwrap();
    assert_eq!((c.runs, c.design.method.as_str()), (16 * 7, "saltelli"));
    for name in [
        "body.affinity.RVG.brain",
        "vesicles.sEV_RVG.cd47",
        "body.mps.capacity",
    ] {
        assert!(html.contains(name), "parameter {name}");
    }
    let csv = indices_csv(&dir);
    for o in ["brain_4h", "liver_4h"] {
        assert!(
            html.contains(&format!("data-plot=\"{o}\"")),
            "histogram of {o}"
        );
        check_sobol_tornado(&html, &csv, o);
        for ext in ["svg", "png"] {
            for stem in ["sensitivity", "histogram"] {
                let f = dir.join(FIGURES_DIR).join(format!("{stem}_{o}.{ext}"));
                assert!(f.is_file(), "{}", f.display());
            }
        }
        // The spread table, in the reader's unit (a share: %).
        let spread = c.observables.iter().find(|s| s.info.name == o).unwrap();
        let scale = observable_scale(spread);
        assert_eq!(scale.unit, "%");
        let mean = exosim_report::format::num(scale.apply(spread.stats[0].unwrap()));
        assert!(
            html.contains(&format!("<td>{mean}</td>")),
            "{o} mean {mean} %"
        );
    }
    assert!(html.contains("all 112 runs are drawn"), "the scatter note");
    let scatters = html.matches("data-plot=\"brain_4h against ").count();
    assert_eq!(scatters, 5, "one scatter per parameter");
}

#[test]
fn morris_tornado_shows_mu_star_with_its_half_width_and_sigma() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("morris");
    rvg_campaign(&dir, "morris", 6);
    let html = report(&dir);
    let c = CampaignDir::load(&dir).unwrap();
    let csv = indices_csv(&dir);
    let o = c
        .observables
        .iter()
        .find(|s| s.info.name == "liver_4h")
        .unwrap();
    let factor = observable_scale(o).factor;
    assert_eq!(factor, 100.0, "μ* of a share in percentage points");
    let spec = figure_spec(&html, "Sensitivity of liver_4h");
    let traces = spec["data"].as_array().unwrap();
    let names: Vec<&str> = traces.iter().map(|t| t["name"].as_str().unwrap()).collect();
    // Added bottom-up within a band: σ first, so that μ* is drawn on top.
    assert_eq!(names, ["σ", "μ*"]);
    let traces = [&traces[1], &traces[0]];
    let (mu, params) = (numbers(&traces[0]["x"]), traces[0]["y"].as_array().unwrap());
    let plus = numbers(&traces[0]["error_x"]["array"]);
    for (k, p) in params.iter().enumerate() {
        let row = csv
            .iter()
            .find(|r| r.0 == "liver_4h" && r.1 == p.as_str().unwrap() && r.2 == "mu_star")
            .unwrap();
        let (value, conf) = (row.3[0], row.3[3]);
        assert!((mu[k] - value * factor).abs() <= 1e-12 * mu[k].abs(), "{p}");
        assert!(
            (plus[k] - conf * factor).abs() <= 1e-9 * (1.0 + plus[k]),
            "{p}: ± half-width"
        );
    }
    assert!(mu.windows(2).all(|w| w[0] <= w[1]), "ranked by μ*: {mu:?}");
    assert!(traces[1].get("error_x").is_none(), "σ has no interval");
    assert!(html.contains("elementary effect (%)"));
}

/// A campaign folder written by hand: `summary.json` and `campaign.csv`
/// for `rows` of (parameter values…, observable values…).
struct Synthetic<'a> {
    method: &'a str,
    parameters: Vec<(&'a str, &'a str)>,
    observables: Vec<(&'a str, &'a str, &'a str)>,
    rows: Vec<Vec<f64>>,
    failures: Vec<(u64, &'a str)>,
}

impl Synthetic<'_> {
    fn write(&self, dir: &Path) {
        fs::create_dir_all(dir).unwrap();
        let k = self.parameters.len();
        let mut csv = String::from("point,row,replicate,seed");
        for name in self
            .parameters
            .iter()
            .map(|p| p.0)
            .chain(self.observables.iter().map(|o| o.0))
        {
            csv.push_str(&format!(",{name}"));
        }
        csv.push_str(",failed\n");
        for (i, r) in self.rows.iter().enumerate() {
            let failed = self.failures.iter().any(|f| f.0 == i as u64);
            let values: Vec<String> = r.iter().map(|v| v.to_string()).collect();
            csv.push_str(&format!(
                "{i},{i},0,{},{},{}\n",
                1000 + i,
                values.join(","),
                u8::from(failed)
            ));
        }
        fs::write(dir.join("campaign.csv"), csv).unwrap();
        let observables: Vec<Value> = (self.observables.iter().enumerate())
            .map(|(j, (name, unit, description))| {
                let v: Vec<f64> = self.rows.iter().map(|r| r[k + j]).filter(|x| x.is_finite()).collect();
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                json!({"name": name, "unit": unit, "description": description, "n": v.len(),
                       "mean": mean, "sd": 0.0, "min": lo, "p5": lo, "median": mean, "p95": hi, "max": hi})
            })
            .collect();
        let summary = json!({
            "exosim_version": "0.1.0", "campaign": "synthetic", "fingerprint": "0123456789abcdef",
            "runs": self.rows.len(),
            "design": {"method": self.method, "rows": self.rows.len(), "points": null, "levels": null,
                       "parameters": k, "seed": 1, "replicates": 1, "bootstrap": 100, "confidence": 0.95},
            "parameters": self.parameters.iter().map(|(n, u)| json!({"name": n, "unit": u, "description": ""})).collect::<Vec<_>>(),
            "observables": observables,
            "failed": self.failures.len(),
            "failures": self.failures.iter().map(|(p, m)| json!({"point": p, "message": m})).collect::<Vec<_>>(),
            "sensitivity": [], "sensitivity_skipped": {}
        });
        fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    }
}

#[test]
fn a_grid_of_two_parameters_draws_one_line_per_value_of_the_second() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("grid");
    // lod × volume, last parameter fastest; d50 = f(lod, volume) in metres.
    let (lods, volumes) = ([1e2, 1e3, 1e4, 1e5], [10.0, 100.0, 1000.0]);
    let d50 = |l: f64, v: f64| 0.009 + 1e-3 * l.log10() - 1e-4 * v.log10();
    let rows = lods
        .iter()
        .flat_map(|&l| volumes.iter().map(move |&v| vec![l, v, d50(l, v)]))
        .collect();
    Synthetic {
        method: "grid",
        parameters: vec![
            ("biopsy.tests.t.lod", "/mL"),
            ("biopsy.tests.t.input_volume", "uL"),
        ],
        observables: vec![("d50", "m", "detectable_diameter: smallest tumour diameter")],
        rows,
        failures: vec![],
    }
    .write(&dir);
    let html = report(&dir);
    let spec = figure_spec(&html, "d50 over the grid");
    let traces = spec["data"].as_array().unwrap();
    assert_eq!(traces.len(), 3, "one line per input volume");
    for (t, &v) in traces.iter().zip(&volumes) {
        assert_eq!(t["name"], format!("biopsy.tests.t.input_volume = {v} uL"));
        let (x, y) = (numbers(&t["x"]), numbers(&t["y"]));
        assert_eq!(x, lods, "ascending detection limits");
        for (&l, &shown) in lods.iter().zip(&y) {
            let mm = d50(l, v) * 1e3;
            assert!((shown - mm).abs() < 1e-4 * mm, "{l} {v}: {shown} mm");
        }
    }
    assert_eq!(
        spec["layout"]["xaxis"]["type"], "log",
        "detection limits over decades"
    );
    assert!(html.contains("d50 (mm)"), "the reader's unit");
    for ext in ["svg", "png"] {
        assert!(
            dir.join(FIGURES_DIR)
                .join(format!("grid_d50.{ext}"))
                .is_file()
        );
    }
    assert!(
        !html.contains("<section id=\"sensitivity\""),
        "no indices for a grid"
    );
}

#[test]
fn a_large_campaign_draws_a_fixed_sample_and_lists_its_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("large");
    let n = 6000;
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let u = (f64::from(i) + 0.5) / f64::from(n);
            let t = if i == 17 { f64::NAN } else { 300.0 + 400.0 * u };
            vec![u, t, 0.2 + 0.1 * u]
        })
        .collect();
    Synthetic {
        method: "latin_hypercube",
        parameters: vec![("body.mps.capacity", "")],
        observables: vec![
            ("t_half", "s", "initial_half_life: time from the blood peak"),
            ("liver_1h", "1", "fraction_of_dose: vesicles in the place"),
        ],
        rows,
        failures: vec![(17, "the solver gave up at t = 3 s")],
    }
    .write(&dir);
    let html = report(&dir);
    assert!(html.contains(&format!("{MAX_SCATTER_POINTS} of the 6000 runs are drawn")));
    let spec = figure_spec(&html, "t_half against body.mps.capacity");
    assert_eq!(
        numbers(&spec["data"][0]["x"]).len(),
        MAX_SCATTER_POINTS - usize::from(sampled(17))
    );
    assert!(
        html.contains("the solver gave up at t = 3 s"),
        "the failure's message"
    );
    assert!(html.contains("1 of 6000"), "failed runs counted");
    // Two plots of 5000 points: well under a megabyte besides plotly.js.
    let data = html.len() - exosim_report::page::plotly_js().len();
    assert!(data < 1_000_000, "{data} bytes besides plotly.js");
    // Histograms count every run with a value, in the reader's unit.
    let counts = numbers(&figure_spec(&html, "t_half")["data"][0]["y"]);
    assert_eq!(counts.iter().sum::<f64>(), f64::from(n - 1));
    assert!(html.contains("t_half (min)") && html.contains("liver_1h (%)"));
}

/// Whether row `i` of 6000 is among the drawn sample.
fn sampled(i: usize) -> bool {
    exosim_report::campaign_page::sample_rows(6000, MAX_SCATTER_POINTS).contains(&i)
}

/// Copies `from` (files only) to `to`.
fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Damages a copy of `good` and returns the refusal; fails if a page or
/// a figure is written.
fn refused(good: &Path, name: &str, damage: impl FnOnce(&Path)) -> String {
    let copy_dir = good.parent().unwrap().join(name);
    copy(good, &copy_dir);
    damage(&copy_dir);
    let err = match exosim_report::write(&copy_dir) {
        Ok(_) => panic!("{name}: accepted"),
        Err(e) => e.to_string(),
    };
    assert!(!copy_dir.join(REPORT_FILE).exists(), "{name}: page written");
    assert!(
        !copy_dir.join(FIGURES_DIR).exists(),
        "{name}: figures written"
    );
    err
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    fs::write(path, f(fs::read_to_string(path).unwrap())).unwrap();
}

/// How a folder is damaged.
type Damage = Box<dyn FnOnce(&Path)>;

fn remove(files: &'static [&'static str]) -> Damage {
    Box::new(move |d| {
        files
            .iter()
            .for_each(|f| fs::remove_file(d.join(f)).unwrap())
    })
}

fn replace(file: &'static str, from: &'static str, to: &'static str) -> Damage {
    Box::new(move |d| edit(&d.join(file), |t| t.replacen(from, to, 1)))
}

/// Keeps the first `lines` lines of `file` (cut at a line boundary).
fn keep_lines(file: &'static str, lines: usize) -> Damage {
    Box::new(move |d| {
        edit(&d.join(file), |t| {
            t.lines().take(lines).map(|l| format!("{l}\n")).collect()
        })
    })
}

/// Cuts `file` to `share` of its bytes (inside a line, or a JSON value).
fn cut(file: &'static str, share: f64) -> Damage {
    Box::new(move |d| {
        edit(&d.join(file), |t| {
            t[..(t.len() as f64 * share) as usize].to_string()
        })
    })
}

/// Each damage, by name, and what its refusal must say (the file first).
fn damages() -> Vec<(&'static str, Damage, &'static [&'static str])> {
    let shard: Damage = Box::new(|d| {
        fs::remove_file(d.join("summary.json")).unwrap();
        fs::write(d.join("part-1-of-2.json"), "{}").unwrap();
    });
    vec![
        (
            "no_summary",
            remove(&["summary.json"]),
            &["summary.json", "did not finish"],
        ),
        (
            "cut_summary",
            cut("summary.json", 0.5),
            &["summary.json", "not valid JSON"],
        ),
        (
            "no_observables",
            replace("summary.json", "\"observables\"", "\"observablez\""),
            &["summary.json", "`observables`"],
        ),
        (
            "rows_cut",
            keep_lines("campaign.csv", 10),
            &["campaign.csv", "9 rows", "28 runs"],
        ),
        (
            "line_cut",
            cut("campaign.csv", 0.995),
            &["campaign.csv", "row 29"],
        ),
        (
            "no_tables",
            remove(&["campaign.csv", "campaign.parquet"]),
            &["campaign.parquet", "missing"],
        ),
        (
            "column_renamed",
            replace("campaign.csv", "liver_4h", "liver_5h"),
            &["campaign.csv", "`liver_4h`"],
        ),
        (
            "no_indices",
            remove(&["sensitivity.csv"]),
            &["sensitivity.csv", "missing"],
        ),
        (
            "index_of_no_parameter",
            replace(
                "sensitivity.csv",
                "body.mps.capacity",
                "body.mps.capacitance",
            ),
            &[
                "sensitivity.csv",
                "column `parameter`",
                "body.mps.capacitance",
            ],
        ),
        (
            "indices_cut",
            keep_lines("sensitivity.csv", 5),
            &["sensitivity.csv", "4 rows"],
        ),
        (
            "shard_part",
            shard,
            &["summary.json", "part-1-of-2.json", "exosim merge"],
        ),
    ]
}

#[test]
fn damaged_campaign_folders_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    rvg_campaign(&good, "saltelli", 4);
    for (name, damage, expected) in damages() {
        let err = refused(&good, name, damage);
        for e in expected {
            assert!(err.contains(e), "{name}: `{e}` not in: {err}");
        }
    }
    // The control: the undamaged folder gives a page.
    report(&good);
    // Without its CSV (a campaign of more than 100,000 runs writes none),
    // the rows come from the Parquet table.
    let parquet_only = tmp.path().join("parquet_only");
    copy(&good, &parquet_only);
    fs::remove_file(parquet_only.join("campaign.csv")).unwrap();
    let html = report(&parquet_only);
    assert!(
        html.contains("<th>rows read from</th><td>campaign.parquet</td>"),
        "rows read from the Parquet table"
    );
    assert!(html.contains("all 28 runs are drawn"));
}
