//! Instruments reading a biopsy blood draw (`sample = { from = "biopsy" }`,
//! docs/instruments.md): each population of the tube is the biopsy model's
//! level times the plasma drawn; NTA reports the draw's detection-weighted
//! size mixture convolved with its stated sizing law; the biopsy's NTA
//! assay and the instrument NTA see the same share of lipoproteins; bad
//! samples are located; the shipped study shows what its text claims.

use crate::study_errors::{error, line_of};
use exosim::biopsy::measurement::LIPOPROTEINS_PER_M3;
use exosim::coupling::instrument_sample::{Reading, summarise};
use exosim::coupling::lipoproteins::{in_plasma, nta_visible_fraction};
use exosim::instrument::Sample;
use exosim::instrument::nta::trigamma;
use exosim::random::stream;
use exosim::run;
use exosim::scenario::parse_study;
use exosim::scenario::resolve_instrument::nta_standard;
use statrs::distribution::{ContinuousCDF, Gamma, Normal};
use statrs::function::gamma::digamma;

const ML: f64 = 1e-6;
const NM: f64 = 1e-9;

/// The marker of `studies/assay_comparison.toml`, small cohorts, three
/// tests (plasma by NTA, the SEC isolate by NTA, a digital assay) and
/// three instruments on the draw of a 1 cm tumour.
const STUDY: &str = r#"
[study]
name = "draw"
seed = 3
duration = "1 day"

[biopsy]
cohort = 10
healthy_cohort = 10

[biopsy.tumour]
growth = "exponential"
doubling_time = "120 day"

[biopsy.marker]
name = "tumour EVs"
per_live_cell = "60 /h"
fraction_to_blood = 0.01
background_concentration = "1e4 /mL"
half_life = "7 min"
plasma_volume = "2.5 L"

[[biopsy.tests]]
name = "nta_plasma"
isolation = "none"
assay = "nta"

[[biopsy.tests]]
name = "nta_sec"
isolation = "size_exclusion"
assay = "nta"

[[biopsy.tests]]
name = "digital"
isolation = "none"
assay = "digital_plasmonic"

[biopsy.curve]
points = 2

[[instruments]]
name = "nta"
kind = "nta"
dilution = 1000000
sample = { from = "biopsy", diameter = "1 cm" }

[[instruments]]
name = "nta_sec"
kind = "nta"
dilution = 100000
sample = { from = "biopsy", test = "nta_sec", isolated = true, diameter = "1 cm" }

[[instruments]]
name = "nta_vesicles"
kind = "nta"
dilution = 10
sample = { from = "biopsy", diameter = "1 cm", lipoproteins = false, marker_diameter = "150 nm", marker_diameter_cv = 0.2 }
"#;

/// Each population of a draw is the biopsy model's plasma level times the
/// plasma drawn (10 mL × 0.55), nothing made or lost: the tumour's marker
/// vesicles at the steady level of a first-order marker held at N cells,
/// s·N/(k·V) with s = 60 /h × 0.01, N = π/6·d³·10⁹ /mL, k = ln 2/7 min,
/// V = 2.5 L (docs/biopsy.md, Blood kinetics); the background at its
/// 10⁴ /mL; 10¹⁰ other vesicles and 10¹⁶ lipoproteins per mL. The two
/// marker levels add up to the engine's own steady level; the SEC isolate
/// holds the vesicles × 0.5 and the lipoproteins × 0.1 (the preset's
/// recovery and carry-over).
#[test]
fn a_draw_holds_the_biopsy_models_levels_times_the_plasma_drawn() {
    let study = parse_study(STUDY, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let result = run::run(&study, |_| {}).unwrap();
    let cells = std::f64::consts::PI / 6.0 * 1e-6 * 1e9 / ML;
    let s = 60.0 / 3600.0 * 0.01;
    let k = std::f64::consts::LN_2 / 420.0;
    let tumour = s * cells / (k * 2.5e-3);
    let plasma = 10.0 * ML * 0.55;
    let levels = [tumour, 1e4 / ML, 1e10 / ML, 1e16 / ML];
    let model = &study.biopsy.as_ref().unwrap().tests[0].model;
    let steady = model
        .kinetics(&model.nominal_individual())
        .steady_concentration(cells);
    for (run, scale) in [
        (&result.instruments[0], [1.0, 1.0, 1.0, 1.0]),
        (&result.instruments[1], [0.5, 0.5, 0.5, 0.1]),
    ] {
        let draw = run.draw.as_ref().unwrap();
        assert_eq!(draw.plasma_volume, plasma);
        let c = &run.sample.components;
        assert_eq!(c.len(), 4);
        for i in 0..4 {
            let held = c[i].concentration * plasma;
            let want = levels[i] * scale[i] * plasma;
            assert!(
                (held / want - 1.0).abs() < 1e-12,
                "{}: {held} vs {want}",
                c[i].name
            );
        }
        let marker = (c[0].concentration + c[1].concentration) / scale[0];
        assert!(
            (marker / steady - 1.0).abs() < 1e-12,
            "{marker} vs {steady}"
        );
    }
    let summary = summarise(&result.instruments);
    let pops = &summary[0].draw.as_ref().unwrap().populations;
    let in_draw = pops[0].in_draw;
    assert!(
        (in_draw / (tumour * plasma) - 1.0).abs() < 1e-12,
        "{in_draw}"
    );
}

/// ln of a reported size is ln d − ln G: d from the draw's mixture, each
/// component weighted by its concentration and by the detection
/// 1/(1 + (50 nm/d)⁶) up to 1000 nm (the `standard` preset), and G ~
/// Gamma(20, 1/20) (20 steps per track). Its mean and variance are the
/// weighted mixture's plus ln N − ψ(N) and ψ₁(N), checked within 5
/// standard errors; its histogram in 20 bins against the exact convolution
/// (χ², p = 0.001), for the plasma (lipoproteins) and for a draw without
/// them (150 nm marker vesicles among 100 nm plasma vesicles).
#[test]
fn nta_of_a_draw_is_its_detected_mixture_convolved_with_the_sizing_law() {
    let study = parse_study(STUDY, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let result = run::run(&study, |_| {}).unwrap();
    for i in [0, 2] {
        let run = &result.instruments[i];
        let Reading::Nta(r) = &run.reading else {
            panic!("not an NTA")
        };
        let x: Vec<f64> = r.sizes.iter().map(|d| d.ln()).collect();
        let n = x.len() as f64;
        assert!(n > 5000.0, "{}: {n} tracks", run.name);
        let grid = DetectedMixture::of(&run.sample);
        let steps: f64 = 20.0;
        let (mean, var) = grid.moments();
        let want_mean = mean + steps.ln() - digamma(steps);
        let want_var = var + trigamma(steps);
        let got_mean = x.iter().sum::<f64>() / n;
        let got_var = x.iter().map(|v| (v - got_mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert!(
            (got_mean - want_mean).abs() < 5.0 * (want_var / n).sqrt(),
            "{}: mean {got_mean} vs {want_mean}",
            run.name
        );
        // The variance's standard error from the sample's fourth moment.
        let m4 = x.iter().map(|v| (v - got_mean).powi(4)).sum::<f64>() / n;
        assert!(
            (got_var - want_var).abs() < 5.0 * ((m4 - got_var * got_var) / n).sqrt(),
            "{}: variance {got_var} vs {want_var}",
            run.name
        );
        let normal = Normal::new(want_mean, want_var.sqrt()).unwrap();
        let edges: Vec<f64> = (1..20)
            .map(|k| normal.inverse_cdf(k as f64 / 20.0))
            .collect();
        let mut cdf = vec![0.0];
        cdf.extend(edges.iter().map(|&z| grid.convolved_cdf(z, steps)));
        cdf.push(1.0);
        let mut observed = [0.0; 20];
        for v in &x {
            observed[edges.partition_point(|e| e < v)] += 1.0;
        }
        let chi2: f64 = (0..20)
            .map(|b| {
                let e = n * (cdf[b + 1] - cdf[b]);
                (observed[b] - e).powi(2) / e
            })
            .sum();
        // χ²₁₉ at p = 0.001.
        assert!(chi2 < 43.8, "{}: χ² = {chi2}", run.name);
    }
}

/// The detected size mixture of a sample on a fine grid of ln d,
/// independent of the crate's own grid.
struct DetectedMixture {
    x: Vec<f64>,
    w: Vec<f64>,
}

impl DetectedMixture {
    fn of(sample: &Sample) -> DetectedMixture {
        let (lo, hi, points) = ((1.0 * NM).ln(), (3000.0 * NM).ln(), 40_000);
        let h = (hi - lo) / points as f64;
        let x: Vec<f64> = (0..points).map(|i| lo + (i as f64 + 0.5) * h).collect();
        let w: Vec<f64> = x
            .iter()
            .map(|&x| {
                let d = x.exp();
                let p = if d > 1000.0 * NM {
                    0.0
                } else {
                    1.0 / (1.0 + (50.0 * NM / d).powi(6))
                };
                let density: f64 = sample
                    .components
                    .iter()
                    .map(|c| {
                        let z = (x - c.median.ln()) / c.sigma;
                        c.concentration * (-z * z / 2.0).exp()
                            / (c.sigma * (2.0 * std::f64::consts::PI).sqrt())
                    })
                    .sum();
                density * p
            })
            .collect();
        let total: f64 = w.iter().sum();
        DetectedMixture {
            x,
            w: w.iter().map(|v| v / total).collect(),
        }
    }

    fn moments(&self) -> (f64, f64) {
        let mean: f64 = self.x.iter().zip(&self.w).map(|(x, w)| x * w).sum();
        let var: f64 = self
            .x
            .iter()
            .zip(&self.w)
            .map(|(x, w)| (x - mean).powi(2) * w)
            .sum();
        (mean, var)
    }

    /// P(x − ln G ≤ z) = Σ w · P(G ≥ e^(x − z)), G ~ Gamma(N, rate N).
    fn convolved_cdf(&self, z: f64, steps: f64) -> f64 {
        let g = Gamma::new(steps, steps).unwrap();
        self.x
            .iter()
            .zip(&self.w)
            .map(|(x, w)| w * (1.0 - g.cdf((x - z).exp())))
            .sum()
    }
}

/// One lipoprotein visibility: the biopsy's NTA assay weighs a lipoprotein
/// by exactly the share the instrument NTA (`standard` preset) sees of
/// them, E[1/(1 + (50 nm/d)⁶)] over their log-normal (25 nm, CV 0.3),
/// checked against an independent quadrature; so the biopsy NTA's bias on
/// plasma (its estimate less the vesicles) equals the instrument's
/// expected lipoprotein count of the same plasma, and makes lipoproteins
/// more than 98 % of its particles (Sci Rep 2018).
#[test]
fn the_biopsy_nta_and_the_instrument_nta_see_the_same_lipoproteins() {
    let study = parse_study(STUDY, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let protocol = &study.biopsy.as_ref().unwrap().tests[0].model.protocol;
    let weight = protocol.assay.nonvesicle_weight;
    assert_eq!(weight, nta_visible_fraction(&nta_standard()));
    let sigma = (1.09f64).ln().sqrt();
    let standard = Normal::standard();
    let k = 20_000;
    let quadrature: f64 = (0..k)
        .map(|i| {
            let z = standard.inverse_cdf((i as f64 + 0.5) / k as f64);
            let d = 25.0 * (sigma * z).exp();
            1.0 / (1.0 + (50.0 / d).powi(6))
        })
        .sum::<f64>()
        / k as f64;
    assert!(
        (weight / quadrature - 1.0).abs() < 1e-4,
        "{weight} vs {quadrature}"
    );
    assert!((0.02..0.1).contains(&weight), "{weight}");
    let reading = nta_standard().measure(
        &Sample {
            components: vec![in_plasma()],
        },
        &mut stream(1, 1, 0),
    );
    let bias = protocol.nonvesicle_bias();
    assert!(
        (bias / reading.detectable_concentration - 1.0).abs() < 1e-12,
        "{bias} vs {}",
        reading.detectable_concentration
    );
    assert_eq!(protocol.lipoprotein_concentration, LIPOPROTEINS_PER_M3);
    // More than 98 % of NTA particles in plasma are lipoproteins
    // (docs/references.md#lipoproteins-2018), with 10¹⁰ vesicles per mL.
    let share = bias / protocol.expected_estimate(1e10 / ML);
    assert!(share > 0.98, "{share}");
}

/// Bad biopsy samples are refused at their key and line: a study without
/// `[biopsy]`, a `[biopsy]` of conditions, an unknown test, a key of a body
/// sample, a time, no diameter, a bad CV, an analyte in arbitrary units,
/// an unknown key; and a body sample without `time`.
#[test]
fn bad_biopsy_samples_are_located() {
    let sample = "sample = { from = \"biopsy\", diameter = \"1 cm\" }";
    let cases: [(&str, &str, &str); 6] = [
        (
            "sample = { from = \"biopsy\", test = \"nta_plsma\", diameter = \"1 cm\" }",
            "instruments[0].sample.test",
            "nta_plsma",
        ),
        (
            "sample = { from = \"biopsy\", arm = \"main\", diameter = \"1 cm\" }",
            "instruments[0].sample.arm",
            "names a body sample",
        ),
        (
            "sample = { from = \"biopsy\", time = \"1 h\", diameter = \"1 cm\" }",
            "instruments[0].sample.time",
            "not a biopsy sample",
        ),
        (
            "sample = { from = \"biopsy\" }",
            "instruments[0].sample.diameter",
            "needs the tumour's `diameter`",
        ),
        (
            "sample = { from = \"biopsy\", diameter = \"1 cm\", marker_diameter_cv = -1 }",
            "instruments[0].sample.marker_diameter_cv",
            "out of range",
        ),
        (
            "sample = { from = \"biopsy\", diameter = \"-1 cm\" }",
            "instruments[0].sample.diameter",
            "greater than zero",
        ),
    ];
    for (line, key, says) in cases {
        let text = STUDY.replacen(sample, line, 1);
        let e = error(&text);
        assert_eq!(e.key, key, "{e}");
        assert_eq!(e.line, line_of(&text, line), "{e}");
        assert!(e.message.contains(says), "{e}");
    }
    let text = STUDY.replacen(
        sample,
        "sample = { from = \"biopsy\", diameter = \"1 cm\", tumor_size = \"1 cm\" }",
        1,
    );
    let e = error(&text);
    assert!(e.to_string().contains("tumor_size"), "{e}");
    assert_eq!(e.line, line_of(&text, "tumor_size"), "{e}");
    let e = error(&STUDY.replacen(
        "plasma_volume = \"2.5 L\"",
        "plasma_volume = \"2.5 L\"\nsampling = \"continuous\"",
        1,
    ));
    assert_eq!(e.key, "instruments[0].sample.from", "{e}");
    assert!(e.message.contains("arbitrary units"), "{e}");

    let body = "[study]\nname = \"b\"\nduration = \"1 h\"\noutput_times = [\"10 min\"]\n\
                [body]\nspecies = \"mouse\"\n[[vesicles]]\nname = \"ev\"\n\
                [[doses]]\nvesicles = \"ev\"\nroute = \"iv_bolus\"\namount = 1e10\n\
                [[instruments]]\nname = \"n\"\nkind = \"nta\"\n";
    let e = error(&format!("{body}{sample}\n"));
    assert_eq!(e.key, "instruments[0].sample.from", "{e}");
    assert!(e.message.contains("no `[biopsy]`"), "{e}");
    let e = error(&format!("{body}sample = {{ from = \"body\" }}\n"));
    assert_eq!(e.key, "instruments[0].sample.time", "{e}");
    assert!(e.message.contains("needs `time`"), "{e}");

    let conditions = include_str!("../../../../studies/gut_barrier_blood_test.toml");
    let text = format!("{conditions}\n[[instruments]]\nname = \"n\"\nkind = \"nta\"\n{sample}\n");
    let e = error(&text);
    assert!(e.key.ends_with("].sample.from"), "{e}");
    assert_eq!(e.line, line_of(&text, sample), "{e}");
    assert!(e.message.contains("tests conditions"), "{e}");
}

/// The shipped study shows what docs/instruments.md says of it: NTA and
/// the high-sensitivity cytometer count lipoproteins (> 98 % of tracks and
/// single events); the conventional cytometer on plasma counts swarms; the
/// digital assay reads the marker's vesicles, the tumour's among them,
/// within 4 Poisson σ of its positives, and the background alone with a
/// 1 mm tumour.
#[test]
fn the_shipped_draw_study_shows_lipoproteins_to_counters_and_the_tumour_to_the_digital_assay() {
    let text = include_str!("../../../../studies/biopsy_draw_nta.toml");
    let study = parse_study(text, "biopsy_draw_nta.toml").unwrap_or_else(|e| panic!("{e}"));
    let result = run::run(&study, |_| {}).unwrap();
    let summary = summarise(&result.instruments);
    let by = |name: &str| {
        summary
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert!(by("nta").lipoprotein_share.unwrap() > 0.98);
    assert!(by("hs_flow").lipoprotein_share.unwrap() > 0.98);
    assert!(by("flow").swarm == Some(true));
    for (name, tumour_share) in [("digital", 0.5), ("digital_1mm", 0.0)] {
        let i = by(name);
        let draw = i.draw.as_ref().unwrap();
        let truth = draw.true_marker_per_ml;
        let reported = i.reported_per_ml.unwrap();
        let positives = i.counted.unwrap();
        assert!(
            (reported / truth - 1.0).abs() < 4.0 / positives.sqrt(),
            "{name}: {reported} vs {truth}"
        );
        assert!(draw.populations[0].per_ml / truth > tumour_share, "{name}");
    }
}
