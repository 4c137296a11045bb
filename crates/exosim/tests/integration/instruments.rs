//! Instruments: NTA's reported size distribution against the input
//! log-normal convolved with the stated sizing error; the swarm events of a
//! flow cytometer against van der Pol et al.'s occupancy formula (2012,
//! J Thromb Haemost 10:919); detection against the threshold diameter;
//! concentrations conserved from engine to reading; located errors; the
//! shipped study, bit-identical under its seed.

use crate::study_errors::{error, line_of};
use exosim::instrument::flow::{
    FlowCytometer, swarm_events_per_second, swarm_onset_concentration, vesicles_per_swarm,
};
use exosim::instrument::nta::{CountingRange, Nta, trigamma};
use exosim::instrument::{Component, Sample, sigma_of_cv};
use exosim::random::stream;
use exosim::run;
use exosim::scenario::parse_study;
use statrs::distribution::{Continuous, ContinuousCDF, Gamma, Normal};

const NM: f64 = 1e-9;

fn one(concentration: f64, median: f64, cv: f64) -> Sample {
    Sample {
        components: vec![Component {
            name: "ev".into(),
            concentration,
            median,
            sigma: sigma_of_cv(cv),
            vesicle: true,
            marker: true,
        }],
    }
}

/// An NTA that sees every particle from 1 nm to 10 µm: only its sizing
/// changes the distribution.
fn open_nta(steps: u32) -> Nta {
    Nta {
        min_diameter: 0.01 * NM,
        max_diameter: 10_000.0 * NM,
        track_steps: steps,
        frame_rate: 30.0,
        video_length: 60.0,
        videos: 3,
        view_volume: 0.08e-12,
        min_per_frame: 20.0,
        max_per_frame: 100.0,
        dilution: 1.0,
        bin_width: 10.0 * NM,
    }
}

/// P(ln d̂ ≤ z) for ln d̂ = ln d − ln G, ln d ~ N(μ, s²), G ~ Gamma(N, 1/N):
/// E_G[Φ((z + ln G − μ)/s)], by the midpoint rule over G's quantiles.
fn convolved_cdf(z: f64, mu: f64, s: f64, steps: f64) -> f64 {
    let g = Gamma::new(steps, steps).unwrap();
    let normal = Normal::standard();
    let k = 4000;
    (0..k)
        .map(|i| {
            let q = g.inverse_cdf((i as f64 + 0.5) / k as f64);
            normal.cdf((z + q.ln() - mu) / s)
        })
        .sum::<f64>()
        / k as f64
}

/// NTA sizes each particle from a track of N steps: D̂ = D·G with G ~
/// Gamma(N, 1/N) (the mean of N squared 2-D Brownian steps), so the
/// reported ln d is the input's normal ln d minus ln G. Its mean and
/// variance are ln m + ln N − ψ(N) and σ² + ψ₁(N) (the stated bias and
/// error), checked within 5 standard errors; its histogram against the
/// exact convolution by a χ² test at p = 0.001.
#[test]
fn nta_sizes_are_the_input_convolved_with_the_stated_sizing_error() {
    let (median, cv, steps) = (100.0 * NM, 0.3, 15);
    let nta = open_nta(steps);
    // About 20 000 tracks: c·V·frames/N.
    let c = 20_000.0 / (nta.view_volume * nta.frames() / f64::from(steps));
    let reading = nta.measure(&one(c, median, cv), &mut stream(11, 1, 0));
    let n = reading.sizes.len() as f64;
    assert!(n > 19_000.0, "{n}");
    let s0 = sigma_of_cv(cv);
    let psi1 = trigamma(f64::from(steps));
    assert!((reading.sizing_sigma - psi1.sqrt()).abs() < 1e-15);
    let logs: Vec<f64> = reading.sizes.iter().map(|d| d.ln()).collect();
    let mean = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let want_mean = median.ln() + reading.sizing_bias;
    let want_var = s0 * s0 + psi1;
    let se_mean = (want_var / n).sqrt();
    assert!(
        (mean - want_mean).abs() < 5.0 * se_mean,
        "mean ln d {mean} vs {want_mean} ± {se_mean}"
    );
    // Var of a sample variance ≈ 2σ⁴/(n−1) (+ the small excess kurtosis of ln Gamma).
    let se_var = want_var * (2.5 / n).sqrt();
    assert!(
        (var - want_var).abs() < 5.0 * se_var,
        "var ln d {var} vs {want_var} ± {se_var}"
    );
    // χ² over 20 equal-width bins of ln d from −2.5 to +2.5 sd.
    let sd = want_var.sqrt();
    let edges: Vec<f64> = (0..=20)
        .map(|i| want_mean + sd * (-2.5 + 0.25 * i as f64))
        .collect();
    let mut chi2 = 0.0;
    for w in edges.windows(2) {
        let p = convolved_cdf(w[1], median.ln(), s0, f64::from(steps))
            - convolved_cdf(w[0], median.ln(), s0, f64::from(steps));
        let observed = logs.iter().filter(|&&x| x >= w[0] && x < w[1]).count() as f64;
        chi2 += (observed - n * p).powi(2) / (n * p);
    }
    // χ²(20) at p = 0.001 (bins' sum need not be 1: the outer tails are left out,
    // which only lowers χ²): 45.3.
    assert!(chi2 < 45.3, "χ² = {chi2}");
}

/// Without sizing error (very long tracks) and with the detection off, the
/// reported histogram is the sample's own: the reading neither makes nor
/// loses particles. The reported concentration is the true one within
/// Poisson's 4 σ, and the exact histogram holds every particle.
#[test]
fn nta_conserves_the_particles_it_sees() {
    let nta = open_nta(100_000);
    let sample = one(3e14, 120.0 * NM, 0.4);
    let r = nta.measure(&sample, &mut stream(3, 1, 0));
    let expected_tracks = sample.total() * nta.view_volume * nta.frames() / 100_000.0;
    assert!(
        (r.tracks - expected_tracks).abs() < 4.0 * expected_tracks.sqrt(),
        "{}",
        r.tracks
    );
    let rel = (r.concentration / sample.total() - 1.0).abs();
    assert!(rel < 4.0 / expected_tracks.sqrt(), "{rel}");
    let held: f64 = r.truth.per_m3.iter().sum();
    assert!((held / sample.total() - 1.0).abs() < 1e-9);
    let reported: f64 = r.reported.per_m3.iter().sum();
    assert!((reported - r.concentration).abs() <= 1e-9 * r.concentration);
}

/// NTA detection: a monodisperse population of diameter d is seen with
/// probability 1/(1 + (d_min/d)⁶) (Rayleigh scatter against the camera
/// level): the tracks of d = d_min/2, d_min, 2·d_min within Poisson's 4 σ;
/// above the upper limit nothing is sized; the counting range follows the
/// dilution.
#[test]
fn nta_detection_follows_the_scatter_against_the_lower_limit() {
    let mut nta = open_nta(20);
    nta.min_diameter = 60.0 * NM;
    nta.max_diameter = 800.0 * NM;
    let c = 5e14;
    let all = c * nta.view_volume * nta.frames() / 20.0;
    for d in [30.0, 60.0, 120.0, 900.0] {
        let r = nta.measure(&one(c, d * NM, 0.0), &mut stream(5, 1, d as u64));
        let p = if d > 800.0 {
            0.0
        } else {
            1.0 / (1.0 + (60.0 / d).powi(6))
        };
        let want = all * p;
        assert!(
            (r.tracks - want).abs() <= 4.0 * want.sqrt().max(1.0),
            "d = {d} nm: {} tracks, want {want}",
            r.tracks
        );
    }
    // 5e16 /m³ of 200 nm particles: 4000 per frame undiluted.
    let per_frame = |dilution: f64| {
        let mut x = nta.clone();
        x.dilution = dilution;
        x.measure(&one(100.0 * c, 200.0 * NM, 0.0), &mut stream(5, 2, 0))
            .range
    };
    assert_eq!(per_frame(1.0), CountingRange::TooConcentrated);
    assert_eq!(per_frame(100.0), CountingRange::InRange);
    assert_eq!(per_frame(1e4), CountingRange::TooDilute);
}

fn cytometer(windows: u32) -> FlowCytometer {
    FlowCytometer {
        threshold_diameter: 300.0 * NM,
        measurement_volume: 1e-14,
        flow_rate: 10e-9 / 60.0,
        duration: 60.0,
        dilution: 1.0,
        windows,
        swarm_flag_share: 0.05,
    }
}

/// Swarm detection (van der Pol et al. 2012): vesicles below the trigger
/// are counted as one event when enough are illuminated at once. For a
/// monodisperse population with scatter s = (d/d_T)⁶ the events per second
/// are Q/V · P(Poisson(c·V) ≥ ⌈1/s⌉). Checked for 4 vesicles per swarm
/// (s = 1/4) and 729 (100 nm under a 300 nm trigger) around the onset
/// concentration ⌈1/s⌉/V, within 5 standard errors of the Monte Carlo
/// estimate and the Poisson count of events.
#[test]
fn swarm_events_follow_van_der_pols_occupancy_formula() {
    let flow = cytometer(100_000);
    let quarter = flow.threshold_diameter * 0.25f64.powf(1.0 / 6.0);
    assert_eq!(vesicles_per_swarm(&flow, quarter), 4);
    assert_eq!(vesicles_per_swarm(&flow, 100.0 * NM), 729);
    let volumes = flow.volumes_per_second() * flow.duration;
    for (d, factors) in [
        (quarter, [0.25, 0.5, 1.0, 2.0]),
        (100.0 * NM, [0.9, 0.97, 1.0, 1.05]),
    ] {
        let onset = swarm_onset_concentration(&flow, d);
        for (i, f) in factors.iter().enumerate() {
            let c = onset * f;
            let r = flow.measure(&one(c, d, 0.0), &mut stream(9, 2, i as u64));
            assert_eq!(r.single_events, 0.0);
            let p = swarm_events_per_second(&flow, c, d) / flow.volumes_per_second();
            let se =
                (volumes * volumes * p * (1.0 - p) / f64::from(flow.windows) + volumes * p).sqrt();
            assert!(
                (r.swarm_events - volumes * p).abs() <= 5.0 * se.max(1.0),
                "d = {:.0} nm, c = {f}·onset: {} swarm events, formula {}",
                d / NM,
                r.swarm_events,
                volumes * p
            );
        }
    }
    // Far below the onset nothing is counted; dilution removes the swarm.
    let c = swarm_onset_concentration(&flow, 100.0 * NM) * 1.05;
    let mut diluted = flow.clone();
    diluted.dilution = 10.0;
    let r = diluted.measure(&one(c, 100.0 * NM, 0.0), &mut stream(9, 3, 0));
    assert_eq!(r.events, 0.0);
    let r = flow.measure(&one(c, 100.0 * NM, 0.0), &mut stream(9, 3, 1));
    assert!(r.swarm && r.events > 0.0);
}

/// Single-particle detection: a flow cytometer counts the volumes holding
/// a particle larger than its threshold diameter, Q·t/V·(1 − exp(−c·V·P))
/// with P = P(d > d_T) from the log-normal (two in one volume are one
/// event: coincidence; ≈ c·Q·t·P when c·V·P ≪ 1), within Poisson's 4 σ,
/// for d_T below, at and above the median.
#[test]
fn single_detection_fraction_follows_the_threshold_diameter() {
    let c = 1e13;
    let (median, cv) = (300.0 * NM, 0.5);
    let normal = Normal::standard();
    for dt in [150.0, 300.0, 600.0] {
        let mut flow = cytometer(1000);
        flow.threshold_diameter = dt * NM;
        let r = flow.measure(&one(c, median, cv), &mut stream(4, 4, dt as u64));
        let above = 1.0 - normal.cdf((dt * NM / median).ln() / sigma_of_cv(cv));
        let volumes = flow.volumes_per_second() * flow.duration;
        let want = volumes * -(-c * flow.measurement_volume * above).exp_m1();
        assert!(
            (r.single_events - want).abs() < 4.0 * want.sqrt(),
            "d_T = {dt} nm: {} events, want {want}",
            r.single_events
        );
        assert_eq!(r.swarm_events, 0.0);
        assert!((r.true_above_threshold / (c * above) - 1.0).abs() < 1e-6);
    }
}

/// The Gamma density used by the χ² test integrates to one (a check of the
/// test's own arithmetic).
#[test]
fn the_sizing_law_is_a_proper_density() {
    let g = Gamma::new(15.0, 15.0).unwrap();
    let h = 1e-4;
    let total: f64 = (1..40_000).map(|i| g.pdf(i as f64 * h) * h).sum();
    assert!((total - 1.0).abs() < 1e-6, "{total}");
}

const STUDY: &str = include_str!("../../../../studies/nta_flow_same_sample.toml");

/// Bad instruments are refused at the key, on its line, with a hint.
#[test]
fn bad_instruments_are_located() {
    let first = "kind = \"nta\"\ndilution = 1000000";
    let cases: [(&str, &str, &str, &str); 7] = [
        (
            "min_diameter = \"500 nm\"\nmax_diameter = \"200 nm\"\n",
            "max_diameter",
            "reversed",
            "instruments[0].max_diameter",
        ),
        (
            "view_volume = \"-1 nL\"\n",
            "view_volume",
            "greater than zero",
            "instruments[0].view_volume",
        ),
        (
            "threshold_diameter = \"200 nm\"\n",
            "threshold_diameter",
            "setting of `flow_cytometry`",
            "instruments[0].threshold_diameter",
        ),
        (
            "track_steps = 0\n",
            "track_steps",
            "0 steps",
            "instruments[0].track_steps",
        ),
        (
            "bin_width = \"1 um\"\n",
            "bin_width",
            "bins",
            "instruments[0].bin_width",
        ),
        (
            "min_per_frame = 200\n",
            "min_per_frame",
            "reversed",
            "instruments[0].min_per_frame",
        ),
        (
            "frame_rate = \"-30 /s\"\n",
            "frame_rate",
            "greater than zero",
            "instruments[0].frame_rate",
        ),
    ];
    for (extra, needle, says, key) in cases {
        let text = STUDY.replacen(first, &format!("{first}\n{extra}"), 1);
        let e = error(&text);
        assert_eq!(e.key, key, "{e}");
        assert_eq!(e.line, line_of(&text, needle), "{e}");
        assert!(e.message.contains(says), "{e}");
    }
    let e = error(&STUDY.replacen("kind = \"nta\"", "kind = \"ntaa\"", 1));
    assert_eq!(e.key, "instruments[0].kind");
    assert!(
        e.hint
            .as_deref()
            .unwrap_or("")
            .contains("did you mean `nta`"),
        "{e}"
    );
    let e = error(&STUDY.replacen("dilution = 1000000", "dilution = -3", 1));
    assert_eq!(e.key, "instruments[0].dilution");
    assert!(e.message.contains("below 1"), "{e}");
    let e = error(&STUDY.replacen("time = \"2 min\" }", "time = \"3 min\" }", 1));
    assert_eq!(e.key, "instruments[0].sample.time");
    assert!(e.hint.as_deref().unwrap_or("").contains("2 min"), "{e}");
    let e = error(&STUDY.replacen("arm = \"main\"", "arm = \"mian\"", 1));
    assert_eq!(e.key, "instruments[0].sample.arm");
    let e = error(&STUDY.replacen("preset = \"conventional\"", "preset = \"standard\"", 1));
    assert_eq!(e.key, "instruments[1].preset");
    let e = error(&STUDY.replacen("diameter_cv = 0.3", "diameter_cv = -0.3", 1));
    assert_eq!(e.key, "vesicles[0].diameter_cv");
    let e = error(&STUDY.replacen(
        "place = \"blood\", time = \"2 min\" }",
        "place = \"blood\", variant = \"a\", time = \"2 min\" }",
        1,
    ));
    assert_eq!(e.key, "instruments[0].sample.variant");
}

/// A body sample holds the arm's vesicles at that time: blood is read as
/// plasma, so the sample's concentration times the plasma volume
/// (`blood_volume × (1 − haematocrit)`) is the count the body engine
/// reported (no vesicle made or lost between engine and instrument).
#[test]
fn a_body_sample_holds_the_engines_count() {
    let study = parse_study(STUDY, "s.toml").unwrap();
    let result = run::run(&study, |_| {}).unwrap();
    let arm = &result.arms[0];
    let k = arm.times.iter().position(|&t| t == 120.0).unwrap();
    let plasma = study.arms[0].body.plasma_volume();
    let run = &result.instruments[0];
    for (i, cc) in arm.classes.iter().enumerate() {
        let count = cc.series(exosim::body::pbpk::Place::Blood).unwrap()[k];
        let held = run.sample.components[i].concentration * plasma;
        assert!((held / count - 1.0).abs() < 1e-12, "{held} vs {count}");
    }
    assert_eq!(run.sample.components.last().unwrap().name, "lipoproteins");
}

/// The shipped study: same seed, same bytes; another seed, another reading.
#[test]
fn the_shipped_study_is_bit_identical_under_its_seed() {
    let files = |text: &str| {
        let study = parse_study(text, "s.toml").unwrap();
        let result = run::run(&study, |_| {}).unwrap();
        let dir = tempfile::tempdir().unwrap();
        run::write(dir.path(), &study, &result).unwrap();
        let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
        (read("summary.json"), read("instrument_nta_2min.csv"))
    };
    let a = files(STUDY);
    assert_eq!(a, files(STUDY));
    let b = files(&STUDY.replacen("seed = 7", "seed = 8", 1));
    assert_ne!(a.0, b.0);
}

/// A tissue sample holds the tissue's free vesicles at that time over the
/// domain's volume, with the class's log-normal size (`diameter_cv` 0.4).
#[test]
fn a_tissue_sample_holds_the_free_vesicles_of_the_domain() {
    let text = include_str!("../../../../studies/dish_uptake.toml")
        .replacen("duration = \"24 h\"", "duration = \"2 h\"", 1)
        .replacen(
            "snapshot_times = [\"1 h\", \"24 h\"]",
            "snapshot_times = [\"1 h\"]",
            1,
        )
        .replacen("replicates = 2", "replicates = 1", 1)
        + "\n[[instruments]]\nname = \"nta_dish\"\nkind = \"nta\"\n\
           sample = { from = \"tissue\", variant = \"dose_1e6\", time = \"1 h\" }\n";
    let study = parse_study(&text, "dish.toml").unwrap_or_else(|e| panic!("{e}"));
    let result = run::run(&study, |_| {}).unwrap();
    let replicate = result
        .tissue
        .iter()
        .find(|r| r.variant == "dose_1e6" && r.replicate == 0)
        .unwrap();
    let k = replicate
        .record
        .rows
        .iter()
        .position(|r| r[0] == 3600.0)
        .unwrap();
    let free = replicate.record.series("vesicles_ev_free").unwrap()[k];
    assert!(free > 0.0);
    let volume = 150e-6 * 150e-6 * 400e-6;
    let c = &result.instruments[0].sample.components;
    assert_eq!(c.len(), 1, "no lipoproteins outside blood");
    assert!((c[0].concentration * volume / free - 1.0).abs() < 1e-12);
    assert!((c[0].sigma - sigma_of_cv(0.4)).abs() < 1e-15);
    assert!((c[0].median - 100.0 * NM).abs() < 1e-20);
}
