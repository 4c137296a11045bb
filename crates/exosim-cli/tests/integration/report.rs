//! End-to-end tests of the report: `exosim demo`, `exosim run --report` and
//! `exosim report` write `report.html`, and the page draws in headless
//! Chromium — every figure drawn (a non-empty plot SVG or a decoded image),
//! no script or console error, nothing fetched over the network (the browser
//! is given no name resolution) — with a screenshot kept for people to look at.
//!
//! Chromium is Debian's `chromium`, which `.ci/run` installs. Without it
//! these tests fail, unless `EXOSIM_SKIP_BROWSER=1` asks to skip the
//! browser part (the pages are still written and checked for their path).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::common::exosim;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Where screenshots and dumped pages are kept after the test.
fn keep_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-e2e");
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The browser, or `None` when skipping was asked for; fails loudly otherwise.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|p| ["chromium", "chromium-browser"].map(|n| p.join(n)))
            .find(|p| p.is_file())
    });
    match found {
        Some(p) => Some(p),
        None if std::env::var("EXOSIM_SKIP_BROWSER").as_deref() == Ok("1") => {
            // libtest shows a passing test's output only on request, so the
            // skip is in the test's name (`…_or_skip`) and printed on stdout
            // for `--nocapture` runs and CI logs.
            println!(
                "SKIPPED: EXOSIM_SKIP_BROWSER=1 and chromium not found: the report was NOT checked in a browser"
            );
            None
        }
        None => panic!(
            "chromium not found on PATH: install it (`apt-get install -y chromium`, as .ci/run does) \
             or set EXOSIM_SKIP_BROWSER=1 to skip the browser check knowingly"
        ),
    }
}

/// Runs headless Chromium on `page` with `extra` arguments; returns stdout.
fn headless(browser: &Path, page: &Path, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let out = Command::new("timeout")
        .arg("180")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // No name resolution: anything the page tried to fetch would fail and show.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            // Let the page's promises settle before the DOM is dumped.
            "--virtual-time-budget=60000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(&url)
        .output()
        .expect("chromium starts");
    assert!(
        out.status.success(),
        "chromium failed ({:?}) on {url}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Opens `page` in headless Chromium and returns the status line the page
/// writes once every figure has drawn.
fn status_in_browser(browser: &Path, page: &Path, name: &str) -> serde_json::Value {
    let dom = headless(browser, page, &["--dump-dom"]);
    fs::write(keep_dir().join(format!("{name}.dom.html")), &dom).unwrap();
    let marker = "<pre id=\"exosim-report-status\"";
    let start = dom
        .find(marker)
        .unwrap_or_else(|| panic!("no status line in the dumped DOM of {}", page.display()));
    let body_start = start + dom[start..].find('>').unwrap() + 1;
    let body_end = body_start + dom[body_start..].find("</pre>").unwrap();
    let text = dom[body_start..body_end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    assert!(
        !text.is_empty(),
        "the page never finished drawing: {}",
        page.display()
    );
    serde_json::from_str(&text).expect("status is JSON")
}

/// Checks in headless Chromium that every figure of `page` drew, without
/// errors or fetches; keeps a screenshot named `name`.
pub(crate) fn check_in_browser(page: &Path, name: &str) {
    let html = fs::read_to_string(page).unwrap();
    let expected = html.matches(" data-plot=\"").count() + html.matches(" data-image=\"").count();
    assert!(expected > 0, "{} has no figures", page.display());
    let Some(browser) = chromium() else { return };
    let status = status_in_browser(&browser, page, name);
    assert_eq!(
        status["errors"],
        serde_json::json!([]),
        "console or script errors"
    );
    assert_eq!(status["fetched"], serde_json::json!([]), "network fetches");
    assert_eq!(
        status["missing"],
        serde_json::json!([]),
        "figures not drawn"
    );
    assert_eq!(status["expected"], expected, "every figure accounted for");
    assert_eq!(status["drawn"], expected);
    assert_eq!(status["status"], "ok");
    let keep = keep_dir();
    let shot = keep.join(format!("{name}.png"));
    headless(
        &browser,
        page,
        &[
            "--hide-scrollbars",
            "--window-size=1400,2400",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..4], b"\x89PNG");
    fs::copy(page, keep.join(format!("{name}.html"))).unwrap();
    eprintln!(
        "{name}: {expected} figures drawn; screenshot {}",
        shot.display()
    );
}

#[test]
fn demo_writes_its_report_and_the_page_draws_in_chromium_or_skip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let stdout = ok(&exosim([
        "demo".as_ref(),
        "-q".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]));
    let page = dir.join("report.html");
    assert!(
        stdout.contains(&format!("report: {}", page.display())),
        "demo prints the page's path: {stdout}"
    );
    assert!(dir.join("figures/blood.svg").is_file());
    check_in_browser(&page, "demo");
    // Running the demo again replaces its own results, report included.
    ok(&exosim([
        "demo".as_ref(),
        "-q".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]));
}

#[test]
fn every_kind_of_output_draws_in_chromium_or_skip() {
    let tmp = tempfile::tempdir().unwrap();
    // Biopsy through `run --report`, then tissue and deconvolution outputs
    // added and the page remade with `exosim report`.
    let dir = tmp.path().join("screening");
    ok(&exosim([
        "run".as_ref(),
        repo("studies/screening_ovarian.toml").as_os_str(),
        "-q".as_ref(),
        "--report".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]));
    assert!(
        dir.join("report.html").is_file(),
        "run --report writes the page"
    );
    let fixture = repo("crates/exosim-report/tests/fixtures/tissue_run");
    fs::copy(
        fixture.join("tissue_timeseries.csv"),
        dir.join("tissue_timeseries.csv"),
    )
    .unwrap();
    for variant in ["control", "inhibitor"] {
        let to = dir.join("tissue_snapshots").join(variant);
        fs::create_dir_all(&to).unwrap();
        for e in fs::read_dir(fixture.join("tissue_snapshots").join(variant)).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    // The report refuses tissue tables without the summary's tissue part.
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
    };
    let mut summary = read(&dir.join("summary.json"));
    summary["tissue"] = read(&fixture.join("summary.json"))["tissue"].clone();
    fs::write(dir.join("summary.json"), summary.to_string()).unwrap();
    ok(&exosim([
        "deconvolve".as_ref(),
        repo("studies/deconvolution/reference.csv").as_os_str(),
        repo("studies/deconvolution/sample.csv").as_os_str(),
        "--bootstrap".as_ref(),
        "50".as_ref(),
        "-o".as_ref(),
        dir.join("deconvolution.csv").as_os_str(),
    ]));
    let stdout = ok(&exosim(["report".as_ref(), dir.as_os_str()]));
    let page = dir.join("report.html");
    assert_eq!(stdout.trim(), page.display().to_string());
    let html = fs::read_to_string(&page).unwrap();
    for id in ["biopsy", "tissue", "deconvolution"] {
        assert!(html.contains(&format!("<section id=\"{id}\"")), "{id}");
    }
    check_in_browser(&page, "biopsy_tissue_deconvolution");

    let dir = tmp.path().join("signature");
    ok(&exosim([
        "run".as_ref(),
        repo("studies/autoimmune_panel.toml").as_os_str(),
        "-q".as_ref(),
        "--report".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]));
    check_in_browser(&dir.join("report.html"), "signature");
}

#[test]
fn report_of_a_broken_directory_names_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let out = exosim(["report".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("summary.json") && err.contains("not a finished exosim run"),
        "{err}"
    );
    assert!(!tmp.path().join("report.html").exists());
}

#[test]
fn the_browser_check_sees_an_undrawn_figure_a_console_error_and_a_fetch_or_skip() {
    // A control for the check itself: a page with a figure that has no data,
    // a script that logs an error and an image from the network must fail.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    ok(&exosim([
        "demo".as_ref(),
        "-q".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]));
    let Some(browser) = chromium() else { return };
    let page = dir.join("report.html");
    let html = fs::read_to_string(&page).unwrap();
    let broken = html.replacen(
        "</main>",
        "<div class=\"plot\" id=\"fig-x-1\" data-plot=\"empty\"></div>\
         <script type=\"application/json\" id=\"fig-x-1-spec\">{\"data\": []}</script>\
         <img src=\"http://example.invalid/x.png\" alt=\"\">\
         <script>console.error('deliberate');</script></main>",
        1,
    );
    let bad = dir.join("broken.html");
    fs::write(&bad, broken).unwrap();
    let status = status_in_browser(&browser, &bad, "control");
    assert_eq!(status["status"], "problems");
    assert_eq!(status["missing"], serde_json::json!(["fig-x-1 (empty)"]));
    let errors = status["errors"].to_string();
    assert!(errors.contains("deliberate"), "{errors}");
    assert!(
        errors.contains("example.invalid"),
        "failed load recorded: {errors}"
    );
}

/// The shipped test of barrier dysfunction: `--report` shows each
/// condition's level, sensitivity and AUC with its ROC curves; a ROC file
/// cut short is refused with its name, and the page is not rewritten.
#[test]
fn a_blood_test_of_conditions_gets_its_section_and_a_cut_roc_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("gbt");
    let study = crate::common::repo_root().join("studies/gut_barrier_blood_test.toml");
    let run = exosim([
        "run".as_ref(),
        study.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
        "--report".as_ref(),
    ]);
    assert!(run.status.success(), "{}", crate::common::stderr(&run));
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Blood tests of conditions"));
    for condition in ["ibd", "mucositis", "hiv"] {
        assert!(page.contains(&format!("{condition} (AUC ")), "{condition}");
    }
    let roc = out.join("biopsy_roc_lps_digital_ibd.csv");
    let text = fs::read_to_string(&roc).unwrap();
    let cut: Vec<&str> = text.lines().take(5).collect();
    fs::write(&roc, cut.join("\n") + "\n").unwrap();
    fs::remove_file(out.join("report.html")).unwrap();
    let report = exosim(["report".as_ref(), out.as_os_str()]);
    assert!(!report.status.success());
    assert!(
        crate::common::stderr(&report).contains("biopsy_roc_lps_digital_ibd.csv"),
        "{}",
        crate::common::stderr(&report)
    );
    assert!(!out.join("report.html").exists());
}

/// The shipped biopsy draw read by instruments: `--report` shows every
/// reading beside its truth and each tube's populations (the tumour's
/// vesicles among lipoproteins); a lipoprotein share outside [0, 1] in
/// the summary is refused with its field named.
#[test]
fn instruments_on_a_biopsy_draw_get_their_section_and_a_bad_share_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("draw");
    let study = crate::common::repo_root().join("studies/biopsy_draw_nta.toml");
    let run = exosim([
        "run".as_ref(),
        study.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
        "--report".as_ref(),
    ]);
    assert!(run.status.success(), "{}", crate::common::stderr(&run));
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<h2>Instruments</h2>"), "no section");
    assert!(page.contains("The tube of test `digital_plasma`: a 1 mm tumour"));
    assert!(page.contains("marker background"));
    let summary = out.join("summary.json");
    let text = fs::read_to_string(&summary).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["instruments"][0]["lipoprotein_share"] = serde_json::json!(1.5);
    fs::write(&summary, v.to_string()).unwrap();
    let report = exosim(["report".as_ref(), out.as_os_str()]);
    assert!(!report.status.success());
    assert!(
        crate::common::stderr(&report).contains("instruments[0].lipoprotein_share"),
        "{}",
        crate::common::stderr(&report)
    );
}
