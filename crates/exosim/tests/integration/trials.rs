//! Virtual trials (docs/trials.md): the simulated power against the
//! formulas (noncentral t, Schoenfeld), the tests against SciPy, the
//! xenograft trial's biology and reproducibility, and located errors.

use std::path::{Path, PathBuf};

use exosim::biopsy::roc::wilson_interval;
use exosim::campaign::trial::analysis::{self, TrialRow};
use exosim::campaign::trial::stats::{self, ExactU, Responses, Survival};
use exosim::campaign::trial::{Endpoint, Test, Trial, event_column, power, value_column};
use exosim::campaign::{self, Campaign, Shard, merge, runner};
use exosim::output::{Column, Table};
use exosim::random::stream;
use rand_distr::{Distribution, Exp, StandardNormal};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A two-arm trial of `n` per arm on a synthetic table.
fn two_arm(endpoint: Endpoint, test: Test, n: u64, trials: u64) -> Trial {
    Trial {
        control: Some("c".into()),
        reference: None,
        arms: vec!["t".into()],
        effect: "e".into(),
        endpoint,
        time: 1.0,
        follow_up: 1.0,
        test,
        subjects: vec![n],
        trials,
        dropout: 0.0,
        alpha: 0.05,
        power: None,
        trajectory_times: Vec::new(),
    }
}

fn column(name: String, values: Vec<f64>) -> Column {
    Column {
        name,
        unit: String::new(),
        description: String::new(),
        values,
    }
}

/// `subjects` virtual subjects whose control endpoint is N(0, 1) and
/// treated endpoint N(δ, 1), independent.
fn normal_table(subjects: usize, delta: f64, seed: u64) -> Table {
    let mut rng = stream(seed, 1, 0);
    let mut draw = |shift: f64| -> Vec<f64> {
        (0..subjects)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                shift + z
            })
            .collect::<Vec<f64>>()
    };
    let (c, t) = (draw(0.0), draw(delta));
    let mut table = Table::new();
    table.push_column(column(value_column("c"), c));
    table.push_column(column(value_column("t"), t));
    table
}

/// Whether `value` lies in the 99.9 % Wilson interval of `rows`' share of
/// significant trials; prints both.
fn within(what: &str, rows: &[TrialRow], value: f64) -> bool {
    let k = rows.iter().filter(|r| r.significant).count() as u64;
    let (low, high) = wilson_interval(k, rows.len() as u64, 0.999);
    println!(
        "{what}: simulated {:.4} (99.9 %: {low:.4}–{high:.4}), formula {value:.4}",
        k as f64 / rows.len() as f64
    );
    (low..=high).contains(&value)
}

/// Student's t-test on normal endpoints: the simulated power equals the
/// noncentral-t power (Cohen 1988, ch. 2) within the Monte Carlo interval,
/// at three effect sizes. Each subject is used about once in all trials
/// (pool = trials × 2n), so the trials are independent.
#[test]
fn simulated_power_matches_the_noncentral_t() {
    let trials = 3000;
    for (delta, n) in [(0.5, 30), (0.8, 15), (1.2, 8)] {
        let table = normal_table(trials * 2 * n, delta, n as u64);
        let trial = two_arm(Endpoint::Change, Test::Student, n as u64, trials as u64);
        let a = analysis::analyse(&trial, &table, 11, 0.95);
        let want = power::noncentral_t(n as u64, delta, 0.05);
        assert!(within(&format!("δ = {delta}, n = {n}"), &a.rows, want));
    }
}

/// `subjects` times to progression, exponential with hazard `rate` in the
/// control and `rate`·`hr` in the treated arm, censored at 1.
fn survival_table(subjects: usize, rate: f64, hr: f64, seed: u64) -> Table {
    let mut rng = stream(seed, 2, 0);
    let mut table = Table::new();
    for (arm, h) in [("c", rate), ("t", rate * hr)] {
        let law = Exp::new(h).unwrap();
        let times: Vec<f64> = (0..subjects).map(|_| law.sample(&mut rng)).collect();
        let censored = times.iter().map(|&t| t.min(1.0)).collect();
        let events = times
            .iter()
            .map(|&t| f64::from(u8::from(t < 1.0)))
            .collect();
        table.push_column(column(value_column(arm), censored));
        table.push_column(column(event_column(arm), events));
    }
    table
}

/// The log-rank test on exponential times with administrative censoring:
/// the simulated power equals Schoenfeld's (1981) formula with the
/// expected number of events, at three hazard ratios. Schoenfeld's
/// formula is asymptotic for hazard ratios near 1 and few events per
/// subject: here a quarter of the controls progress, as where it is
/// meant to hold (it overstates the power by ~0.03 at HR 0.6).
#[test]
fn simulated_log_rank_power_matches_schoenfeld() {
    let (trials, rate) = (2000, 0.3);
    for (hr, n) in [(0.7, 200), (0.75, 300), (0.8, 400)] {
        let table = survival_table(trials * 2 * n, rate, hr, n as u64);
        let trial = two_arm(
            Endpoint::Progression,
            Test::LogRank,
            n as u64,
            trials as u64,
        );
        let a = analysis::analyse(&trial, &table, 12, 0.95);
        let events = n as f64 * ((1.0 - (-rate).exp()) + (1.0 - (-rate * hr).exp()));
        let want = power::schoenfeld(hr, events, 0.5, 0.05);
        assert!(within(&format!("HR {hr}, n = {n}"), &a.rows, want));
        // Peto's hazard ratio is near the true one on average.
        let mean_hr: f64 = a
            .rows
            .iter()
            .map(|r| r.result.unwrap().estimate)
            .sum::<f64>()
            / a.rows.len() as f64;
        assert!((mean_hr - hr).abs() < 0.03, "mean HR {mean_hr} vs {hr}");
    }
}

/// Dropout at a constant rate loses the share `dropout` by the end of
/// follow-up: the mean number analysed is n·(1 − dropout) within its
/// Monte Carlo error, and the power falls.
#[test]
fn dropout_loses_its_share_and_lowers_the_power() {
    let (n, trials) = (20u64, 2000u64);
    let table = normal_table(2 * n as usize * trials as usize, 0.8, 5);
    let full = two_arm(Endpoint::Change, Test::Welch, n, trials);
    let lossy = Trial {
        dropout: 0.3,
        ..full.clone()
    };
    let (a, b) = (
        analysis::analyse(&full, &table, 3, 0.95),
        analysis::analyse(&lossy, &table, 3, 0.95),
    );
    let kept: f64 = b.rows.iter().map(|r| r.n_control as f64).sum::<f64>() / trials as f64;
    let sd = (n as f64 * 0.3 * 0.7 / trials as f64).sqrt();
    assert!((kept - 14.0).abs() < 4.0 * sd, "mean kept {kept}");
    assert!(b.summary.power[0].power < a.summary.power[0].power);
}

/// The same samples through exosim's tests and SciPy's (`ttest_ind`,
/// `mannwhitneyu`, `logrank`): the same p-values to 1e-9 relative.
/// Skipped, saying so, where python3 or SciPy ≥ 1.11 is missing, unless
/// EXOSIM_REQUIRE_SALIB=1 (`.ci/run` installs SALib, which brings SciPy).
#[test]
fn tests_agree_with_scipy_or_skip() {
    let c = [4.1, 5.3, 2.2, 6.8, 5.0, 3.9, 4.4];
    let t = [6.2, 7.9, 5.1, 8.8, 6.0, 9.1];
    let tied = [4.1, 5.0, 5.0, 6.2, 3.9, 4.4, 7.0, 5.3];
    let sc: Vec<Survival> = c
        .iter()
        .enumerate()
        .map(|(i, &x)| Survival {
            time: x,
            event: i % 3 != 0,
        })
        .collect();
    let st: Vec<Survival> = t
        .iter()
        .enumerate()
        .map(|(i, &x)| Survival {
            time: x,
            event: i % 2 == 0,
        })
        .collect();
    let mut exact = ExactU::default();
    let ours = [
        stats::welch(&c, &t).unwrap().p,
        stats::student(&c, &t).unwrap().p,
        stats::mann_whitney(&c, &t, &mut exact).unwrap().p,
        stats::mann_whitney(&c, &tied, &mut exact).unwrap().p,
        stats::log_rank(&sc, &st).unwrap().p,
        stats::one_sample(&t, 6.0).unwrap().p,
        stats::fisher_exact(responses(2, 11), responses(7, 9))
            .unwrap()
            .p,
        stats::fisher_exact(responses(5, 20), responses(9, 18))
            .unwrap()
            .p,
    ];
    let script = format!(
        r#"
import sys
try:
    from scipy import stats
    stats.logrank
except Exception as e:
    print("MISSING", e); sys.exit(0)
c = {c:?}; t = {t:?}; tied = {tied:?}
def cens(x, every, keep):
    ev = [x[i] for i in range(len(x)) if (i % every != 0) == keep]
    ce = [x[i] for i in range(len(x)) if (i % every != 0) != keep]
    return stats.CensoredData(uncensored=ev, right=ce)
print(stats.ttest_ind(t, c, equal_var=False).pvalue)
print(stats.ttest_ind(t, c, equal_var=True).pvalue)
print(stats.mannwhitneyu(t, c, method="exact").pvalue)
print(stats.mannwhitneyu(tied, c, method="asymptotic").pvalue)
print(stats.logrank(cens(t, 2, False), cens(c, 3, True)).pvalue)
print(stats.ttest_1samp(t, 6.0).pvalue)
print(stats.fisher_exact([[7, 2], [2, 9]]).pvalue)
print(stats.fisher_exact([[9, 9], [5, 15]]).pvalue)
"#
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).to_string(),
        Ok(o) => format!("MISSING {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => format!("MISSING python3: {e}"),
    };
    if text.starts_with("MISSING") {
        assert!(
            std::env::var("EXOSIM_REQUIRE_SALIB").as_deref() != Ok("1"),
            "SciPy is required (EXOSIM_REQUIRE_SALIB=1): {text}"
        );
        println!("SKIPPED: the SciPy cross-check: {text}; `pip install scipy` to run it");
        return;
    }
    let theirs: Vec<f64> = text.lines().map(|l| l.trim().parse().unwrap()).collect();
    let names = [
        "welch",
        "student",
        "mann_whitney exact",
        "mann_whitney ties",
        "log_rank",
        "one-sample t",
        "fisher 7/9 vs 2/11",
        "fisher 9/18 vs 5/20",
    ];
    for ((name, a), b) in names.iter().zip(ours).zip(theirs) {
        println!("{name}: exosim {a:.12} SciPy {b:.12}");
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{name}: {a} vs {b}");
    }
}

fn responses(responders: u64, subjects: u64) -> Responses {
    Responses {
        responders,
        subjects,
    }
}

/// Fisher's exact test (Fisher 1935): the lady tasting tea, 3 of 4 cups
/// right each way, has the two-sided p = 34/70; at the most likely table
/// every table is no more likely, so its p is the sum of all the
/// hypergeometric probabilities, 1; equal rates give an estimate of 0.
#[test]
fn fisher_exact_test_follows_the_hypergeometric_law() {
    let tea = stats::fisher_exact(responses(1, 4), responses(3, 4)).unwrap();
    assert!((tea.p - 34.0 / 70.0).abs() < 1e-12, "{}", tea.p);
    assert_eq!(tea.statistic, 9.0);
    assert_eq!(tea.estimate, 0.5);
    for (c, t) in [((3, 10), (3, 10)), ((4, 13), (6, 21)), ((1, 7), (0, 5))] {
        let r = stats::fisher_exact(responses(c.0, c.1), responses(t.0, t.1)).unwrap();
        // The observed tables are the most likely ones of their margins.
        assert!((r.p - 1.0).abs() < 1e-12, "{c:?} {t:?}: {}", r.p);
    }
    assert!(stats::fisher_exact(responses(0, 0), responses(1, 3)).is_none());
}

/// The power of Fisher's test of response rates 0.2 (control) and 0.7
/// (treated) at 10 per arm: simulated from Bernoulli subjects through the
/// trial's `best_response` analysis (a responder's best volume ratio 0.2,
/// a non-responder's 1.5), within the 99.9 % interval of the exact power,
/// summed over every pair of binomial outcomes at the response rates of
/// the population drawn (60 000 subjects per arm, whose own rates differ
/// from 0.2 and 0.7 by a few thousandths, enough to move the power by
/// 0.01: a full Monte Carlo interval).
#[test]
fn simulated_fisher_power_matches_the_exact_power() {
    let (n, trials, rates) = (10u64, 3000usize, [0.2, 0.7]);
    // Response rates of the population drawn.
    let mut rng = stream(5, 3, 0);
    let mut table = Table::new();
    let mut drawn = [0.0; 2];
    for (i, (arm, rate)) in ["c", "t"].into_iter().zip(rates).enumerate() {
        let best: Vec<f64> = (0..trials * 2 * n as usize)
            .map(|_| {
                let u: f64 = rand::RngExt::random(&mut rng);
                if u < rate { -0.8 } else { 0.5 }
            })
            .collect();
        drawn[i] = best.iter().filter(|&&v| v < 0.0).count() as f64 / best.len() as f64;
        table.push_column(column(value_column(arm), best));
    }
    let trial = two_arm(Endpoint::BestResponse, Test::Fisher, n, trials as u64);
    let a = analysis::analyse(&trial, &table, 13, 0.95);
    let pmf = |k: u64, p: f64| {
        let ln_c = statrs::function::factorial::ln_binomial(n, k);
        (ln_c + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
    };
    let mut exact = 0.0;
    for x0 in 0..=n {
        for x1 in 0..=n {
            let r = stats::fisher_exact(responses(x0, n), responses(x1, n)).unwrap();
            if r.p < 0.05 {
                exact += pmf(x0, drawn[0]) * pmf(x1, drawn[1]);
            }
        }
    }
    assert!(within("Fisher, 0.2 vs 0.7, n = 10", &a.rows, exact));
}

/// The shipped xenograft trial, smaller: its text with fewer subjects and
/// trials, and `extra` lines replacing the endpoint.
#[allow(clippy::result_large_err)]
fn xenograft(endpoint: &str) -> Result<Campaign, exosim::scenario::StudyError> {
    let path = repo().join("campaigns/xenograft_trial.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("points = 240", "points = 36")
        .replace("subjects = [3, 4, 6, 8, 10, 12]", "subjects = [3, 6]")
        .replace("trials = 1000", "trials = 300")
        .replace(
            "endpoint = \"change\"\ntime = \"21 day\"\ntest = \"welch\"",
            endpoint,
        );
    Campaign::parse(&text, &path.display().to_string())
}

fn power_of(summary: &merge::Summary, arm: &str, size: u64) -> f64 {
    let t = summary.trial.as_ref().unwrap();
    t.power
        .iter()
        .find(|p| p.arm == arm && p.subjects == size)
        .unwrap()
        .power
}

/// The targeted vesicles, which deliver more drug to the tumour
/// (docs/effects.md), are told from the controls by smaller trials than
/// the untargeted ones; the power grows with the size; and two shards
/// merged give the same bytes as the whole run.
#[test]
fn xenograft_trial_power_follows_delivery_and_is_shard_independent() {
    let c = xenograft("endpoint = \"change\"\ntime = \"21 day\"").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    std::fs::create_dir_all(&whole).unwrap();
    let summary = campaign::run_whole(&c, &whole, |_, _| {}).unwrap();
    for size in [3, 6] {
        assert!(power_of(&summary, "targeted", size) > power_of(&summary, "untargeted", size));
    }
    assert!(power_of(&summary, "targeted", 6) > power_of(&summary, "targeted", 3));
    let search = &summary.trial.as_ref().unwrap().search;
    assert_eq!(search.len(), 2);
    let parts: Vec<PathBuf> = (1..=2)
        .map(|i| {
            let d = dir.path().join(format!("part{i}"));
            std::fs::create_dir_all(&d).unwrap();
            runner::run_shard(&c, Shard { index: i, count: 2 }, &d, |_, _| {}).unwrap();
            d
        })
        .collect();
    let merged = dir.path().join("merged");
    std::fs::create_dir_all(&merged).unwrap();
    merge::merge(&parts, &merged).unwrap();
    for file in [
        "summary.json",
        "trials.csv",
        "power.csv",
        "campaign.csv",
        "trajectories.parquet",
    ] {
        let (a, b) = (whole.join(file), merged.join(file));
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{file}"
        );
    }
}

/// Every subject's trajectory in every arm is written in
/// `trajectories.parquet` (a row per subject and time): at the endpoint's
/// time over time 0 it is the endpoint itself, and by default it has 25
/// output times from the start to the end. The summary lists the endpoint
/// observables only.
#[test]
fn trajectories_hold_every_subjects_course_and_agree_with_the_endpoint() {
    let c = xenograft(
        "endpoint = \"change\"\ntime = \"21 day\"\ntrajectory_times = [\"0 day\", \"7 day\", \"21 day\"]",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = campaign::run_whole(&c, dir.path(), |_, _| {}).unwrap();
    assert!(
        summary
            .observables
            .iter()
            .all(|o| !o.name.contains("trajectory")),
        "{:?}",
        summary
            .observables
            .iter()
            .map(|o| &o.name)
            .collect::<Vec<_>>()
    );
    let table = exosim::output::read_parquet(&dir.path().join("campaign.parquet")).unwrap();
    let traj = exosim::output::read_parquet(&dir.path().join("trajectories.parquet")).unwrap();
    let names: Vec<&str> = traj.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["point", "time_s", "control", "untargeted", "targeted"]
    );
    assert_eq!(traj.column("targeted").unwrap().unit, "mm3");
    let subjects = table.n_rows();
    assert_eq!(subjects, 36);
    assert_eq!(traj.n_rows(), 3 * subjects);
    let day = 86_400.0;
    for arm in ["control", "untargeted", "targeted"] {
        let endpoint = &table.column(&format!("trial.{arm}")).unwrap().values;
        let course = &traj.column(arm).unwrap().values;
        for (s, &want) in endpoint.iter().enumerate() {
            let (t0, t21) = (3 * s, 3 * s + 2);
            assert_eq!(traj.columns[1].values[t0], 0.0);
            assert_eq!(traj.columns[1].values[t21], 21.0 * day);
            assert_eq!(
                traj.columns[0].values[t0],
                table.column("point").unwrap().values[s]
            );
            let ratio = course[t21] / course[t0];
            assert!(
                (ratio - want).abs() <= 1e-12 * want.abs(),
                "{arm} subject {s}: {ratio} vs {want}"
            );
        }
    }
    // By default: 25 output times, the first and the last included.
    let c = xenograft("endpoint = \"change\"\ntime = \"21 day\"").unwrap();
    let study = &c.base;
    let trial = c.trial.as_ref().unwrap();
    assert_eq!(trial.trajectory_times.len(), 25);
    assert_eq!(trial.trajectory_times[0], study.output_times[0]);
    assert_eq!(
        trial.trajectory_times[24],
        *study.output_times.last().unwrap()
    );
}

/// Time to progression: the control tumours, which grow fastest,
/// progress first (their Kaplan–Meier curve is below the targeted arm's
/// at every time), and the hazard ratio of the targeted arm is below 1.
#[test]
fn xenograft_progression_is_later_with_targeted_vesicles() {
    let c = xenograft("endpoint = \"progression\"").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = campaign::run_whole(&c, dir.path(), |_, _| {}).unwrap();
    let km = std::fs::read_to_string(dir.path().join("kaplan_meier.csv")).unwrap();
    // Every column of the trial's CSV tables has a unit and a description
    // (exosim::output::columns, read by Python's `read_run`).
    for stem in ["trials", "power", "kaplan_meier"] {
        let text = std::fs::read_to_string(dir.path().join(format!("{stem}.csv"))).unwrap();
        for column in text.lines().next().unwrap().split(',') {
            assert!(
                exosim::output::columns::describe(stem, column).is_some(),
                "{stem}.csv column `{column}` has no entry"
            );
        }
    }
    let curve = |arm: &str| -> Vec<(f64, f64)> {
        km.lines()
            .skip(1)
            .filter(|l| l.starts_with(&format!("{arm},")))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[1].parse().unwrap(), f[4].parse().unwrap())
            })
            .collect()
    };
    let at = |c: &[(f64, f64)], t: f64| {
        c.iter()
            .take_while(|(time, _)| *time <= t)
            .last()
            .map_or(1.0, |p| p.1)
    };
    let (control, targeted) = (curve("control"), curve("targeted"));
    assert!(!control.is_empty());
    for &(t, _) in control.iter().chain(&targeted) {
        assert!(at(&control, t) <= at(&targeted, t), "at {t} s");
    }
    let trials = std::fs::read_to_string(dir.path().join("trials.csv")).unwrap();
    let hr: Vec<f64> = trials
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(2) == Some("targeted"))
        .filter_map(|l| l.split(',').nth(7)?.parse().ok())
        .filter(|x: &f64| x.is_finite())
        .collect();
    let mean = hr.iter().sum::<f64>() / hr.len() as f64;
    assert!(mean < 1.0, "mean hazard ratio {mean}");
    assert!(power_of(&summary, "targeted", 6) > 0.0);
}

/// Wrong trials get a located message with a hint: a control that is not
/// an arm, an arm compared with itself, a test that does not fit the
/// endpoint, more subjects than the design draws, a design that is not a
/// population, shares and levels out of range, an unknown endpoint.
#[test]
fn wrong_trials_are_located() {
    let cases = [
        (
            "control = \"control\"",
            "control = \"contrl\"",
            "trial.control",
            "did you mean",
        ),
        (
            "arms = [\"untargeted\", \"targeted\"]",
            "arms = [\"control\"]",
            "trial.arms[0]",
            "cannot tell an arm from itself",
        ),
        (
            "test = \"welch\"",
            "test = \"log_rank\"",
            "trial.test",
            "continuous endpoint",
        ),
        (
            "subjects = [3, 4, 6, 8, 10, 12]",
            "subjects = [3, 100]",
            "trial.subjects",
            "needs 300 virtual subjects",
        ),
        (
            "method = \"latin_hypercube\"",
            "method = \"saltelli\"",
            "design.method",
            "virtual population",
        ),
        ("dropout = 0.1", "dropout = 1.0", "trial.dropout", "[0, 1)"),
        ("power = 0.8", "power = 80", "trial.power", "(0, 1)"),
        (
            "endpoint = \"change\"",
            "endpoint = \"shrinkage\"",
            "trial.endpoint",
            "progression",
        ),
        (
            "time = \"21 day\"",
            "time = \"30 day\"",
            "trial.time",
            "is not one of the output times",
        ),
        (
            "power = 0.8",
            "power = 0.8\nreference = 20.0",
            "trial.reference",
            "not with a reference",
        ),
        (
            "control = \"control\"",
            "",
            "trial",
            "a `reference` for a single-arm trial",
        ),
        (
            "test = \"welch\"",
            "test = \"mann_whitney\"\nreference = 20.0",
            "trial.test",
            "one-sample t-test",
        ),
        (
            "test = \"welch\"",
            "test = \"fisher\"",
            "trial.test",
            "response rates",
        ),
    ];
    let path = repo().join("campaigns/xenograft_trial.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to, key, says) in cases {
        assert!(text.contains(from), "{from}");
        // A single-arm trial tested by Mann–Whitney has no control either.
        let text = match to.contains("mann_whitney") {
            true => text.replace("control = \"control\"\n", ""),
            false => text.clone(),
        };
        let e =
            Campaign::parse(&text.replace(from, to), &path.display().to_string()).expect_err(to);
        let shown = format!("{e} {}", e.hint.clone().unwrap_or_default());
        assert_eq!(e.key, key, "{to}: {shown}");
        assert!(shown.contains(says), "{to}: {shown}");
    }
}

/// The same campaign on 1 and 2 threads: the same trials, bit for bit
/// (each trial's draw comes from its own stream).
#[test]
fn trial_analysis_is_thread_independent() {
    let table = normal_table(400, 0.7, 9);
    let trial = Trial {
        subjects: vec![4, 10],
        power: Some(0.9),
        ..two_arm(Endpoint::Change, Test::MannWhitney, 10, 500)
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| analysis::analyse(&trial, &table, 4, 0.95))
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.curve, b.curve);
    // Every size from 2 to 10 was searched.
    assert_eq!(a.curve.len(), 9);
}

/// A trial without a control arm: each treated arm against a historical
/// reference by a one-sample t-test. Against a reference of 25 (a
/// historical control that grew faster than this population's controls,
/// about 18-fold) the untargeted vesicles look effective with 3 mice far
/// more often than the same 3 mice against concurrent controls: the bias
/// a missing control brings.
#[test]
fn a_single_arm_trial_against_a_historical_reference_overstates_the_power() {
    let concurrent = xenograft("endpoint = \"change\"\ntime = \"21 day\"").unwrap();
    let path = repo().join("campaigns/xenograft_trial.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("points = 240", "points = 36")
        .replace("subjects = [3, 4, 6, 8, 10, 12]", "subjects = [3, 6]")
        .replace("trials = 1000", "trials = 300")
        .replace("control = \"control\"", "reference = 25.0");
    let single = Campaign::parse(&text, &path.display().to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let with_control = campaign::run_whole(&concurrent, &a, |_, _| {}).unwrap();
    let without = campaign::run_whole(&single, &b, |_, _| {}).unwrap();
    let (p1, p0) = (
        power_of(&without, "untargeted", 3),
        power_of(&with_control, "untargeted", 3),
    );
    println!("untargeted, 3 mice: against the reference {p1}, against controls {p0}");
    assert!(p1 > p0 + 0.3, "{p1} vs {p0}");
    let verdict = &without.trial.as_ref().unwrap().search[0].verdict;
    assert!(verdict.contains("reference 25"), "{verdict}");
}

/// A best-response trial sorts every subject into RECIST-like categories
/// that add up; the controls, which grow 18-fold, all progress without a
/// response, and only the targeted vesicles, which shrink the tumour, give
/// objective responses.
#[test]
fn best_response_categories_add_up_and_follow_the_therapy() {
    let c = xenograft("endpoint = \"best_response\"\ntest = \"fisher\"").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = campaign::run_whole(&c, dir.path(), |_, _| {}).unwrap();
    let recist = &summary.trial.as_ref().unwrap().recist;
    assert_eq!(recist.len(), 3);
    for r in recist {
        assert_eq!(
            r.complete + r.partial + r.stable + r.progressive,
            r.subjects
        );
        assert_eq!(r.subjects, 36);
    }
    let arm = |name: &str| recist.iter().find(|r| r.arm == name).unwrap();
    assert_eq!(arm("control").objective_response_rate, 0.0);
    assert_eq!(arm("control").progressive, 36);
    assert!(arm("targeted").objective_response_rate > 0.0);
    println!("{recist:?}");
    // Fisher's test of the response rates: with no control responder, a
    // trial's estimate is the treated arm's response rate.
    let rows = std::fs::read_to_string(dir.path().join("trials.csv")).unwrap();
    let mut seen = 0;
    for line in rows.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (n_treated, p, estimate): (f64, f64, f64) = (
            f[4].parse().unwrap(),
            f[6].parse().unwrap(),
            f[7].parse().unwrap(),
        );
        seen += 1;
        if n_treated == 0.0 {
            // Every treated subject lost to follow-up: no test.
            assert!(p.is_nan(), "{line}");
            continue;
        }
        assert!((0.0..=1.0).contains(&p), "{line}");
        let responders = estimate * n_treated;
        assert!(
            (responders - responders.round()).abs() < 1e-9 && estimate >= 0.0,
            "{line}"
        );
    }
    assert_eq!(seen, 2 * 2 * 300);
}
