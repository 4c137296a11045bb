//! Rules richer than linear, each form against its law: Hill and threshold
//! responses to the copies a cell holds; division, death and motility
//! scaled by a cell's state (linear and Hill factors); cargo composition
//! that follows the sender's state per molecule; the free vesicles' cargo
//! in the snapshots; and the errors of bad rule input, at their line and key.

use std::collections::HashMap;

use exosim::scenario::parse_study;
use exosim::tissue::engine::TissueRun;
use exosim::tissue::model::{TissueModel, hill_fraction};
use exosim::tissue::observe::write_snapshots;

use crate::study_errors::{error, line_of};

fn model(text: &str) -> TissueModel {
    parse_study(text, "rules.toml")
        .expect("valid study")
        .tissue
        .expect("a tissue section")
}

/// A 2-D dish with one vesicle class carrying molecules `a` and `b`, no
/// uptake, the cell types and rules of `body` appended.
fn dish(duration: &str, time_step: &str, body: &str) -> String {
    format!(
        r#"
[study]
name = "rules"
seed = 11
duration = "{duration}"
[tissue]
dimensions = 2
size = ["4000 um", "4000 um"]
time_step = "{time_step}"
[[tissue.vesicles]]
name = "ev"
diameter = "100 nm"
cargo = {{ a = {{ mean = 10.0 }}, b = {{ mean = 10.0 }} }}
{body}
"#
    )
}

/// `count` cells of `cell_type` at random in the square [lo, hi]² (µm).
fn placed(cell_type: &str, count: usize, lo: f64, hi: f64) -> String {
    format!(
        r#"
[[tissue.placements]]
shape = "random"
cell_type = "{cell_type}"
count = {count}
lower = ["{lo} um", "{lo} um"]
upper = ["{hi} um", "{hi} um"]
"#
    )
}

/// Four cells holding fixed copies of `a` (no uptake, no turnover), run
/// for `steps` cell steps of `dt` seconds under the one rule `rule`;
/// returns (copies held, state reached) per cell.
fn held_response(rule: &str, held: [f64; 4], steps: usize) -> Vec<(f64, f64)> {
    let body = format!(
        r#"
[[tissue.cell_types]]
name = "cell"
radius = "5 um"
state = {{ x = {{ initial = 0.0, min = -1e12, max = 1e12 }} }}
{}
[[tissue.rules]]
name = "r"
cell_type = "cell"
cargo = "a"
state = "x"
on = "held"
{rule}
"#,
        placed("cell", 4, 500.0, 3500.0)
    );
    let m = model(&dish("1 h", "1 min", &body));
    let mut run = TissueRun::new(&m, &m.variants[0], 3);
    for (i, &h) in held.iter().enumerate() {
        run.cells.held_of_mut(i)[0] = h;
    }
    for _ in 0..steps {
        run.advance("main").unwrap();
    }
    (0..4)
        .map(|i| (run.cells.held_of(i)[0], run.cells.state_of(i)[0]))
        .collect()
}

/// Hill law of a `held` rule: a cell holding h copies changes its state at
/// rate·hⁿ/(Kⁿ + hⁿ) per second, so after t seconds the state is
/// t·rate·hⁿ/(Kⁿ + hⁿ) (closed form, to rounding), 0 at h = 0, half the
/// full rate at h = K.
#[test]
fn hill_rule_changes_state_at_the_hill_rate_of_the_copies_held() {
    let rule = r#"response = "hill"
rate = "0.6 /h"
half_max = 40.0
hill = 2.5"#;
    let steps = 60;
    let t = steps as f64 * 60.0;
    let rate = 0.6 / 3600.0;
    let out = held_response(rule, [0.0, 10.0, 40.0, 200.0], steps);
    for (h, x) in out {
        let law = t * rate * h.powf(2.5) / (40f64.powf(2.5) + h.powf(2.5));
        assert!(
            (x - law).abs() <= 1e-12 * law.abs().max(1e-300),
            "h = {h}: state {x}, law {law}"
        );
    }
    assert!((hill_fraction(40.0, 40.0, 2.5) - 0.5).abs() < 1e-15);
}

/// Threshold law: no change while the copies held are below the
/// threshold; at and above it the state changes linearly in time at
/// `rate`, whatever the copies.
#[test]
fn threshold_rule_acts_only_from_the_threshold_and_linearly_in_time() {
    let rule = r#"response = "threshold"
rate = "0.6 /h"
threshold = 100.0"#;
    let rate = 0.6 / 3600.0;
    for steps in [30, 60] {
        let t = steps as f64 * 60.0;
        let out = held_response(rule, [0.0, 99.9, 100.0, 300.0], steps);
        assert_eq!(out[0].1, 0.0);
        assert_eq!(out[1].1, 0.0);
        for &(h, x) in &out[2..] {
            assert!((x - rate * t).abs() <= 1e-12 * rate * t, "h = {h}: {x}");
        }
    }
}

/// The linear form is the default and unchanged: rate_per_copy × copies
/// held × time.
#[test]
fn linear_held_rule_is_the_default_form() {
    let out = held_response(r#"rate_per_copy = "0.36 /h""#, [0.0, 1.0, 5.0, 50.0], 60);
    for (h, x) in out {
        let law = 0.36 / 3600.0 * h * 3600.0;
        assert!((x - law).abs() <= 1e-12 * law.max(1e-300), "{h}: {x}");
    }
}

/// A cell type of `n` cells with state `x` fixed at `x0` and `extra` lines.
fn fate_type(name: &str, x0: f64, extra: &str) -> String {
    format!(
        r#"
[[tissue.cell_types]]
name = "{name}"
radius = "2 um"
state = {{ x = {{ initial = {x0}, max = 1e3 }} }}
{extra}
"#
    )
}

/// Cells per type at the end of `m`'s run, and the run (for positions).
fn run_to_end(m: &TissueModel, seed: u64) -> (Vec<f64>, TissueRun<'_>) {
    let mut run = TissueRun::new(m, &m.variants[0], seed);
    let steps = (m.duration / m.dt).round() as usize;
    for _ in 0..steps {
        run.advance("main").unwrap();
    }
    let mut count = vec![0.0; m.cell_types.len()];
    for &k in &run.cells.kind {
        count[k as usize] += 1.0;
    }
    (count, run)
}

/// Division under a state multiplier: each cell divides in a cell step
/// with probability p = 1 − exp(−λ·f·Δt), so the expected population after
/// K steps is N₀(1 + p)^K (a pure birth process, variance about
/// N₀e^{λft}(e^{λft} − 1)). Checked within 5 sd for a linear factor f = 2,
/// a Hill factor at its half-max state (f = ½) and a Hill factor far past
/// it (f ≈ 10⁻⁴: the cells stop dividing).
#[test]
fn division_rate_follows_the_state_multiplier() {
    let lin = r#"division_time = "10 h"
division_scale = [{ state = "x", gain = 1.0, reference = 1.0 }]"#;
    let hill = r#"division_time = "10 h"
division_scale = [{ state = "x", response = "hill", half_max = 3.0, hill = 4.0, saturation = 0.0 }]"#;
    let n0 = 400;
    let body = [
        fate_type("lin", 2.0, lin),
        fate_type("half", 3.0, hill),
        fate_type("off", 30.0, hill),
        placed("lin", n0, 100.0, 1300.0),
        placed("half", n0, 1400.0, 2600.0),
        placed("off", n0, 2700.0, 3900.0),
    ]
    .concat();
    let m = model(&dish("5 h", "10 min", &body));
    let (count, _) = run_to_end(&m, 7);
    let lambda = std::f64::consts::LN_2 / (10.0 * 3600.0);
    let (dt, k, t) = (600.0, 30, 5.0 * 3600.0);
    let off = 1.0 - hill_fraction(30.0, 3.0, 4.0);
    for (j, f) in [2.0, 0.5, off].into_iter().enumerate() {
        let p = -(-lambda * f * dt).exp_m1();
        let mean = n0 as f64 * (1.0 + p).powi(k);
        let g = (lambda * f * t).exp();
        let sd = (n0 as f64 * g * (g - 1.0)).sqrt().max(1.0);
        assert!(
            (count[j] - mean).abs() <= 5.0 * sd,
            "type {j}: {} cells, expected {mean:.1} ± {sd:.1}",
            count[j]
        );
    }
    // Unscaled, `lin` would have grown to about 566: the factor is seen.
    assert!(count[0] > 700.0, "{count:?}");
}

/// Death under a state multiplier: survival over t is exp(−μ·f·t) exactly
/// (the per-step probability 1 − exp(−μfΔt) compounds to it), so the
/// survivors of N₀ are binomial; within 5 sd for a linear f = 3 and a
/// rising Hill factor at its half-max state, f = (0 + 2)/2 = 1.
#[test]
fn death_hazard_follows_the_state_multiplier() {
    let lin = r#"death_rate = "0.1 /h"
death_scale = [{ state = "x", gain = 1.0, reference = 1.0 }]"#;
    let hill = r#"death_rate = "0.1 /h"
death_scale = [{ state = "x", response = "hill", half_max = 2.0, base = 0.0, saturation = 2.0 }]"#;
    let n0 = 400;
    let body = [
        fate_type("lin", 3.0, lin),
        fate_type("hill", 2.0, hill),
        placed("lin", n0, 100.0, 1900.0),
        placed("hill", n0, 2100.0, 3900.0),
    ]
    .concat();
    let m = model(&dish("5 h", "10 min", &body));
    let (count, _) = run_to_end(&m, 8);
    for (j, f) in [3.0, 1.0].into_iter().enumerate() {
        let s = (-0.1 * f * 5.0f64).exp();
        let mean = n0 as f64 * s;
        let sd = (n0 as f64 * s * (1.0 - s)).sqrt();
        assert!(
            (count[j] - mean).abs() <= 5.0 * sd,
            "type {j}: {} survivors, expected {mean:.1} ± {sd:.1}",
            count[j]
        );
    }
}

/// Motility under a state multiplier: a cell's random walk has mean
/// squared displacement 2·d·D·f·t (d = 2 here); the mean over N cells has
/// relative sd 1/√N in 2-D, checked within 5 sd for a linear f = 2 and a
/// Hill f = ¼ (base 0, saturation 1, state at K/√3 with n = 2).
#[test]
fn motility_follows_the_state_multiplier() {
    let lin = r#"motility = "1 um^2/min"
motility_scale = [{ state = "x", gain = 1.0, reference = 1.0 }]"#;
    let hill = r#"motility = "1 um^2/min"
motility_scale = [{ state = "x", response = "hill", half_max = 1.7320508075688772, hill = 2.0, base = 0.0, saturation = 1.0 }]"#;
    let n0 = 400;
    let body = [
        fate_type("lin", 2.0, lin),
        fate_type("hill", 1.0, hill),
        placed("lin", n0, 500.0, 1900.0),
        placed("hill", n0, 2100.0, 3500.0),
    ]
    .concat();
    let m = model(&dish("5 h", "10 min", &body));
    let start = TissueRun::new(&m, &m.variants[0], 9);
    let origin: HashMap<u64, [f64; 3]> = start
        .cells
        .id
        .iter()
        .copied()
        .zip(start.cells.pos.iter().copied())
        .collect();
    let (_, run) = run_to_end(&m, 9);
    let d = 1e-12 / 60.0;
    let t = 5.0 * 3600.0;
    for (j, f) in [2.0, 0.25].into_iter().enumerate() {
        let sq: Vec<f64> = (0..run.cells.len())
            .filter(|&i| run.cells.kind[i] as usize == j)
            .map(|i| {
                let (a, b) = (origin[&run.cells.id[i]], run.cells.pos[i]);
                (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
            })
            .collect();
        assert_eq!(sq.len(), n0);
        let msd = sq.iter().sum::<f64>() / n0 as f64;
        let law = 2.0 * 2.0 * d * f * t;
        let rel = 1.0 / (n0 as f64).sqrt();
        assert!(
            (msd / law - 1.0).abs() <= 5.0 * rel,
            "type {j}: MSD {msd:e} m², law {law:e} m²"
        );
    }
}

/// Cargo composition from the sender's state: a `cargo_scale` entry with a
/// molecule scales that molecule alone, one without scales all. With
/// `a` scaled by (1 + x) and both by (1 + x/2), the released vesicles
/// carry a : b = (1 + x) : 1 and b = 10·(1 + x/2) copies each on average
/// (Poisson copy numbers: within 5 sd of the sums).
#[test]
fn cargo_composition_follows_the_senders_state_per_molecule() {
    let sender = |name: &str, class: &str, x: f64| {
        format!(
            r#"
[[tissue.vesicles]]
name = "{class}"
diameter = "100 nm"
cargo = {{ a = {{ mean = 10.0 }}, b = {{ mean = 10.0 }} }}
[[tissue.cell_types]]
name = "{name}"
radius = "5 um"
state = {{ x = {{ initial = {x}, max = 10.0 }} }}
secretion = [{{ class = "{class}", rate = "600 /h", cargo_scale = [
  {{ state = "x", gain = 1.0, reference = 0.0, molecule = "a" }},
  {{ state = "x", gain = 0.5, reference = 0.0 }} ] }}]
"#
        )
    };
    let body = [
        sender("s1", "ev1", 1.0),
        sender("s3", "ev3", 3.0),
        placed("s1", 10, 500.0, 1500.0),
        placed("s3", 10, 2500.0, 3500.0),
    ]
    .concat();
    let m = model(&dish("1 h", "1 min", &body));
    let (_, run) = run_to_end(&m, 4);
    let frame = run.frame();
    for (class, x) in [(1, 1.0), (2, 3.0)] {
        let (mut a, mut b, mut n) = (0.0, 0.0, 0.0);
        for i in 0..frame.vesicle_class.len() {
            if frame.vesicle_class[i] as usize == class {
                a += frame.cargo(i, 0);
                b += frame.cargo(i, 1);
                n += frame.vesicle_weight[i];
            }
        }
        assert!(n > 3000.0, "{n} vesicles of class {class}");
        let (ea, eb) = (
            n * 10.0 * (1.0 + x) * (1.0 + x / 2.0),
            n * 10.0 * (1.0 + x / 2.0),
        );
        assert!((a - ea).abs() <= 5.0 * ea.sqrt(), "a {a} vs {ea}");
        assert!((b - eb).abs() <= 5.0 * eb.sqrt(), "b {b} vs {eb}");
        let ratio = a / b;
        assert!(
            (ratio / (1.0 + x) - 1.0).abs() <= 5.0 * (1.0 / ea + 1.0 / eb).sqrt(),
            "x = {x}: a/b = {ratio}"
        );
    }
}

/// Snapshots carry each free particle's cargo: the `cargo_<molecule>`
/// columns of `vesicles_NNNN.csv` sum to the free cargo the run holds, and
/// the VTK files carry the same arrays.
#[test]
fn snapshot_cargo_columns_sum_to_the_free_cargo() {
    let body = [
        r#"
[[tissue.cell_types]]
name = "src"
radius = "5 um"
nonspecific_uptake = 0.5
secretion = [{ class = "ev", rate = "300 /h" }]
"#
        .to_string(),
        placed("src", 20, 1800.0, 2200.0),
    ]
    .concat();
    let m = model(&dish("30 min", "1 min", &body));
    let (_, run) = run_to_end(&m, 5);
    let frame = run.frame();
    let dir = tempfile::tempdir().unwrap();
    write_snapshots(dir.path(), &m, std::slice::from_ref(&frame)).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("vesicles_0000.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "time_s", "class", "x_m", "y_m", "z_m", "weight", "cargo_a", "cargo_b"
        ]
    );
    let mut sums = [0.0; 2];
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        for (s, c) in sums.iter_mut().zip(&cols[6..]) {
            *s += c.parse::<f64>().unwrap();
        }
    }
    let free = run.free_cargo();
    assert_eq!(sums.to_vec(), free);
    assert!(free[0] > 500.0, "{free:?}");
    let vtu = std::fs::read_to_string(dir.path().join("vesicles_0000.vtu")).unwrap();
    assert!(vtu.contains("Name=\"cargo_a\"") && vtu.contains("Name=\"cargo_b\""));
}

/// A study with one rule whose extra lines are `rule`, for the errors.
fn with_rule(rule: &str) -> String {
    dish(
        "1 h",
        "1 min",
        &format!(
            r#"
[[tissue.cell_types]]
name = "cell"
radius = "5 um"
state = {{ x = {{ initial = 0.0 }} }}
secretion = [{{ class = "ev", rate = "1 /h" }}]
[[tissue.rules]]
name = "r"
cell_type = "cell"
cargo = "a"
state = "x"
{rule}
"#
        ),
    )
}

/// Checks that `text` is refused at the line holding `needle`, under `key`,
/// with a message containing `message` and a hint containing `hint`.
fn refused(text: &str, needle: &str, key: &str, message: &str, hint: &str) {
    let e = error(text);
    assert_eq!(e.file, "s.toml");
    assert_eq!(e.key, key, "{e:?}");
    assert_eq!(e.line, line_of(text, needle), "{e:?}");
    assert!(e.message.contains(message), "{}", e.message);
    let h = e.hint.clone().unwrap_or_default();
    assert!(h.contains(hint), "hint: {h}");
}

#[test]
fn a_hill_coefficient_of_zero_or_less_is_refused_at_its_key() {
    for n in ["0.0", "-1.5"] {
        let text = with_rule(&format!(
            "on = \"held\"\nresponse = \"hill\"\nrate = \"1 /h\"\nhalf_max = 5.0\nhill = {n}"
        ));
        refused(
            &text,
            &format!("hill = {n}"),
            "tissue.rules[0].hill",
            "Hill coefficient",
            "2 to 4",
        );
    }
}

#[test]
fn a_half_max_of_zero_or_less_is_refused_at_its_key() {
    let text = with_rule("on = \"held\"\nresponse = \"hill\"\nrate = \"1 /h\"\nhalf_max = -2.0");
    refused(
        &text,
        "half_max = -2.0",
        "tissue.rules[0].half_max",
        "must be greater than zero",
        "half effect",
    );
}

#[test]
fn a_negative_threshold_is_refused_at_its_key() {
    let text =
        with_rule("on = \"held\"\nresponse = \"threshold\"\nrate = \"1 /h\"\nthreshold = -1.0");
    refused(
        &text,
        "threshold = -1.0",
        "tissue.rules[0].threshold",
        "must not be negative",
        "copies held",
    );
}

#[test]
fn a_misspelt_response_form_gets_did_you_mean() {
    let text = with_rule("on = \"held\"\nresponse = \"hil\"\nrate = \"1 /h\"\nhalf_max = 5.0");
    refused(
        &text,
        "response = \"hil\"",
        "tissue.rules[0].response",
        "unknown value `hil`",
        "did you mean `hill`?",
    );
}

#[test]
fn a_hill_response_on_received_copies_is_refused_with_the_way_out() {
    let text = with_rule("response = \"hill\"\nrate = \"1 /h\"\nhalf_max = 5.0");
    refused(
        &text,
        "response = \"hill\"",
        "tissue.rules[0].response",
        "acts on the copies a cell holds",
        "on = \"held\"",
    );
}

#[test]
fn a_hill_factor_with_a_bad_coefficient_is_refused_at_its_key() {
    let text = dish(
        "1 h",
        "1 min",
        r#"
[[tissue.cell_types]]
name = "cell"
radius = "5 um"
state = { x = { initial = 0.0 } }
division_time = "10 h"
division_scale = [{ state = "x", response = "hill", half_max = 1.0, hill = -2.0, saturation = 0.0 }]
"#,
    );
    refused(
        &text,
        "division_scale",
        "tissue.cell_types[0].division_scale[0].hill",
        "Hill coefficient",
        "2 to 4",
    );
}

/// An unknown molecule in a cargo_scale entry: "did you mean" among the
/// study's molecules; a known molecule the class does not carry: the
/// class's cargo listed.
#[test]
fn an_unknown_cargo_scale_molecule_gets_did_you_mean() {
    let secretion = |molecule: &str| {
        dish(
            "1 h",
            "1 min",
            &format!(
                r#"
[[tissue.vesicles]]
name = "other"
diameter = "100 nm"
cargo = {{ c = {{ mean = 1.0 }} }}
[[tissue.cell_types]]
name = "cell"
radius = "5 um"
state = {{ x = {{ initial = 1.0 }} }}
secretion = [{{ class = "ev", rate = "1 /h",
  cargo_scale = [{{ state = "x", gain = 1.0, molecule = "{molecule}" }}] }}]
"#
            ),
        )
    };
    let text = secretion("aa");
    refused(
        &text,
        "molecule = \"aa\"",
        "tissue.cell_types[0].secretion[0].cargo_scale[0].molecule",
        "unknown cargo molecule `aa`",
        "did you mean `a`?",
    );
    let text = secretion("c");
    refused(
        &text,
        "molecule = \"c\"",
        "tissue.cell_types[0].secretion[0].cargo_scale[0].molecule",
        "vesicle class `ev` carries no `c`",
        "`ev` carries: a, b",
    );
}

/// Keys of one form given to another are refused at the key, not ignored:
/// a `molecule` outside cargo_scale, a Hill `half_max` on a linear rule.
#[test]
fn keys_of_another_form_are_refused_at_their_key() {
    let text = dish(
        "1 h",
        "1 min",
        r#"
[[tissue.cell_types]]
name = "cell"
radius = "5 um"
state = { x = { initial = 0.0 } }
motility = "1 um^2/min"
motility_scale = [{ state = "x", gain = 1.0, molecule = "a" }]
"#,
    );
    refused(
        &text,
        "motility_scale",
        "tissue.cell_types[0].motility_scale[0].molecule",
        "only a cargo_scale entry scales one molecule",
        "cargo_scale",
    );
    let text = with_rule("on = \"held\"\nrate_per_copy = \"1 /h\"\nhalf_max = 5.0");
    refused(
        &text,
        "half_max = 5.0",
        "tissue.rules[0].half_max",
        "belongs to a hill or threshold rule",
        "response = \"hill\"",
    );
}
