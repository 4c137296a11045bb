//! The report over real run directories (the embedded demo and shipped
//! studies, run through the library) and a hand-made tissue fixture:
//! self-containment, sections present only for outputs that exist, static
//! figures, and located errors without half-written files for broken
//! directories.

use std::fs;
use std::path::{Path, PathBuf};

use exosim_report::{REPORT_FILE, ReportError, RunDir};

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
