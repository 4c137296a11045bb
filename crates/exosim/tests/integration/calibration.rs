//! Calibration recovers what made the data: parameters of a mouse body
//! study fitted to data simulated by exosim with noise fall within their
//! profile-likelihood intervals; on a one-compartment decay the maximum
//! likelihood under log-normal error is the log-linear regression; a
//! campaign's calibration writes its files and resumes.

use std::path::Path;
use std::time::Instant;

use exosim::campaign::Campaign;
use exosim::campaign::calibration::{Scale, check, run};

/// A fast study (mouse, one class, 2 h, output every 10 min), blood and
/// liver shares of the dose at 7 times (the file's values only name the
/// measurements: each synthetic data set brings its own), and a campaign estimating the MPS
/// capacity and the liver's degradation rate.
pub fn fast_campaign() -> Campaign {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/calibration");
    Campaign::load(&dir.join("campaign.toml")).unwrap()
}

/// The values that make the synthetic data: capacity 0.4, liver
/// degradation 0.1 /h.
const TRUTH: [f64; 2] = [0.4, 0.1];

#[test]
fn estimates_of_noisy_synthetic_data_hold_the_truth_in_their_intervals() {
    let campaign = fast_campaign();
    let cal = campaign.calibration.as_ref().unwrap();
    let exact = run::predict(&campaign, cal, &TRUTH).unwrap();
    let clock = Instant::now();
    let data = check::synthetic(cal, &exact, 0.05, 2026, 0);
    let fitted = check::fit(&campaign, &data);
    let evaluations: u64 =
        fitted.starts.iter().map(|s| s.evaluations).sum::<u64>() + fitted.profile_evaluations;
    eprintln!(
        "fit: {evaluations} runs in {:.2} s",
        clock.elapsed().as_secs_f64()
    );
    for (j, (s, (lo, hi))) in cal.scales.iter().zip(&fitted.intervals).enumerate() {
        let (est, low, high) = (s.value(fitted.best.u[j]), s.value(lo.u), s.value(hi.u));
        eprintln!(
            "parameter {j}: {est:.4} [{low:.4}, {high:.4}], truth {}",
            TRUTH[j]
        );
        assert!(
            low < est && est < high,
            "the estimate lies inside its interval"
        );
        assert!(
            low <= TRUTH[j] && TRUTH[j] <= high,
            "the interval holds the truth"
        );
        assert!(!lo.open && !hi.open, "5 % noise bounds both parameters");
        assert!(high / low < 3.0, "an informative interval: [{low}, {high}]");
    }
    // Without noise, the estimate is the truth.
    let exact_data = check::synthetic(cal, &exact, 1e-6, 2026, 0);
    let fitted = check::fit(&campaign, &exact_data);
    for (j, s) in cal.scales.iter().enumerate() {
        let est = s.value(fitted.best.u[j]);
        assert!((est / TRUTH[j] - 1.0).abs() < 1e-3, "{est} vs {}", TRUTH[j]);
    }
}

#[test]
fn coverage_of_the_95_percent_intervals_over_eight_data_sets() {
    // The 50-set figure is examples/calibration_coverage.rs; eight sets
    // here: with a true coverage of 95 %, 5 or fewer of 8 happens with
    // probability 0.6 %.
    let campaign = fast_campaign();
    let c = check::coverage(&campaign, &TRUTH, 0.05, 8, 7).unwrap();
    for j in 0..2 {
        eprintln!(
            "parameter {j}: {} of 8 intervals hold the truth",
            c.covered(j)
        );
        assert!(
            c.covered(j) >= 6,
            "coverage of parameter {j}: {}",
            c.covered(j)
        );
    }
}

/// −log L of a one-compartment decay C0·e^(−k t) under log-normal error
/// with σ estimated: the MLE of (ln C0, k) is the least-squares line of
/// ln y on t, whatever σ.
#[test]
fn one_compartment_log_normal_mle_is_the_log_linear_regression() {
    use exosim::campaign::calibration::likelihood::{ErrorModel, Likelihood, Sigma};
    let t = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0];
    let noise: [f64; 6] = [0.08, -0.12, 0.05, 0.1, -0.07, 0.02];
    let y: Vec<f64> = t
        .iter()
        .zip(noise)
        .map(|(t, e)| 8.0 * (-0.9 * t + e).exp())
        .collect();
    let l = Likelihood {
        model: ErrorModel::LogNormal,
        sigma: Sigma::Estimated,
        values: y.clone(),
    };
    let scales = [
        Scale {
            low: 0.5,
            high: 50.0,
            log: true,
        },
        Scale {
            low: 0.05,
            high: 5.0,
            log: true,
        },
    ];
    let f = |u: &[f64]| {
        let (c0, k) = (scales[0].value(u[0]), scales[1].value(u[1]));
        let fitted: Vec<f64> = t.iter().map(|t| c0 * (-k * t).exp()).collect();
        l.nll(&fitted)
    };
    let fit = run::estimate(&f, 2, 4, 3, 400, 0.95, Vec::new(), &|_| {});
    let (c0, k) = (
        scales[0].value(fit.best.u[0]),
        scales[1].value(fit.best.u[1]),
    );
    // Ordinary least squares of ln y on t.
    let n = t.len() as f64;
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let (mt, my) = (t.iter().sum::<f64>() / n, ly.iter().sum::<f64>() / n);
    let sxy: f64 = t.iter().zip(&ly).map(|(t, l)| (t - mt) * (l - my)).sum();
    let sxx: f64 = t.iter().map(|t| (t - mt).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mt;
    assert!(
        (k - (-slope)).abs() < 1e-4 * k,
        "k {k} vs regression {}",
        -slope
    );
    assert!(
        (c0.ln() - intercept).abs() < 1e-4,
        "ln C0 {} vs {intercept}",
        c0.ln()
    );
    assert!(
        fit.starts
            .iter()
            .all(|s| (s.cost - fit.best.cost).abs() < 1e-6),
        "one optimum"
    );
}

#[test]
fn a_calibration_writes_its_files_and_a_rerun_resumes_from_saved_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let campaign = fast_campaign();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let whole = run::calibrate(&campaign, &out, |_, _| {}).unwrap();
    for f in run::FILES {
        assert!(out.join(f).is_file(), "{f} is written");
    }
    assert!(
        !out.join(run::STATE_FILE).exists(),
        "the state is removed at the end"
    );
    let csv = std::fs::read_to_string(out.join("calibration_fit.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 7, "one line per data row");
    assert!(csv.starts_with("line,name,observable,unit,time_s,value,sd,fitted,residual"));
    // An interrupted run: the state holds the first two starts; the rerun
    // runs only the third and gives the same estimates.
    let saved: Vec<serde_json::Value> = whole
        .starts
        .iter()
        .take(2)
        .map(|s| {
            let scales = &campaign.calibration.as_ref().unwrap().scales;
            let u = |v: &[f64]| -> Vec<f64> {
                v.iter()
                    .zip(scales)
                    .map(|(x, s)| s.coordinate(*x))
                    .collect()
            };
            serde_json::json!({
                "index": s.index, "from": u(&s.from), "to": u(&s.to),
                "cost": s.neg_log_likelihood, "evaluations": s.evaluations,
            })
        })
        .collect();
    let resumed_dir = tmp.path().join("resumed");
    std::fs::create_dir(&resumed_dir).unwrap();
    let state = serde_json::json!({"fingerprint": campaign.fingerprint, "starts": saved});
    std::fs::write(resumed_dir.join(run::STATE_FILE), state.to_string()).unwrap();
    let resumed = run::calibrate(&campaign, &resumed_dir, |_, _| {}).unwrap();
    assert_eq!(resumed.starts.len(), 3);
    for (a, b) in whole.estimates.iter().zip(&resumed.estimates) {
        assert!(
            (a.estimate / b.estimate - 1.0).abs() < 1e-9,
            "{a:?} vs {b:?}"
        );
    }
    // A state of another calibration is refused, not silently reused.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(
        other.join(run::STATE_FILE),
        r#"{"fingerprint":"x","starts":[]}"#,
    )
    .unwrap();
    assert!(run::calibrate(&campaign, &other, |_, _| {}).is_err());
}

/// The fixture's campaign with `[calibration]` and the first parameter's
/// law replaced, in `dir` beside the fixture's study and a data file.
fn campaign_with(dir: &Path, calibration: &str, law: &str, data: &str) -> Result<Campaign, String> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/calibration");
    std::fs::write(dir.join("d.csv"), data).unwrap();
    let text = format!(
        "[campaign]\nname = \"c\"\nstudy = \"{}\"\n[design]\nmethod = \"calibration\"\n\
         [calibration]\ndata = \"d.csv\"\n{calibration}\n[[parameters]]\n\
         path = \"body.mps.capacity\"\n{law}\n",
        fixture.join("study.toml").display()
    );
    let path = dir.join("c.toml");
    std::fs::write(&path, text).unwrap();
    Campaign::load(&path).map_err(|e| e.to_string())
}

#[test]
fn contradictory_or_missing_error_settings_are_refused_at_their_key() {
    let tmp = tempfile::tempdir().unwrap();
    let uniform = "distribution = \"uniform\"\nlow = 0.1\nhigh = 1.0";
    let with_sd = "kind,place,time,value,sd\nfraction_of_dose,blood,10 min,0.5,0.05\n";
    let without = "kind,place,time,value\nfraction_of_dose,blood,10 min,0.5\n";
    let cases = [
        ("sigma = 0.2", uniform, with_sd, "`sd` column and `sigma`"),
        (
            "error_model = \"proportional\"",
            uniform,
            with_sd,
            "proportional",
        ),
        (
            "",
            uniform,
            without,
            "no `sd` column in the data and no `error_model`",
        ),
        (
            "error_model = \"gaussian\"",
            uniform,
            without,
            "error_model",
        ),
        (
            "error_model = \"additive\"\nsigma = -1.0",
            uniform,
            without,
            "sigma",
        ),
        ("starts = 0", uniform, with_sd, "starts"),
        ("resamples = 50", uniform, with_sd, "sizes a bootstrap"),
        (
            "intervals = \"bootstrap\"\nresamples = 5",
            uniform,
            with_sd,
            "resamples",
        ),
        ("intervals = \"jackknife\"", uniform, with_sd, "bootstrap"),
    ];
    for (calibration, law, data, expect) in cases {
        let e = campaign_with(tmp.path(), calibration, law, data).unwrap_err();
        assert!(e.contains(expect), "{calibration} / {law}: {e}");
        assert!(e.contains("c.toml:"), "located in the campaign file: {e}");
    }
    // And the good ones load.
    assert!(campaign_with(tmp.path(), "", uniform, with_sd).is_ok());
    let log_normal = "error_model = \"log_normal\"";
    assert!(campaign_with(tmp.path(), log_normal, uniform, without).is_ok());
}

/// A normal prior makes the fit maximum a posteriori: a prior far
/// narrower than what the data say holds the estimate at its mean, and
/// the report says which objective it was.
#[test]
fn a_narrow_prior_holds_the_maximum_a_posteriori_at_its_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let data = "kind,place,time,value,sd
fraction_of_dose,blood,10 min,0.5,0.05
\
                fraction_of_dose,blood,30 min,0.3,0.03\n";
    let flat = campaign_with(
        tmp.path(),
        "starts = 2",
        "distribution = \"uniform\"\nlow = 0.1\nhigh = 1.0",
        data,
    )
    .unwrap();
    let free = check::fit(&flat, flat.calibration.as_ref().unwrap());
    let free_estimate = flat.calibration.as_ref().unwrap().scales[0].value(free.best.u[0]);
    let law = "distribution = \"normal\"\nmean = 0.7\nsd = 0.001";
    let campaign = campaign_with(tmp.path(), "starts = 2", law, data).unwrap();
    let cal = campaign.calibration.as_ref().unwrap();
    assert!(cal.priors[0].is_some());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report = run::calibrate(&campaign, &out, |_, _| {}).unwrap();
    assert_eq!(report.objective, "maximum_a_posteriori");
    let e = &report.estimates[0];
    assert!((e.estimate - 0.7).abs() < 0.001, "{e:?}");
    assert!(
        (free_estimate - 0.7).abs() > 0.01,
        "the data alone say otherwise: {free_estimate}"
    );
    assert!(
        e.low > 0.69 && e.high < 0.71,
        "the prior bounds the interval: {e:?}"
    );
    let posterior = report.neg_log_posterior.unwrap();
    assert!(posterior != report.neg_log_likelihood);
}

/// A σ per group (`sigma_per`): blood shares measured with 2 % log-normal
/// noise and liver shares with 40 %, fitted once with one σ for all rows
/// and once with a σ per place. The σ per place tells the two precisions
/// apart (the blood's σ̂ several times below the liver's), fits better by
/// AIC despite its extra σ, and keeps the truth in its intervals.
#[test]
fn a_sigma_per_group_tells_precise_from_noisy_measurements() {
    use exosim::campaign::calibration::likelihood::{ErrorModel, Sigma};
    use rand::RngExt;
    let campaign = fast_campaign();
    let cal = campaign.calibration.as_ref().unwrap();
    let exact = run::predict(&campaign, cal, &TRUTH).unwrap();
    let mut rng = exosim::random::stream(7, 0xD47A, 0);
    let mut data = cal.clone();
    for (row, f) in data.data.rows.iter_mut().zip(&exact) {
        let sigma = if row.spec.place.as_deref() == Some("blood") {
            0.02
        } else {
            0.4
        };
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        row.value = f * (sigma * z).exp();
        row.sd = None;
    }
    data.likelihood.model = ErrorModel::LogNormal;
    data.likelihood.values = data.data.rows.iter().map(|r| r.value).collect();
    let (group, names) = data.data.groups_by("place").unwrap();
    assert_eq!(names, ["blood", "liver"]);
    let one = {
        let mut c = data.clone();
        c.likelihood.sigma = Sigma::Estimated;
        c
    };
    data.likelihood.sigma = Sigma::PerGroup { group, names };
    let mut aic = Vec::new();
    for (what, c) in [("one σ", &one), ("σ per place", &data)] {
        let fitted = check::fit(&campaign, c);
        let theta: Vec<f64> = (c.scales.iter().enumerate())
            .map(|(j, s)| s.value(fitted.best.u[j]))
            .collect();
        let prediction = run::predict(&campaign, c, &theta).unwrap();
        let k = c.scales.len() + c.likelihood.estimated_sigmas();
        aic.push(2.0 * k as f64 + 2.0 * c.likelihood.nll(&prediction));
        let sigmas = c.likelihood.group_sigmas(&prediction);
        eprintln!(
            "{what}: θ {theta:?}, σ {sigmas:?}, AIC {:.3}",
            aic[aic.len() - 1]
        );
        if sigmas.len() == 2 {
            assert!(
                sigmas[0] * 4.0 < sigmas[1],
                "blood {} liver {}",
                sigmas[0],
                sigmas[1]
            );
            for (j, (s, (lo, hi))) in c.scales.iter().zip(&fitted.intervals).enumerate() {
                let (low, high) = (s.value(lo.u), s.value(hi.u));
                assert!(low <= TRUTH[j] && TRUTH[j] <= high, "{j}: [{low}, {high}]");
            }
        }
    }
    assert!(
        aic[1] < aic[0],
        "AIC one σ {} vs per place {}",
        aic[0],
        aic[1]
    );
}

/// `sigma_per` end to end from the files: `calibration.json` lists each
/// group's σ and rows, and counts both σ among the parameters; a column
/// the data lack, a group of one row, or a σ per group beside an `sd`
/// column are refused at `calibration.sigma_per`.
#[test]
fn sigma_per_group_from_the_files_and_its_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let uniform = "distribution = \"uniform\"\nlow = 0.1\nhigh = 1.0";
    let grouped = "kind,place,time,value,group\n\
        fraction_of_dose,blood,10 min,0.5,elisa\nfraction_of_dose,blood,30 min,0.3,elisa\n\
        fraction_of_dose,blood,1 h,0.1,nta\nfraction_of_dose,blood,2 h,0.02,nta\n";
    let settings = "error_model = \"log_normal\"\nsigma_per = \"group\"\nstarts = 2";
    let campaign = campaign_with(tmp.path(), settings, uniform, grouped).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let report = run::calibrate(&campaign, &out, |_, _| {}).unwrap();
    assert_eq!(report.sigma_source, "estimated_per_group");
    assert_eq!(report.sigma, None);
    let groups: Vec<(&str, usize)> = (report.sigma_groups.iter())
        .map(|g| (g.group.as_str(), g.rows))
        .collect();
    assert_eq!(groups, [("elisa", 2), ("nta", 2)]);
    assert!(report.sigma_groups.iter().all(|g| g.sigma > 0.0));
    assert_eq!(report.estimated, 3);
    let json = std::fs::read_to_string(out.join("calibration.json")).unwrap();
    assert!(json.contains("\"sigma_groups\""), "{json}");
    let with_sd = "kind,place,time,value,sd,group\n\
        fraction_of_dose,blood,10 min,0.5,0.05,a\nfraction_of_dose,blood,30 min,0.3,0.03,a\n";
    let lonely = "kind,place,time,value\n\
        fraction_of_dose,blood,10 min,0.5\nfraction_of_dose,blood,30 min,0.3\n\
        fraction_of_dose,liver,30 min,0.3\n";
    let cases = [
        ("sigma_per = \"group\"", with_sd, "the sd column or sigma"),
        (
            "error_model = \"additive\"\nsigma_per = \"group\"",
            lonely,
            "no column `group`",
        ),
        (
            "error_model = \"additive\"\nsigma_per = \"place\"",
            lonely,
            "`liver` of column `place` has 1 row",
        ),
        (
            "error_model = \"additive\"\nsigma = 0.1\nsigma_per = \"place\"",
            lonely,
            "σ is given",
        ),
    ];
    for (settings, data, expect) in cases {
        let e = campaign_with(tmp.path(), settings, uniform, data).unwrap_err();
        assert!(e.contains(expect), "{settings}: {e}");
        assert!(e.contains("sigma_per"), "located at the key: {e}");
    }
}

/// The parametric bootstrap of a linear-Gaussian model is exact: for a
/// one-compartment decay C0·e^(−k t) under log-normal error of known σ,
/// ln y is linear in (ln C0, k), so the refitted k* of data drawn at the
/// estimate are normal with mean k̂ and sd σ/√Sxx (the regression's
/// standard error). 400 resamples: their mean within 4 standard errors of
/// k̂, their sd within 4 standard errors (sd/√(2B)) of σ/√Sxx, and the 95 %
/// percentile interval within 10 % of k̂ ± 1.96 σ/√Sxx.
#[test]
fn bootstrap_of_a_log_linear_decay_has_the_regression_standard_error() {
    use exosim::campaign::calibration::bootstrap;
    use exosim::campaign::calibration::likelihood::{ErrorModel, Likelihood, Sigma};
    let t = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0];
    let sigma = 0.1;
    let scales = [
        Scale {
            low: 0.5,
            high: 50.0,
            log: true,
        },
        Scale {
            low: 0.05,
            high: 5.0,
            log: true,
        },
    ];
    let curve = |u: &[f64]| -> Vec<f64> {
        let (c0, k) = (scales[0].value(u[0]), scales[1].value(u[1]));
        t.iter().map(|t| c0 * (-k * t).exp()).collect()
    };
    let l = Likelihood {
        model: ErrorModel::LogNormal,
        sigma: Sigma::Fixed(sigma),
        values: [0.08, -0.12, 0.05, 0.1, -0.07, 0.02]
            .iter()
            .zip(t)
            .map(|(e, t)| 8.0 * (-0.9 * t + e).exp())
            .collect(),
    };
    let f = |u: &[f64]| l.nll(&curve(u));
    let fit = run::estimate(&f, 2, 4, 3, 400, 0.95, Vec::new(), &|_| {});
    let k_hat = scales[1].value(fit.best.u[1]);
    let cost_with = |l: &Likelihood, u: &[f64]| l.nll(&curve(u));
    let b = 400u64;
    let indices: Vec<u64> = (0..b).collect();
    let fitted = curve(&fit.best.u);
    let resamples = bootstrap::refit(&cost_with, &l, &fitted, &fit.best.u, &indices, 9, 400);
    let k: Vec<f64> = resamples.iter().map(|s| scales[1].value(s.to[1])).collect();
    let mean = k.iter().sum::<f64>() / b as f64;
    let sd = (k.iter().map(|k| (k - mean).powi(2)).sum::<f64>() / (b - 1) as f64).sqrt();
    let mt = t.iter().sum::<f64>() / t.len() as f64;
    let se = sigma / t.iter().map(|t| (t - mt).powi(2)).sum::<f64>().sqrt();
    eprintln!("k̂ {k_hat:.5}: bootstrap mean {mean:.5}, sd {sd:.5}, regression se {se:.5}");
    assert!((mean - k_hat).abs() < 4.0 * se / (b as f64).sqrt());
    assert!((sd - se).abs() < 4.0 * se / (2.0 * b as f64).sqrt());
    let (lo, hi) = bootstrap::percentile_intervals(&resamples, 2, 0.95)[1];
    let (lo, hi) = (scales[1].value(lo.u), scales[1].value(hi.u));
    eprintln!(
        "95 %: [{lo:.5}, {hi:.5}] vs k̂ ± 1.96 se [{:.5}, {:.5}]",
        k_hat - 1.96 * se,
        k_hat + 1.96 * se
    );
    assert!((lo - (k_hat - 1.96 * se)).abs() < 0.1 * 1.96 * se);
    assert!((hi - (k_hat + 1.96 * se)).abs() < 0.1 * 1.96 * se);
}

/// Bootstrap intervals end to end on the fixture (5 % noise, sd known):
/// they hold the truth and are close to the profile's; the resamples are
/// written; the same bytes on 1 and 2 threads; and a calibration stopped
/// with half its resamples saved resumes to the same bytes.
#[test]
fn bootstrap_intervals_from_the_files_are_reproducible_and_resume() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/calibration");
    let campaign = fast_campaign();
    let cal = campaign.calibration.as_ref().unwrap();
    let exact = run::predict(&campaign, cal, &TRUTH).unwrap();
    let data = check::synthetic(cal, &exact, 0.05, 2026, 0);
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("kind,place,time,value,sd\n");
    for r in &data.data.rows {
        let time = r.spec.time.unwrap().si();
        csv += &format!(
            "fraction_of_dose,{},{time} s,{},{}\n",
            r.spec.place.as_deref().unwrap(),
            r.value,
            r.sd.unwrap()
        );
    }
    std::fs::write(tmp.path().join("data.csv"), csv).unwrap();
    std::fs::copy(fixture.join("study.toml"), tmp.path().join("study.toml")).unwrap();
    let text = std::fs::read_to_string(fixture.join("campaign.toml"))
        .unwrap()
        .replace(
            "max_evaluations = 150",
            "max_evaluations = 150\nintervals = \"bootstrap\"\nresamples = 40",
        );
    std::fs::write(tmp.path().join("campaign.toml"), text).unwrap();
    let campaign = exosim::campaign::Campaign::load(&tmp.path().join("campaign.toml")).unwrap();
    let run_in = |name: &str, threads: usize| {
        let out = tmp.path().join(name);
        std::fs::create_dir_all(&out).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let report = pool
            .install(|| run::calibrate(&campaign, &out, |_, _| {}))
            .unwrap();
        (
            report,
            std::fs::read(out.join(run::BOOTSTRAP_FILE)).unwrap(),
        )
    };
    let (report, one) = run_in("one", 1);
    let (_, two) = run_in("two", 2);
    assert_eq!(one, two, "the same resamples on 1 and 2 threads");
    assert_eq!(report.intervals, "bootstrap");
    assert_eq!(report.resamples.as_ref().unwrap().drawn, 40);
    assert_eq!(String::from_utf8_lossy(&one).lines().count(), 41);
    let profile = check::fit(&fast_campaign(), &data);
    for (j, e) in report.estimates.iter().enumerate() {
        let s = cal.scales[j];
        let (plo, phi) = (
            s.value(profile.intervals[j].0.u),
            s.value(profile.intervals[j].1.u),
        );
        eprintln!(
            "{}: {:.4} bootstrap [{:.4}, {:.4}] profile [{plo:.4}, {phi:.4}]",
            e.path, e.estimate, e.low, e.high
        );
        assert!(e.low <= TRUTH[j] && TRUTH[j] <= e.high);
        let width = (e.high - e.low) / (phi - plo);
        assert!((0.5..2.0).contains(&width), "widths {width}");
    }
    // A run stopped after half the resamples: its state keeps the starts
    // and 20 resamples; the rerun refits the rest to the same bytes.
    let out = tmp.path().join("resumed");
    std::fs::create_dir_all(&out).unwrap();
    let state = tmp.path().join("one-state.json");
    let fitted = run::fit_runs(
        &campaign,
        campaign.calibration.as_ref().unwrap(),
        run::Finished::default(),
        &|f| {
            if f.resamples.len() >= 20 && !state.exists() {
                let json = serde_json::json!({"fingerprint": campaign.fingerprint, "starts": f.starts, "resamples": f.resamples});
                std::fs::write(&state, json.to_string()).unwrap();
            }
        },
    );
    assert_eq!(fitted.resamples.len(), 40);
    std::fs::copy(&state, out.join(run::STATE_FILE)).unwrap();
    run::calibrate(&campaign, &out, |_, _| {}).unwrap();
    assert_eq!(std::fs::read(out.join(run::BOOTSTRAP_FILE)).unwrap(), one);
}

/// A tissue observable in the data gets its fitted curve too, read on
/// the tissue's own output rows: at 0 h the spheroid's 20 placed cells,
/// at the end the row's fitted value.
#[test]
fn a_tissue_row_gets_a_fitted_curve_on_the_tissues_output_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let study = std::fs::read_to_string(repo.join("studies/spheroid_growth.toml"))
        .unwrap()
        .replace("output_interval = \"12 h\"", "output_interval = \"3 h\"");
    std::fs::write(tmp.path().join("study.toml"), study).unwrap();
    std::fs::write(
        tmp.path().join("d.csv"),
        "kind,cell_type,value\ncells,tumour,54\n",
    )
    .unwrap();
    let text = "[campaign]\nname = \"c\"\nstudy = \"study.toml\"\n[design]\nmethod = \"calibration\"\n\
                [calibration]\ndata = \"d.csv\"\nerror_model = \"log_normal\"\nsigma = 0.1\nstarts = 1\n\
                max_evaluations = 20\n[[parameters]]\npath = \"tissue.cell_types.tumour.division_time\"\n\
                distribution = \"log_uniform\"\nlow = \"4 h\"\nhigh = \"16 h\"\n";
    std::fs::write(tmp.path().join("c.toml"), text).unwrap();
    let campaign = Campaign::load(&tmp.path().join("c.toml")).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    run::calibrate(&campaign, &out, |_, _| {}).unwrap();
    let curves = std::fs::read_to_string(out.join("calibration_curves.csv")).unwrap();
    let rows: Vec<(String, f64, f64)> = curves
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (
                c[0].to_string(),
                c[1].parse().unwrap(),
                c[2].parse().unwrap(),
            )
        })
        .collect();
    let times: Vec<f64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(times, [0.0, 10800.0, 21600.0, 32400.0, 43200.0], "{curves}");
    assert!(rows.iter().all(|r| r.0 == "cells tumour"), "{curves}");
    assert_eq!(rows[0].2, 20.0, "the placed cells at 0 h");
    let fit = std::fs::read_to_string(out.join("calibration_fit.csv")).unwrap();
    let fitted: f64 = fit
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(7)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        rows[4].2, fitted,
        "the curve ends at the row's fitted value"
    );
    assert!(
        rows.windows(2).all(|w| w[1].2 >= w[0].2),
        "cells only divide: {curves}"
    );
}
