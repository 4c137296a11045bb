//! Sequencing tests (`assay = "sequencing"`): the published ctDNA detection
//! model of Avanzini et al. 2020 (Sci Adv 6:eabc4308,
//! docs/references.md#avanzini-2020), the exact false-positive rate of a
//! threshold against Monte Carlo, the detection probability against its
//! exact Poisson–binomial law, the lead time over imaging against a
//! deterministic calculation, located errors and thread independence.

use crate::study_errors::{error, line_of};
use exosim::biopsy::screening::{
    self, ScreeningModel, ThresholdRule, healthy_scores, resolve_threshold,
};
use exosim::biopsy::sequencing::{SequencingAssay, binomial_tail, per_test_rate, poisson_tail};
use exosim::run;
use exosim::scenario::{Study, parse_study};
use exosim::units::DAY;

fn shipped(name: &str) -> String {
    let path = format!("{}/../../studies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `text` with `from` replaced (once, and it must be there) by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the study");
    text.replacen(from, to, 1)
}

#[allow(clippy::result_large_err)]
fn parse(text: &str) -> Study {
    parse_study(text, "s.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The model of test `test` of a shipped study, with `edits` applied.
fn model_of(name: &str, test: usize, edits: &[(&str, &str)]) -> ScreeningModel {
    let mut text = shipped(name);
    for (from, to) in edits {
        text = edit(&text, from, to);
    }
    parse(&text).biopsy.expect("biopsy").tests[test]
        .model
        .clone()
}

/// The probability that one test of a tumour of `cells` is positive at
/// the model's threshold, exact: the steady ctDNA level of the nominal
/// individual, every background of the healthy law (the tumour adds its
/// unmutated allele to the depth), the Poisson depth and counts.
fn exact_detection(model: &ScreeningModel, cells: f64) -> f64 {
    let (seq, law) = model.background_law().expect("a sequencing test");
    let kin = model.kinetics(&model.nominal_individual());
    let background = kin.blood.baseline_amount() / model.blood.plasma_volume;
    let tumour = kin.steady_concentration(cells) - background;
    let (mutant, extra_depth) = model.protocol.sequencing_means(&seq, tumour, 0.0);
    law.depth_means
        .iter()
        .map(|&d| seq.positive_probability(mutant, d + extra_depth, model.threshold))
        .sum::<f64>()
        / law.depth_means.len() as f64
}

/// Avanzini et al. 2020's package (`ctdna`, example.ipynb, docs/references.md#avanzini-2020)
/// gives, for one actionable mutation read at one position (a one-base
/// panel) at 99 % specificity, a 15 mL tube, sequencing efficiency 0.5,
/// error rate 10⁻⁵, lung-cancer shedding (b = 0.14, d = 0.136 /day,
/// q_d = 1.4·10⁻⁴, t½ 30 min) and its plasma DNA law (gamma, mean
/// 953 GE/mL, CV 0.73): detection probabilities of 17.6 %, 33.6 %,
/// 56.0 % and 90.7 % for tumours of 1.0 cm, 10⁹ cells (1.24 cm), 1.5 cm and
/// 2.0 cm. exosim's exact law with a log-normal background of the same mean
/// and CV, and a Poisson depth where the package uses the expected one,
/// must agree within 2.5 percentage points (it gave 16.6, 32.3, 54.7 and
/// 90.2 % when written: the log-normal's thinner upper tail and lower
/// mode shift the threshold a little).
#[test]
fn one_mutation_detection_matches_the_published_model() {
    let mut model = model_of(
        "ctdna_annual_screening",
        0,
        &[("panel_size = 2000", "panel_size = 1")],
    );
    // One test a year: the annual rate is the per-test one, 1 − specificity.
    model.threshold =
        resolve_threshold(&model, ThresholdRule::AnnualFalsePositiveRate(0.01), 10, 1);
    let (seq, law) = model.background_law().unwrap();
    let rate = seq.false_positive_rate(&law, model.threshold);
    assert!(
        rate <= 0.01 && rate > 0.009,
        "exact false-positive rate {rate}"
    );
    let cells_at = |d_cm: f64| std::f64::consts::PI / 6.0 * d_cm.powi(3) * 1e9;
    let published = [
        (cells_at(1.0), 0.176),
        (1e9, 0.336),
        (cells_at(1.5), 0.560),
        (cells_at(2.0), 0.907),
    ];
    for (cells, p) in published {
        let ours = exact_detection(&model, cells);
        println!("{cells:.3e} cells: exosim {ours:.4}, published {p}");
        assert!((ours - p).abs() <= 0.025, "{cells:e} cells: {ours} vs {p}");
    }
}

/// A specificity rule on a sequencing test resolves, for the threshold, to
/// the healthy cohort's quantile; with `annual_false_positive_rate` the
/// threshold is exact. Its exact false-positive rate must hold against
/// Monte Carlo: 200,000 healthy tests fall within 4.5 binomial standard
/// deviations of it, for the one-mutation panel of 2,000 bases (yearly)
/// and the personalised panel of 20 (monthly: per test 1 − 0.95^(30/365.25)).
#[test]
fn threshold_false_positive_rate_holds_against_monte_carlo() {
    for (study, annual) in [
        ("ctdna_annual_screening", 0.01),
        ("ctdna_relapse_monitoring", 0.05),
    ] {
        let mut model = model_of(study, 0, &[]);
        let per_test = per_test_rate(annual, screening::YEAR / model.interval);
        model.threshold = resolve_threshold(
            &model,
            ThresholdRule::AnnualFalsePositiveRate(annual),
            10,
            1,
        );
        let (seq, law) = model.background_law().unwrap();
        let exact = seq.false_positive_rate(&law, model.threshold);
        assert!(exact <= per_test, "{study}: {exact} > {per_test}");
        let n = 200_000u64;
        let positives = healthy_scores(&model, n, 99)
            .into_iter()
            .filter(|&s| s > model.threshold)
            .count() as f64;
        let share = positives / n as f64;
        let sd = (exact * (1.0 - exact) / n as f64).sqrt();
        println!("{study}: per test {per_test:.5}, exact {exact:.5}, simulated {share:.5}");
        assert!(
            (share - exact).abs() <= 4.5 * sd,
            "{study}: simulated {share} vs exact {exact} (sd {sd})"
        );
    }
}

/// The detection curve (steady burden, simulated individuals with their
/// background variability) against the exact Poisson–binomial probability
/// of [`exact_detection`]: within 4.5 binomial standard deviations at every
/// diameter, for the one-mutation panel (no shedding variability, so the
/// exact law is the whole model).
#[test]
fn detection_curve_follows_the_exact_poisson_law() {
    let mut model = model_of("ctdna_annual_screening", 0, &[]);
    model.threshold =
        resolve_threshold(&model, ThresholdRule::AnnualFalsePositiveRate(0.01), 10, 1);
    let diameters = [0.008, 0.012, 0.016, 0.022, 0.03];
    let n = 20_000;
    let curve =
        screening::detection_curve(&model, &diameters, screening::BurdenState::Steady, n, 5);
    for point in curve {
        let p = exact_detection(&model, point.cells);
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        println!(
            "{:.1} mm: simulated {:.4}, exact {p:.4}",
            point.diameter * 1e3,
            point.probability
        );
        assert!(
            (point.probability - p).abs() <= 4.5 * sd + 1e-12,
            "{} m: {} vs {p}",
            point.diameter,
            point.probability
        );
    }
}

/// Tails of the error and count laws against statrs, to 10⁻⁹ relative.
#[test]
fn binomial_and_poisson_tails_are_exact() {
    use statrs::distribution::{Binomial, DiscreteCDF, Poisson};
    for (n, p) in [(7860.0, 1e-5), (1e5, 1e-3), (30.0, 0.2), (1e6, 2e-4)] {
        let law = Binomial::new(p, n as u64).unwrap();
        for k in [1u64, 2, 3, 5, 10, 40, 100, 250] {
            let (ours, exact) = (binomial_tail(n, p, k), law.sf(k - 1));
            assert!(
                (ours - exact).abs() <= 1e-9 * exact + 1e-300,
                "{n} {p} {k}: {ours} vs {exact}"
            );
        }
    }
    for mean in [0.3, 4.0, 60.0] {
        let law = Poisson::new(mean).unwrap();
        for k in [1u64, 2, 5, 20, 80] {
            let (ours, exact) = (poisson_tail(mean, k), law.sf(k - 1));
            assert!((ours - exact).abs() <= 1e-9 * exact + 1e-300, "{mean} {k}");
        }
    }
}

/// One test's simulated positives against its exact probability (4.5 σ),
/// healthy and with tumour copies, on a panel with uncovered positions.
#[test]
fn simulated_reads_follow_the_exact_test_probability() {
    let seq = SequencingAssay {
        panel_size: 2000,
        panel_mutations: 3,
        efficiency: 0.5,
        error_rate: 1e-5,
    };
    let threshold = 4.0;
    for (mutant, depth) in [(0.0, 7862.0), (0.5, 7863.0), (2.0, 12_000.0)] {
        let p = seq.positive_probability(mutant, depth, threshold);
        let n = 200_000u64;
        let mut rng = exosim::random::stream(3, 4, 5);
        let hits = (0..n)
            .filter(|_| seq.read(mutant, depth, &mut rng).score > threshold)
            .count() as f64;
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (hits / n as f64 - p).abs() <= 4.5 * sd,
            "{mutant} {depth}: {} vs {p}",
            hits / n as f64
        );
    }
}

/// Lead time over imaging, deterministic: a noise-free vesicle test
/// detects at the first test at or after the exact crossing, imaging at
/// the first exam at or after the tumour reaches the imaging diameter; the
/// lead is their difference, ceil(t_img/I_img)·I_img − ceil(t_cross/I)·I,
/// with t_img = ln(N_img/N₀)/r for exponential growth.
#[test]
fn lead_time_over_imaging_matches_the_deterministic_schedule() {
    let text = edit(
        &shipped("screening_ovarian"),
        "[biopsy]\n",
        "[biopsy]\ndeterministic = true\n",
    );
    let text = edit(&text, "growth = \"gompertz\"", "growth = \"exponential\"");
    let text = edit(&text, "capacity_diameter = \"15 cm\" # plateau\n", "");
    let text = edit(
        &text,
        "interval = \"1 year\"",
        "interval = \"30 day\"\nimaging_diameter = \"2 cm\"\nimaging_interval = \"91 day\"",
    );
    let text = edit(&text, "cohort = 20000 ", "cohort = 50 ");
    let text = edit(&text, "healthy_cohort = 20000", "healthy_cohort = 500");
    let study = parse(&text);
    let result = run::run(&study, |_| {}).expect("runs");
    let s = result.biopsy[0].screening.as_ref().expect("screening");
    let model = &study.biopsy.as_ref().unwrap().tests[0].model;
    let crossing = s.crossing.expect("crossing").time;
    let interval = 30.0 * DAY;
    let detection = (crossing / interval).ceil() * interval;
    let rate = std::f64::consts::LN_2 / (120.0 * DAY);
    let n_img = exosim::biopsy::growth::cells_for_diameter(0.02, model.tumour.cells_per_m3);
    let t_img = (n_img / model.tumour.initial_cells).ln() / rate;
    let exam = (t_img / (91.0 * DAY)).ceil() * 91.0 * DAY;
    let lead = s.lead_time.as_ref().expect("lead time");
    assert_eq!(lead.n, 50);
    assert!(
        (lead.mean - (exam - detection)).abs() < 1e-5,
        "lead {} s vs {} s",
        lead.mean,
        exam - detection
    );
    assert_eq!(lead.positive_share, 1.0);
}

/// Bad sequencing input: located errors with the key, the line and a hint.
#[test]
fn bad_sequencing_input_is_a_located_error() {
    let base = shipped("ctdna_relapse_monitoring");
    let cases = [
        (
            "panel_mutations = 20",
            "panel_mutations = 0",
            "biopsy.tests[0].panel_mutations",
            "none of the tumour's mutations",
        ),
        (
            "panel_size = 20 ",
            "panel_size = 0 ",
            "biopsy.tests[0].panel_size",
            "0 bases",
        ),
        (
            "panel_mutations = 20",
            "panel_mutations = 21",
            "biopsy.tests[0].panel_mutations",
            "21 mutations",
        ),
        (
            "efficiency = 0.5",
            "efficiency = 0",
            "biopsy.tests[0].efficiency",
            "outside (0, 1]",
        ),
        (
            "efficiency = 0.5",
            "efficiency = 1.5",
            "biopsy.tests[0].efficiency",
            "outside (0, 1]",
        ),
        (
            "error_rate = 1e-5",
            "error_rate = 1",
            "biopsy.tests[0].error_rate",
            "outside [0, 1)",
        ),
        (
            "background_concentration = \"952.6 /mL\"",
            "background_concentration = \"-5 /mL\"",
            "biopsy.marker.background_concentration",
            "negative",
        ),
        (
            "annual_false_positive_rate = 0.05",
            "annual_false_positive_rate = 0",
            "biopsy.decision.annual_false_positive_rate",
            "strictly between 0 and 1",
        ),
        (
            "annual_false_positive_rate = 0.05",
            "threshold = \"3 /mL\"",
            "biopsy.decision.threshold",
            "not a concentration",
        ),
        (
            "error_rate = 1e-5",
            "error_rate = 1e-5\ncv = 0.1",
            "biopsy.tests[0].cv",
            "does not apply",
        ),
        (
            "detection = \"first_positive\"   #",
            "detection = \"first\"   #",
            "biopsy.screening.detection",
            "unknown value",
        ),
        (
            "background_test_cv = 0.733",
            "background_test_cv = -1",
            "biopsy.variability.background_test_cv",
            "out of range",
        ),
        (
            "imaging_diameter = \"1.2407 cm\" # 1e9 cells\n",
            "",
            "biopsy.screening.imaging_interval",
            "without the size",
        ),
    ];
    for (from, to, key, message) in cases {
        let text = edit(&base, from, to);
        let e = error(&text);
        assert_eq!(e.key, key, "{to}: {e}");
        assert!(e.message.contains(message), "{to}: {e}");
        let needle = to
            .lines()
            .last()
            .filter(|l| !l.is_empty())
            .unwrap_or("imaging_interval");
        assert_eq!(e.line, line_of(&text, needle), "{to}: {e}");
        assert!(
            e.hint.is_some() || key.ends_with("background_concentration"),
            "{to}: {e}"
        );
    }
    // A sequencing key on another assay.
    let text = edit(
        &shipped("screening_ovarian"),
        "assay = \"digital_plasmonic\"",
        "assay = \"digital_plasmonic\"\npanel_size = 20",
    );
    let e = error(&text);
    assert_eq!(e.key, "biopsy.tests[0].panel_size", "{e}");
    // A sequencing test cannot be noise-free.
    let text = edit(&base, "[biopsy]\n", "[biopsy]\ndeterministic = true\n");
    assert_eq!(error(&text).key, "biopsy.tests[0].assay");
}

/// Same study and seed: the same summary with 1 and 2 threads (every
/// individual has its own stream; the aggregates merge exactly).
#[test]
fn sequencing_screening_is_independent_of_threads() {
    let text = edit(
        &shipped("ctdna_relapse_monitoring"),
        "cohort = 20000\n",
        "cohort = 3000\n",
    );
    let text = edit(&text, "healthy_cohort = 20000", "healthy_cohort = 1000");
    let study = parse(&text);
    let runs: Vec<String> = [1, 2]
        .into_iter()
        .map(|threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let result = run::run(&study, |_| {}).expect("runs");
                serde_json::to_string(&run::summary(&study, &result)).unwrap()
            })
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
}

/// The p-value thresholds of Avanzini et al. 2020's package
/// (docs/references.md#avanzini-2020) for an annual false-positive rate of
/// 1 % with yearly tests: its unit test `test_compute_pval_th_cancerseek`
/// gives 2.1·10⁻⁵ (efficiency 0.5) and 1.8·10⁻⁵ (efficiency 1.0) for the
/// 2,000-base panel, to two significant digits; its README's CAPP-Seq
/// screening command (302,620 bases, 10 mutations) uses 1.5·10⁻⁷. exosim's
/// exact thresholds must agree within 5 % (2.03, 1.86 and 1.46 when written;
/// the background law's shape and
/// the depth's Poisson law differ, see above).
#[test]
fn p_value_thresholds_match_the_published_package() {
    let cases = [(0, 0.5, 2.1e-5), (0, 1.0, 1.8e-5), (1, 0.5, 1.5e-7)];
    for (test, efficiency, published) in cases {
        let mut model = model_of("ctdna_annual_screening", test, &[]);
        if let Some(seq) = model.protocol.sequencing.as_mut() {
            seq.efficiency = efficiency;
        }
        model.threshold =
            resolve_threshold(&model, ThresholdRule::AnnualFalsePositiveRate(0.01), 10, 1);
        let p = 10f64.powf(-model.threshold);
        println!("test {test}, efficiency {efficiency}: p < {p:.3e}, published {published:e}");
        assert!((p / published - 1.0).abs() <= 0.05, "{p} vs {published}");
    }
}

/// The relapse study keeps the published model's conventions (the
/// background drawn afresh at each test, the first positive test the
/// detection) and gives the figures of Avanzini et al. 2020's abstract
/// (docs/references.md#avanzini-2020): monthly relapse testing finds the
/// relapse at a median of 0.83 cm, 140 days before monthly imaging. The
/// diameter is held to ±0.02 cm (the abstract's rounding and 20,000
/// patients' Monte Carlo), the lead to ±10 days.
#[test]
fn relapse_monitoring_reproduces_the_published_figures() {
    let study = parse(&shipped("ctdna_relapse_monitoring"));
    let result = run::run(&study, |_| {}).unwrap();
    let summary = serde_json::to_value(run::summary(&study, &result)).unwrap();
    let screening = &summary["biopsy"]["tests"][0]["screening"];
    let median = |q: &serde_json::Value| q[2][1].as_f64().unwrap();
    let diameter_cm = median(&screening["diameter_quantiles"]) * 100.0;
    let lead_days = median(&screening["lead_time"]["quantiles"]) / DAY;
    println!("median {diameter_cm:.3} cm, lead {lead_days:.0} days");
    assert!((diameter_cm - 0.83).abs() <= 0.02, "{diameter_cm} cm");
    assert!((lead_days - 140.0).abs() <= 10.0, "{lead_days} days");
}

/// Law of the detection rules, on a relapse that sheds nothing (every
/// positive is false) tested by a panel whose background is drawn at
/// each test (independent tests of exact false-positive rate p): with
/// `first_positive` the share detected is 1 − E[(1 − p)ⁿ], n being 97 or
/// 98 tests by the individual's phase (98 when it falls in the first
/// D − 97·I of the interval), within 4.5 binomial standard deviations;
/// with `tumour` nobody is detected and every positive is counted as false.
#[test]
fn detection_rules_count_false_positives_as_their_law_says() {
    let text = edit(
        &edit(
            &shipped("ctdna_relapse_monitoring"),
            "per_dying_cell = 1.4e-4",
            "per_dying_cell = 1e-30",
        ),
        "cohort = 20000",
        "cohort = 4000",
    );
    let run_with = |rule: &str| {
        let text = edit(
            &text,
            "detection = \"first_positive\"   #",
            &format!("detection = \"{rule}\"   #"),
        );
        let study = parse(&text);
        let result = run::run(&study, |_| {}).unwrap();
        serde_json::to_value(run::summary(&study, &result)).unwrap()["biopsy"]["tests"][0].clone()
    };
    let first = run_with("first_positive");
    let p = first["sequencing"]["false_positive_rate"].as_f64().unwrap();
    let (interval, duration): (f64, f64) = (30.0, 8.0 * 365.25);
    let m = (duration / interval).floor();
    let r = duration - m * interval;
    let expected =
        1.0 - (r / interval * (1.0 - p).powf(m + 1.0) + (1.0 - r / interval) * (1.0 - p).powf(m));
    let n = first["screening"]["n"].as_f64().unwrap();
    let share = first["screening"]["detected"].as_f64().unwrap() / n;
    let sd = (expected * (1.0 - expected) / n).sqrt();
    println!("detected {share:.4}, expected {expected:.4} (sd {sd:.4})");
    assert!(
        (share - expected).abs() <= 4.5 * sd,
        "{share} vs {expected}"
    );
    let tumour = run_with("tumour");
    assert_eq!(tumour["screening"]["detected"].as_f64(), Some(0.0));
    let fp = tumour["screening"]["false_positives"].as_f64().unwrap();
    let tests = tumour["screening"]["tests"].as_f64().unwrap();
    let sd = (p * (1.0 - p) / tests).sqrt();
    assert!((fp / tests - p).abs() <= 4.5 * sd, "{} vs {p}", fp / tests);
}
