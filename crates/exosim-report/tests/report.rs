//! The report over real run directories (the embedded demo and shipped
//! studies, run through the library) and a hand-made tissue fixture:
//! self-containment, sections present only for outputs that exist, static
//! figures, and located errors without half-written files for broken
//! directories.

use std::fs;
use std::path::{Path, PathBuf};

use exosim_report::{REPORT_FILE, ReportError, RunDir};

mod common;
use common::figure_spec;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Runs a study through the library and writes its files into `dir`.
fn run_into(study: &exosim::scenario::Study, dir: &Path) {
    let result = exosim::run::run(study, |_| {}).expect("study runs");
    exosim::output::prepare_dir(dir, false).unwrap();
    exosim::run::write(dir, study, &result).unwrap();
}

fn demo_run(dir: &Path) {
    let study = exosim::scenario::parse_study(exosim::DEMO_STUDY, "<demo>").unwrap();
    run_into(&study, dir);
}

fn shipped_run(name: &str, dir: &Path) {
    let study = exosim::scenario::load_study(&repo(&format!("studies/{name}.toml"))).unwrap();
    run_into(&study, dir);
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The hand-made tissue run (`tests/fixtures/tissue_run`), copied into `dir`.
fn tissue_run(dir: &Path) {
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tissue_run"),
        dir,
    );
}

/// Every place where the page's markup (outside inline script bodies, which
/// are code and data, not references) points at the network: `src`/`href`
/// to http(s) or protocol-relative URLs, CSS `url(...)` or `@import`.
fn network_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut markup = String::new();
    let mut rest = 0;
    while let Some(open) = lower[rest..].find("<script") {
        let open = rest + open;
        let tag_end = open + lower[open..].find('>').expect("script tag closes");
        markup.push_str(&lower[rest..=tag_end]);
        let close = tag_end
            + lower[tag_end..]
                .find("</script>")
                .expect("script element closes");
        rest = close;
    }
    markup.push_str(&lower[rest..]);
    let mut found = Vec::new();
    for pattern in [
        "src=\"http",
        "src='http",
        "src=http",
        "src=\"//",
        "href=\"http",
        "href='http",
        "href=http",
        "href=\"//",
        "url(http",
        "url(\"http",
        "url('http",
        "url(//",
        "@import",
    ] {
        for (i, _) in markup.match_indices(pattern) {
            found.push(markup[i..(i + 80).min(markup.len())].to_string());
        }
    }
    found
}

fn section_ids(html: &str) -> Vec<String> {
    html.match_indices("<section id=\"")
        .map(|(i, m)| {
            let start = i + m.len();
            html[start..start + html[start..].find('"').unwrap()].to_string()
        })
        .collect()
}

fn report(dir: &Path) -> String {
    let written =
        exosim_report::write(dir).unwrap_or_else(|e| panic!("report of {}: {e}", dir.display()));
    fs::read_to_string(written.html).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn pages_reference_nothing_over_the_network_and_inline_plotly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (demo, screening, tissue) = (
        tmp.path().join("demo"),
        tmp.path().join("screening"),
        tmp.path().join("tissue"),
    );
    demo_run(&demo);
    shipped_run("screening_ovarian", &screening);
    tissue_run(&tissue);
    for dir in [&demo, &screening, &tissue] {
        let html = report(dir);
        assert_eq!(
            network_references(&html),
            Vec::<String>::new(),
            "{}",
            dir.display()
        );
        // The library once per page, however many figures.
        assert_eq!(html.matches("plotly.js v").count(), 1, "{}", dir.display());
        assert!(html.matches("data-plot=").count() >= 1);
        // Page weight: the library plus at most 2 MB of figures and tables
        // (curves are thinned; MathJax, which the crate also embeds, is left out).
        let data = html.len() - exosim_report::page::plotly_js().len();
        assert!(
            data < 2_000_000,
            "{}: {data} bytes besides plotly.js",
            dir.display()
        );
    }
    // The checker itself finds what it is meant to find.
    let bad = "<script src=\"https://cdn.plot.ly/x.js\"></script><link href='http://x/y.css'>\
               <style>@import 'a.css';</style><script>var a = 'src=\"http://ok-in-code\"';</script>";
    assert_eq!(
        network_references(bad).len(),
        3,
        "{:?}",
        network_references(bad)
    );
}

#[test]
fn body_only_run_has_no_tissue_biopsy_or_signature_section() {
    let tmp = tempfile::tempdir().unwrap();
    demo_run(tmp.path());
    let html = report(tmp.path());
    assert_eq!(section_ids(&html), ["summary", "body", "about"]);
    assert!(!html.contains("Liquid biopsy") && !html.contains("Snapshots"));
    // Every figure has its data, and the closing section documents the run.
    for (i, _) in html.match_indices("data-plot=") {
        let id_start = html[..i].rfind("id=\"").unwrap() + 4;
        let id = &html[id_start..id_start + html[id_start..].find('"').unwrap()];
        assert!(
            html.contains(&format!("id=\"{id}-spec\"")),
            "{id} has no data"
        );
    }
    assert!(html.contains("exosim version") && html.contains("The resolved study"));
    assert!(
        html.contains("&quot;cardiac_output&quot;"),
        "resolved study shown"
    );
    // Static figures for papers: blood curves and the shares at each report time.
    for stem in ["blood", "fraction_of_dose_3600s", "fraction_of_dose_86400s"] {
        let svg = fs::read_to_string(tmp.path().join(format!("figures/{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{stem}");
        let png = fs::read(tmp.path().join(format!("figures/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}");
    }
    let bars = fs::read_to_string(tmp.path().join("figures/fraction_of_dose_3600s.svg")).unwrap();
    assert!(bars.contains("\nliver\n"), "places named under their bars");
}

/// A run with a release inhibitor: its drug columns
/// (`ARM/drug_concentration/DRUG`, `ARM/release_factor/DRUG`) are not
/// read as vesicle counts, and the body section renders.
#[test]
fn a_release_inhibitor_run_reports_its_body() {
    let tmp = tempfile::tempdir().unwrap();
    shipped_run("mouse_release_inhibitor", tmp.path());
    let html = report(tmp.path());
    assert_eq!(section_ids(&html), ["summary", "body", "about"]);
}

/// A production plan beside its body arms gets its own section: the
/// plan, where every vesicle released went (the shares of released add up
/// to 1), the doses a batch makes, and the harvests.
#[test]
fn a_production_plan_gets_its_section() {
    let tmp = tempfile::tempdir().unwrap();
    shipped_run("human_phase1_production", tmp.path());
    let html = report(tmp.path());
    assert_eq!(
        section_ids(&html),
        ["summary", "body", "production", "about"]
    );
    let run = RunDir::load(tmp.path()).unwrap();
    let p = run.production.as_ref().expect("production read");
    let out: f64 = p.ledger[1..].iter().sum();
    assert!((out / p.ledger[0] - 1.0).abs() < 1e-12, "{:?}", p.ledger);
    assert_eq!(p.harvests.len(), 25);
    assert_eq!(p.doses.as_ref().unwrap().batches_needed, Some(2.0));
    for text in [
        "Where every vesicle released went",
        "doses per batch",
        "Harvests",
    ] {
        assert!(html.contains(text), "{text}");
    }
}

#[test]
fn signature_only_run_has_no_body_section() {
    let tmp = tempfile::tempdir().unwrap();
    shipped_run("autoimmune_panel", tmp.path());
    let html = report(tmp.path());
    assert_eq!(section_ids(&html), ["summary", "signature", "about"]);
    assert!(html.contains("Markers alone: lupus"));
    // No static body figure for a run without a body.
    assert!(!tmp.path().join("figures/blood.svg").exists());
}

#[test]
fn biopsy_run_shows_detection_roc_and_static_figures() {
    let tmp = tempfile::tempdir().unwrap();
    shipped_run("screening_ovarian", tmp.path());
    let html = report(tmp.path());
    assert_eq!(section_ids(&html), ["summary", "biopsy", "about"]);
    assert!(html.contains("ROC curves") && html.contains("Screening"));
    for stem in ["detection_probability", "roc"] {
        let svg = fs::read_to_string(tmp.path().join(format!("figures/{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<path") || svg.contains("<polyline"));
        let png = fs::read(tmp.path().join(format!("figures/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}

#[test]
fn tissue_outputs_render_per_variant_group_and_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    tissue_run(tmp.path());
    let run = RunDir::load(tmp.path()).unwrap();
    let tissue = run.tissue.as_ref().expect("tissue outputs found");
    let series = tissue.series.as_ref().unwrap();
    assert_eq!(series.variants(), ["control", "inhibitor"]);
    assert_eq!(series.replicates.len(), 4);
    assert_eq!(tissue.snapshots.len(), 2);
    // First and last frames only, whatever lies between.
    let frames: Vec<u64> = tissue.snapshots[0]
        .frames
        .iter()
        .map(|f| f.number)
        .collect();
    assert_eq!(frames, [0, 4]);
    assert_eq!(tissue.snapshots[0].available, 3);
    assert_eq!(tissue.snapshots[0].frames[1].vesicles.len(), 165);
    let html = report(tmp.path());
    assert_eq!(section_ids(&html), ["summary", "tissue", "about"]);
    for variant in ["control", "inhibitor"] {
        for title in [
            "Cell counts",
            "State summaries (means per cell type)",
            "Vesicles by place",
            "Uptakes and kills",
            "Mass balance error",
            // `oxygen_mean` follows no known prefix: shown, not refused.
            "Other series",
        ] {
            assert!(
                html.contains(&format!("data-plot=\"{title}: {variant}\"")),
                "{title}: {variant}"
            );
        }
    }
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 4);
    assert!(
        html.contains("cells.tumour.final"),
        "summary's tissue object flattened"
    );
    assert!(html.contains("sEV vesicles"), "vesicle legend");
    assert!(
        tmp.path()
            .join("figures/tissue_cells_control.png")
            .is_file()
    );
}

#[test]
fn deconvolution_estimates_are_shown_when_present() {
    let tmp = tempfile::tempdir().unwrap();
    tissue_run(tmp.path());
    fs::write(
        tmp.path().join("deconvolution.csv"),
        "sample,source,fraction,lower,upper\npatient_1,platelet,0.6,0.5,0.7\npatient_1,tumour,0.4,0.3,0.5\n",
    )
    .unwrap();
    let html = report(tmp.path());
    assert!(section_ids(&html).contains(&"deconvolution".to_string()));
    assert!(html.contains("Sources of the vesicles (deconvolution.csv)"));
}

#[test]
fn missing_summary_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    demo_run(tmp.path());
    fs::remove_file(tmp.path().join("summary.json")).unwrap();
    let err = exosim_report::write(tmp.path()).unwrap_err();
    assert!(matches!(err, ReportError::NoSummary { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("summary.json") && msg.contains("not a finished exosim run"),
        "{msg}"
    );
    // The run's manifest and files, and nothing of a report.
    assert_eq!(
        names(tmp.path()),
        [
            ".exosim-manifest.json",
            "timeseries.csv",
            "timeseries.parquet"
        ]
    );
}

#[test]
fn truncated_csv_is_named_with_its_line_and_leaves_the_old_report() {
    let tmp = tempfile::tempdir().unwrap();
    demo_run(tmp.path());
    let old = report(tmp.path());
    // Cut the file in the middle of its last line, as a full disk or a
    // killed copy would.
    let path = tmp.path().join("timeseries.csv");
    let text = fs::read_to_string(&path).unwrap();
    let lines = text.lines().count();
    fs::write(&path, &text[..text.len() - 200]).unwrap();
    let err = exosim_report::write(tmp.path()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("timeseries.csv"), "{msg}");
    assert!(
        msg.contains(&format!("row {lines}")),
        "names the cut line: {msg}"
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join(REPORT_FILE)).unwrap(),
        old
    );
    assert!(!names(tmp.path()).iter().any(|n| n.ends_with(".tmp")));
}

#[test]
fn truncated_summary_and_missing_announced_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    shipped_run("screening_ovarian", tmp.path());
    let summary = tmp.path().join("summary.json");
    let text = fs::read_to_string(&summary).unwrap();
    fs::write(&summary, &text[..text.len() / 2]).unwrap();
    let err = exosim_report::write(tmp.path()).unwrap_err();
    assert!(matches!(err, ReportError::Json { .. }), "{err:?}");
    assert!(err.to_string().contains("summary.json"), "{err}");

    fs::write(&summary, &text).unwrap();
    fs::remove_file(tmp.path().join("biopsy_curve.csv")).unwrap();
    let err = exosim_report::write(tmp.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ReportError::MissingFile { .. }), "{err:?}");
    assert!(
        msg.contains("biopsy_curve.csv") && msg.contains("blood test"),
        "{msg}"
    );

    fs::write(
        tmp.path().join("biopsy_curve.csv"),
        "diameter_m,x/probability\n",
    )
    .unwrap();
    let msg = exosim_report::write(tmp.path()).unwrap_err().to_string();
    assert!(
        msg.contains("biopsy_curve.csv") && msg.contains("no data rows"),
        "{msg}"
    );
    assert!(!tmp.path().join(REPORT_FILE).exists());
}

#[test]
fn broken_tissue_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    tissue_run(tmp.path());
    let path = tmp.path().join("tissue_timeseries.csv");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, &text[..text.len() - 12]).unwrap();
    let msg = exosim_report::write(tmp.path()).unwrap_err().to_string();
    assert!(
        msg.contains("tissue_timeseries.csv") && msg.contains("row 21"),
        "{msg}"
    );

    fs::write(&path, text.replacen("control,1,0,6", "control,1,0,six", 1)).unwrap();
    let msg = exosim_report::write(tmp.path()).unwrap_err().to_string();
    assert!(
        msg.contains("row 2, column `cells_tumour`") && msg.contains("six"),
        "{msg}"
    );

    fs::write(&path, &text).unwrap();
    fs::write(
        tmp.path().join("tissue_snapshots/control/cells_0004.csv"),
        "time_s,type,x_m,y_m\n0,tumour,1,1\n",
    )
    .unwrap();
    let msg = exosim_report::write(tmp.path()).unwrap_err().to_string();
    assert!(
        msg.contains("cells_0004.csv") && msg.contains("`radius_m`"),
        "{msg}"
    );
    assert!(!tmp.path().join(REPORT_FILE).exists());
    assert!(
        !tmp.path().join("figures").exists(),
        "no figures before the page can be made"
    );
}

/// The caption of the figure titled `title`.
fn caption(html: &str, title: &str) -> String {
    let at = html.find(&format!("data-plot=\"{title}\"")).unwrap();
    let open = at + html[at..].find("<figcaption>").unwrap();
    let close = open + html[open..].find("</figcaption>").unwrap();
    html[open..close].to_string()
}

/// A mouse given vesicles into the peritoneum: with the depot, lymph and
/// both sinks, its places figure has more curves than the ten colours.
const IP_STUDY: &str = r#"
[study]
name = "ip_depot"
duration = "24 h"
output_interval = "10 min"
report_times = ["1 h", "24 h"]

[body]
species = "mouse"

[[vesicles]]
name = "sEV"
diameter = "100 nm"

[[doses]]
vesicles = "sEV"
route = "intraperitoneal"
amount = 1e10
"#;

#[test]
fn curves_of_one_figure_never_share_colour_and_pattern() {
    let tmp = tempfile::tempdir().unwrap();
    let study = exosim::scenario::parse_study(IP_STUDY, "ip.toml").unwrap();
    run_into(&study, tmp.path());
    let html = report(tmp.path());
    let arm = &study.arms[0].name;
    let spec = figure_spec(&html, &format!("{arm} · sEV"));
    let traces = spec["data"].as_array().unwrap();
    assert!(
        traces.len() > 10,
        "{} curves: more than the colours",
        traces.len()
    );
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for t in traces {
        let style = (
            t["line"]["color"].as_str().unwrap().to_string(),
            t["line"]["dash"].as_str().unwrap_or("solid").to_string(),
        );
        let name = t["name"].as_str().unwrap().to_string();
        if let Some((other, ..)) = seen.iter().find(|s| (s.1.clone(), s.2.clone()) == style) {
            panic!("{name} and {other} both drawn {style:?}");
        }
        seen.push((name, style.0, style.1));
    }
    let names: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert!(
        names.contains(&"peritoneal_depot") && names.contains(&"blood"),
        "{names:?}"
    );
}

#[test]
fn log_axes_leave_solver_residues_out_say_so_and_label_ticks_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    demo_run(tmp.path());
    // Residues a solver leaves near zero, in an otherwise empty depot and in
    // the blood curve's tail.
    let path = tmp.path().join("timeseries.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let depot = header
        .iter()
        .position(|h| *h == "natural/peritoneal_depot/sEV")
        .unwrap();
    let blood = header
        .iter()
        .position(|h| *h == "natural/blood/sEV")
        .unwrap();
    for (line, col, value) in [
        (5, depot, "3.6e-13"),
        (6, depot, "-3.6e-13"),
        (7, blood, "1e-16"),
    ] {
        let mut f: Vec<String> = lines[line].split(',').map(str::to_string).collect();
        f[col] = value.into();
        lines[line] = f.join(",");
    }
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    let html = report(tmp.path());
    let spec = figure_spec(&html, "natural · sEV");
    let y = &spec["layout"]["yaxis"];
    assert_eq!(y["type"], "log");
    let range: Vec<f64> = y["range"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // 1e10 dosed: the axis starts within nine decades (and its margin) of the top.
    assert!(range[0] > 0.0 && range[1] < 10.6, "{range:?}");
    let cap = caption(&html, "natural · sEV");
    assert!(cap.contains("On the log axis, values below"), "{cap}");
    // The depot holding only residues is not drawn.
    let traces: Vec<&str> = spec["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!traces.contains(&"peritoneal_depot"), "{traces:?}");
    // Ticks: whole decades, labelled as plain numbers or powers of ten.
    let text: Vec<&str> = y["ticktext"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(text.len() >= 3, "{text:?}");
    for t in &text {
        assert!(
            ["1", "10", "100", "1000"].contains(t) || t.starts_with("10") && t.chars().count() > 2,
            "tick `{t}` in {text:?}"
        );
    }
    // The figure without residues says nothing of the kind.
    let cap = caption(&html, "cd47_coat · sEV_CD47");
    assert!(!cap.contains("values below"), "{cap}");
}

#[test]
fn summary_shows_targeted_organs_and_delivery_at_every_report_time() {
    let tmp = tempfile::tempdir().unwrap();
    shipped_run("rvg_brain_targeting", tmp.path());
    let run = RunDir::load(tmp.path()).unwrap();
    let body = run.body.as_ref().unwrap();
    let study = &run.summary["resolved_study"];
    let (headers, rows) = body.destination_table(study);
    // Two columns per report time: 1 h, 4 h, 24 h, 48 h.
    assert_eq!(headers.len(), 3 + 2 * 4, "{headers:?}");
    assert_eq!(
        headers[3..5],
        ["present at 1 h", "delivered by 1 h"],
        "{headers:?}"
    );
    assert!(headers[10].starts_with("delivered by 2"), "{headers:?}");
    // The brain: shown for the RVG class, whose ligand targets it, though it
    // holds far less than liver or spleen.
    let brain = rows
        .iter()
        .find(|r| r[0] == "RVG" && r[2] == "brain (RVG target)")
        .unwrap_or_else(|| panic!("{rows:?}"));
    let untargeted: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "untargeted").collect();
    assert_eq!(
        untargeted.len(),
        exosim_report::body::TOP_PLACES,
        "{untargeted:?}"
    );
    assert!(untargeted.iter().all(|r| !r[2].starts_with("brain")));
    // Delivered to the brain by 48 h is more than is there at 48 h: the brain
    // degrades what it took up (0.1 per hour).
    let pct = |s: &str| s.trim_end_matches(" %").parse::<f64>().unwrap();
    let (present, delivered) = (pct(&brain[9]), pct(&brain[10]));
    assert!(delivered > 5.0 * present && present > 0.0, "{brain:?}");
    let html = report(tmp.path());
    assert!(html.contains("<h3>Where the vesicles go</h3>"), "heading");
    assert!(html.contains("<td>brain (RVG target)</td>"), "brain row");
}

#[test]
fn tables_use_the_readers_units() {
    let tmp = tempfile::tempdir().unwrap();
    demo_run(tmp.path());
    let html = report(tmp.path());
    let run = RunDir::load(tmp.path()).unwrap();
    let pk = &run.summary["vesicles"][0]["pk"];
    // Concentrations per mL, AUC in h/mL, volumes in mL, clearance in µL/min.
    for header in ["Cmax (/mL)", "AUC∞ (h/mL)", "Vss (mL)", "CL (µL/min)"] {
        assert!(html.contains(&format!("<th>{header}</th>")), "{header}");
    }
    assert!(!html.contains("/m³"), "no SI concentration left in a table");
    let cmax = exosim_report::format::num(pk["c_max"].as_f64().unwrap() * 1e-6);
    assert!(
        html.contains(&format!("<td>{cmax}</td>")),
        "Cmax {cmax} per mL"
    );
    let cl = exosim_report::format::num(pk["clearance_m3_per_s"].as_f64().unwrap() * 6e10);
    assert!(html.contains(&format!("<td>{cl}</td>")), "CL {cl} µL/min");
}

#[test]
fn roc_figures_state_their_diameter() {
    let tmp = tempfile::tempdir().unwrap();
    shipped_run("screening_ovarian", tmp.path());
    let html = report(tmp.path());
    // studies/screening_ovarian.toml: roc_diameter = "1 cm".
    let title = "ROC curves at a tumour diameter of 10 mm";
    assert!(
        html.contains(&format!("data-plot=\"{title}\"")),
        "interactive"
    );
    assert!(caption(&html, title).contains("for tumours 10 mm in diameter"));
    let svg = fs::read_to_string(tmp.path().join("figures/roc.svg")).unwrap();
    assert!(svg.contains("10 mm"), "static figure's title");
}
