//! ABC-SMC calibration of a stochastic tissue study
//! (docs/calibration.md#abc-smc): the sampler's laws are tested on
//! closed forms in `campaign::abc::smc`'s unit tests; here, the campaign
//! around it: the shipped spheroid's parameters found again from its own
//! data, the files, a resume after an interruption, and the refusals.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use exosim::campaign::Campaign;
use exosim::campaign::abc::run;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped spheroid campaign with each `(key, line)` of `edits`
/// putting `line` in place of the line starting `key = ` (or appended to
/// `[abc]`), written into `dir`.
fn campaign_in(dir: &Path, edits: &[(&str, &str)]) -> Result<Campaign, String> {
    let shipped =
        std::fs::read_to_string(repo().join("campaigns/spheroid_growth_abc.toml")).unwrap();
    let mut text = shipped
        .replace(
            "../studies/spheroid_growth.toml",
            &repo()
                .join("studies/spheroid_growth.toml")
                .display()
                .to_string(),
        )
        .replace(
            "../data/spheroid_growth_synthetic.csv",
            &repo()
                .join("data/spheroid_growth_synthetic.csv")
                .display()
                .to_string(),
        );
    for (key, line) in edits {
        let lines: Vec<String> = text.lines().map(String::from).collect();
        match lines
            .iter()
            .position(|l| l.starts_with(&format!("{key} = ")))
        {
            Some(i) => {
                let mut lines = lines;
                lines[i] = line.to_string();
                text = lines.join("\n");
            }
            None => text = text.replace("[abc]\n", &format!("[abc]\n{line}\n")),
        }
    }
    let path = dir.join("abc.toml");
    std::fs::write(&path, text).unwrap();
    Campaign::load(&path).map_err(|e| e.to_string())
}

/// Small settings for a test: `population` particles, `generations`,
/// tolerances at the 0.3 quantile.
fn small(population: u64, generations: u64) -> [(String, String); 3] {
    [
        ("population".into(), format!("population = {population}")),
        ("generations".into(), format!("generations = {generations}")),
        ("quantile".into(), "quantile = 0.3".into()),
    ]
}

fn small_campaign(dir: &Path, population: u64, generations: u64) -> Campaign {
    let edits = small(population, generations);
    let edits: Vec<(&str, &str)> = edits
        .iter()
        .map(|(k, l)| (k.as_str(), l.as_str()))
        .collect();
    campaign_in(dir, &edits).unwrap()
}

/// The data are one run of the study at division time 8 h and release
/// 100 /h per cell: the 95 % credible intervals hold both, and are far
/// narrower than the priors (2–48 h, 10–1000 /h, log-uniform).
#[test]
fn abc_smc_finds_a_spheroids_division_time_and_release_rate_again() {
    let tmp = tempfile::tempdir().unwrap();
    let campaign = small_campaign(tmp.path(), 30, 3);
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report = run::calibrate(&campaign, &out, |_, _| {}).unwrap();
    let truth = [8.0, 100.0];
    let prior_width = [(48f64 / 2.0).ln(), (1000f64 / 10.0).ln()];
    for ((p, t), w) in report.posteriors.iter().zip(truth).zip(prior_width) {
        println!(
            "{}: median {:.3} [{:.3}, {:.3}] {} (truth {t})",
            p.path, p.median, p.low, p.high, p.unit
        );
        assert!(p.low <= t && t <= p.high, "{p:?} holds {t}");
        assert!(
            (p.high / p.low).ln() < 0.5 * w,
            "{p:?} narrower than its prior"
        );
    }
    let eps: Vec<f64> = report
        .generations
        .iter()
        .filter_map(|g| g.epsilon)
        .collect();
    assert!(
        eps.windows(2).all(|w| w[1] < w[0]),
        "tolerances shrink: {eps:?}"
    );
    for f in run::FILES {
        assert!(out.join(f).is_file(), "{f} is written");
    }
    assert!(
        !out.join(run::STATE_FILE).exists(),
        "the state is removed at the end"
    );
    let posterior = std::fs::read_to_string(out.join("abc_posterior.csv")).unwrap();
    assert_eq!(posterior.lines().count(), 1 + 30, "one line per particle");
    let weights: f64 = posterior
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((weights - 1.0).abs() < 1e-12, "weights sum to 1: {weights}");
    // The posterior predictive of each row holds its datum.
    let fit = std::fs::read_to_string(out.join("abc_fit.csv")).unwrap();
    for line in fit.lines().skip(1) {
        let cells: Vec<&str> = line.rsplitn(4, ',').collect();
        let (high, low) = (
            cells[0].parse::<f64>().unwrap(),
            cells[1].parse::<f64>().unwrap(),
        );
        let value: f64 = line.split(',').nth_back(4).unwrap().parse().unwrap();
        assert!(low <= value && value <= high, "{line}");
    }
}

/// A run stopped after its second generation (here by a progress hook
/// that panics, as Ctrl-C from Python does) resumes from its saved state
/// and writes the same bytes as a run never stopped.
#[test]
fn an_interrupted_abc_smc_resumes_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let campaign = campaign_in(
        tmp.path(),
        &[
            ("population", "population = 10"),
            ("generations", "generations = 2"),
        ],
    )
    .unwrap();
    let whole = tmp.path().join("whole");
    let stopped = tmp.path().join("stopped");
    for d in [&whole, &stopped] {
        std::fs::create_dir(d).unwrap();
    }
    let report = run::calibrate(&campaign, &whole, |_, _| {}).unwrap();
    println!(
        "runs: {}, generations: {:?}",
        report.runs, report.generations
    );
    let interrupted = catch_unwind(AssertUnwindSafe(|| {
        run::calibrate(&campaign, &stopped, |done, _| {
            if done == 2 {
                panic!("stopped");
            }
        })
    }));
    assert!(interrupted.is_err());
    assert!(stopped.join(run::STATE_FILE).is_file(), "the state is kept");
    assert!(
        !stopped.join("abc.json").exists(),
        "no result before the end"
    );
    run::calibrate(&campaign, &stopped, |_, _| {}).unwrap();
    for f in run::FILES {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(stopped.join(f)).unwrap(),
            "{f}"
        );
    }
    // Another campaign's state is refused, not silently reused.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(
        other.join(run::STATE_FILE),
        r#"{"fingerprint":"x","sampled":{}}"#,
    )
    .unwrap();
    assert!(run::calibrate(&campaign, &other, |_, _| {}).is_err());
}

/// Wrong settings are refused at their key, with a hint.
#[test]
fn abc_settings_are_checked_at_their_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("quantile = 1.5", "quantile", "(0, 1)"),
        ("min_acceptance = 0.0", "min_acceptance", "(0, 1]"),
        ("tolerance = -1.0", "tolerance", "greater than zero"),
        ("particles = 5", "particles", "unknown field"),
    ];
    for (extra, key, expect) in cases {
        let e = campaign_in(tmp.path(), &[(key, extra)]).unwrap_err();
        assert!(e.contains(expect) && e.contains(key), "{extra}: {e}");
        assert!(e.contains("abc.toml:"), "located in the campaign file: {e}");
    }
    let e = campaign_in(tmp.path(), &[("population", "population = 5")]).unwrap_err();
    assert!(e.contains("population") && e.contains("use 10 to"), "{e}");
    // A maximum-likelihood key in [calibration] is named as such.
    let with_starts = "error_model = \"log_normal\"\nstarts = 4";
    let e = campaign_in(tmp.path(), &[("error_model", with_starts)]).unwrap_err();
    assert!(
        e.contains("`starts` belongs to a maximum-likelihood calibration"),
        "{e}"
    );
    let path = tmp.path().join("abc.toml");
    campaign_in(tmp.path(), &[]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // [abc] under another method.
    std::fs::write(
        &path,
        text.replace("method = \"abc_smc\"", "method = \"calibration\""),
    )
    .unwrap();
    let e = Campaign::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("an [abc] table without method = \"abc_smc\""),
        "{e}"
    );
}
