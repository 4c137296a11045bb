//! Property tests: invariants that must hold for every study, not only the
//! hand-written ones.
//!
//! - Vesicles are conserved: for random valid studies, what was dosed and
//!   released equals what is present, cleared and degraded.
//! - The study reader never panics, whatever the text, and its errors point
//!   inside the file.
//! - A study that parses also runs: the engine returns a result or a solver
//!   error, never a panic.

use exosim::run::{RunError, run};
use exosim::scenario::{Study, StudyError, parse_study};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

// ---------------------------------------------------------------------------
// Random valid studies

#[derive(Debug, Clone)]
struct ClassGen {
    diameter_nm: f64,
    ps_exposure: f64,
    cd47: f64,
}

#[derive(Debug, Clone)]
enum RouteGen {
    IvBolus,
    /// Infusion length, minutes.
    IvInfusion(u32),
    Intraperitoneal,
    Subcutaneous,
    LocalLiver,
}

#[derive(Debug, Clone)]
struct DoseGen {
    class: usize,
    route: RouteGen,
    amount: f64,
    count: u32,
    every_h: u32,
    /// Where the schedule starts in the room left by the study: 0 to 1.
    start: f64,
}

#[derive(Debug, Clone)]
struct SourceGen {
    class: usize,
    rate_per_h: f64,
    /// Start and end as fractions of the study, if set.
    window: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
struct StudyGen {
    human: bool,
    duration_h: u32,
    interval_min: u32,
    mps_capacity: f64,
    classes: Vec<ClassGen>,
    doses: Vec<DoseGen>,
    sources: Vec<SourceGen>,
}

fn class_gen() -> impl Strategy<Value = ClassGen> {
    // Diameters log-uniform from 30 nm to 2 µm.
    (30f64.ln()..2000f64.ln(), 0.0..=2.0f64, 0.0..=1.0f64).prop_map(|(ln_d, ps, cd47)| ClassGen {
        diameter_nm: ln_d.exp(),
        ps_exposure: ps,
        cd47,
    })
}

fn route_gen() -> impl Strategy<Value = RouteGen> {
    prop_oneof![
        Just(RouteGen::IvBolus),
        (10u32..=90).prop_map(RouteGen::IvInfusion),
        Just(RouteGen::Intraperitoneal),
        Just(RouteGen::Subcutaneous),
        Just(RouteGen::LocalLiver),
    ]
}

fn dose_gen() -> impl Strategy<Value = DoseGen> {
    (
        0usize..3,
        route_gen(),
        3.0..=13.0f64,
        1u32..=4,
        2u32..=8,
        0.0..=1.0f64,
    )
        .prop_map(
            |(class, route, log_amount, count, every_h, start)| DoseGen {
                class,
                route,
                amount: 10f64.powf(log_amount),
                count,
                every_h,
                start,
            },
        )
}

fn source_gen() -> impl Strategy<Value = SourceGen> {
    (
        0usize..3,
        3.0..=9.0f64,
        proptest::option::of((0.0..0.5f64, 0.5..=1.0f64)),
    )
        .prop_map(|(class, log_rate, window)| SourceGen {
            class,
            rate_per_h: 10f64.powf(log_rate),
            window,
        })
}

fn study_gen() -> impl Strategy<Value = StudyGen> {
    (
        any::<bool>(),
        6u32..=48,
        prop_oneof![Just(10u32), Just(30), Just(60)],
        0.0..=1.0f64,
        proptest::collection::vec(class_gen(), 1..=3),
        proptest::collection::vec(dose_gen(), 0..=3),
        proptest::collection::vec(source_gen(), 0..=2),
    )
        .prop_map(
            |(human, duration_h, interval_min, mps_capacity, classes, mut doses, sources)| {
                let n = classes.len();
                for d in &mut doses {
                    d.class %= n;
                }
                let mut sources: Vec<SourceGen> = sources
                    .into_iter()
                    .map(|s| SourceGen {
                        class: s.class % n,
                        ..s
                    })
                    .collect();
                if doses.is_empty() && sources.is_empty() {
                    sources.push(SourceGen {
                        class: 0,
                        rate_per_h: 1e6,
                        window: None,
                    });
                }
                StudyGen {
                    human,
                    duration_h,
                    interval_min,
                    mps_capacity,
                    classes,
                    doses,
                    sources,
                }
            },
        )
}

impl StudyGen {
    /// The study file. Times are written in whole seconds, so that every
    /// schedule fits the study exactly.
    fn text(&self) -> String {
        let duration_s = self.duration_h * 3600;
        let mut t = format!(
            "[study]\nname = \"prop\"\nduration = \"{} h\"\noutput_interval = \"{} min\"\n\n\
             [body]\nspecies = \"{}\"\n\n[body.mps]\ncapacity = {:?}\n",
            self.duration_h,
            self.interval_min,
            if self.human { "human" } else { "mouse" },
            self.mps_capacity,
        );
        for (i, c) in self.classes.iter().enumerate() {
            t += &format!(
                "\n[[vesicles]]\nname = \"c{i}\"\ndiameter = \"{:?} nm\"\nps_exposure = {:?}\ncd47 = {:?}\n",
                c.diameter_nm, c.ps_exposure, c.cd47
            );
        }
        for d in &self.doses {
            let infusion_s = match d.route {
                RouteGen::IvInfusion(min) => min * 60,
                _ => 0,
            };
            // As many administrations as fit, every one inside the study.
            let every_s = d.every_h * 3600;
            let fit = (duration_s - infusion_s) / every_s + 1;
            let count = d.count.min(fit);
            let room = duration_s - infusion_s - (count - 1) * every_s;
            let at = (d.start * room as f64).floor() as u32;
            t += &format!(
                "\n[[doses]]\nvesicles = \"c{}\"\namount = {:?}\nat = \"{at} s\"\n",
                d.class, d.amount
            );
            t += match d.route {
                RouteGen::IvBolus => "route = \"iv_bolus\"\n".to_string(),
                RouteGen::IvInfusion(min) => {
                    format!("route = \"iv_infusion\"\nduration = \"{min} min\"\n")
                }
                RouteGen::Intraperitoneal => "route = \"intraperitoneal\"\n".to_string(),
                RouteGen::Subcutaneous => "route = \"subcutaneous\"\n".to_string(),
                RouteGen::LocalLiver => "route = \"local\"\nsite = \"liver\"\n".to_string(),
            }
            .as_str();
            if count > 1 {
                t += &format!("count = {count}\nevery = \"{} h\"\n", d.every_h);
            }
        }
        for s in &self.sources {
            t += &format!(
                "\n[[sources]]\nvesicles = \"c{}\"\nrate = \"{:?} /h\"\n",
                s.class, s.rate_per_h
            );
            if let Some((start, end)) = s.window {
                let start_s = (start * duration_s as f64).floor() as u32;
                let end_s = ((end * duration_s as f64).floor() as u32).max(start_s + 1);
                t += &format!("start = \"{start_s} s\"\nend = \"{end_s} s\"\n");
            }
        }
        t
    }
}

proptest! {
    // A fixed seed: the same 32 studies on every run, so that CI is
    // repeatable. 1000 cases with random seeds also pass (checked by hand
    // after the interpolation fix described at
    // `mass_balance_closes_at_an_output_time_just_before_an_infusion_ends`).
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x0e05_1e55),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mass_balance_closes_for_random_valid_studies(g in study_gen()) {
        let text = g.text();
        let study = parse_study(&text, "prop.toml")
            .unwrap_or_else(|e| panic!("generated study is invalid: {e}\n{text}"));
        let result = run(&study, |_| {})
            .unwrap_or_else(|e| panic!("generated study does not run: {e}\n{text}"));
        prop_assert_eq!(result.summaries.len(), result.arms.iter().map(|a| a.classes.len()).sum::<usize>());
        prop_assert!(!result.summaries.is_empty());
        for s in &result.summaries {
            prop_assert!(
                s.mass_balance_relative_error < 1e-9,
                "class {} of arm {}: relative mass balance error {:e}\n{}",
                s.vesicles, s.arm, s.mass_balance_relative_error, text
            );
        }
        for (arm, course) in study.arms.iter().zip(&result.arms) {
            // Counts may dip below zero by the solver's absolute tolerance,
            // which is scaled to each class's own input.
            for cc in &course.classes {
                let (dosed, released) = arm.input_by(cc.class, study.duration);
                let floor = 10.0 * study.solver.atol_fraction * (dosed + released).max(1.0);
                for p in &cc.places {
                    prop_assert!(
                        p.counts.iter().all(|c| c.is_finite() && *c >= -floor),
                        "negative or non-finite counts in {:?}\n{}", p.place, text
                    );
                }
            }
        }
    }
}

/// The largest relative mass-balance error over the classes of a run.
fn worst_balance(text: &str) -> f64 {
    let study = parse_study(text, "regression.toml").unwrap();
    let result = run(&study, |_| {}).unwrap();
    result
        .summaries
        .iter()
        .map(|s| s.mass_balance_relative_error)
        .fold(0.0, f64::max)
}

/// Found by `mass_balance_closes_for_random_valid_studies` with a random seed:
/// the error was 1.9e-9 at the output time 73200 s only, 40 s before the
/// infusion ends, because outputs inside a solver step came from the BDF
/// interpolant, which conserves vesicles only to the relative tolerance.
/// Outputs now come from a conservative quintic Hermite interpolant
/// (`body::network`), and the balance closes to rounding.
#[test]
fn mass_balance_closes_at_an_output_time_just_before_an_infusion_ends() {
    let text = r#"
[study]
name = "regression"
duration = "22 h"
output_interval = "10 min"

[body.mps]
capacity = 0.9963353320783175

[[vesicles]]
name = "c0"
diameter = "78.88244408903839 nm"
ps_exposure = 1.7689655261422341
cd47 = 0.004581504908152305

[[doses]]
vesicles = "c0"
amount = 1518840.4628876825
at = "40997 s"
route = "iv_bolus"

[[doses]]
vesicles = "c0"
amount = 2868058086.6492214
at = "70480 s"
route = "iv_infusion"
duration = "46 min"

[[sources]]
vesicles = "c0"
rate = "35310085.93936472 /h"
start = "38991 s"
end = "41036 s"
"#;
    let err = worst_balance(text);
    assert!(err < 1e-9, "relative mass balance error {err:e}");
}

/// Found by the same property: a class dosed with 1e3 vesicles beside one
/// dosed with 1.5e12 in the same arm. The absolute tolerance used to be scaled
/// to the arm's largest input (1.5 vesicles), so the small class dipped to
/// -1.69 vesicles; it is now scaled per class (`body::tolerances`).
#[test]
fn small_class_beside_a_large_one_stays_non_negative() {
    let text = r#"
[study]
name = "regression"
duration = "6 h"
output_interval = "10 min"

[body.mps]
capacity = 0.0

[[vesicles]]
name = "small_dose"
diameter = "1591.945429273676 nm"
ps_exposure = 0.0

[[vesicles]]
name = "large_dose"
diameter = "30 nm"
ps_exposure = 0.0

[[doses]]
vesicles = "small_dose"
amount = 1000.0
at = "10555 s"
route = "iv_bolus"

[[doses]]
vesicles = "large_dose"
amount = 1506358378165.477
route = "iv_bolus"
"#;
    let study = parse_study(text, "regression.toml").unwrap();
    let result = run(&study, |_| {}).unwrap();
    for cc in &result.arms[0].classes {
        let dose = *cc.dosed.last().unwrap();
        for p in &cc.places {
            let min = p.counts.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(
                min >= -1e-6 * dose,
                "{} in {:?}: {min} vesicles (dose {dose:e})",
                study.vesicles[cc.class].name,
                p.place
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The reader never panics

/// A study with every kind of table, to mutate.
const RICH_STUDY: &str = r#"# A study that uses most of the format.
[study]
name = "rich"
description = "arms, sources, a tumour and a ligand"
seed = 7
duration = "24 h"
output_interval = "30 min"
output_times = ["2 min"]
report_times = ["1 h", "12 h"]

[solver]
rtol = 1e-7

[body]
species = "mouse"
blood_volume = "1.7 mL"

[body.mps]
capacity = 0.5

[body.organs.liver]
volume = "1.5 mL"

[body.tumour]
volume = "0.2 mL"

[body.affinity.rgd]
tumour = 20

[[vesicles]]
name = "sEV"
diameter = "100 nm"
ps_exposure = 1.0
cd47 = 0.0

[[vesicles]]
name = "targeted"
diameter = "1 um"
ligands = { rgd = 1.0 }

[[doses]]
vesicles = "sEV"
route = "iv_infusion"
duration = "30 min"
amount = 1e10
at = "1 h"
count = 2
every = "6 h"

[[sources]]
vesicles = "sEV"
rate = "1e6 /h"
start = "0 h"
end = "12 h"

[[arms]]
name = "a"

[[arms]]
name = "b"
body = { mps = { capacity = 0.1 } }
[[arms.doses]]
vesicles = "targeted"
route = "local"
site = "tumour"
amount = "1e9 EVs"
"#;

const EXAMPLE_STUDY: &str = include_str!("../../../../studies/mouse_iv_bolus.toml");

/// Values that stress the reader: wrong types, odd numbers, odd units.
const ODD_VALUES: &[&str] = &[
    "\"\"",
    "\" \"",
    "-1",
    "0",
    "1e400",
    "-1e400",
    "nan",
    "inf",
    "-inf",
    "18446744073709551615",
    "-9223372036854775808",
    "true",
    "[]",
    "{}",
    "[1, \"a\"]",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "\"nan s\"",
    "\"inf h\"",
    "\"-5 min\"",
    "\"1e308 week\"",
    "\"1e-320 mL\"",
    "\"0 s\"",
    "\"1e30\"",
    "\"1e31\"",
    "\"1 h 5 min\"",
    "\"5 µm\"",
    "\"5 \u{3bc}L/min\"",
    "\"1/0 h\"",
    "\"\u{1F600}\"",
    "\"a\\u0000b\"",
    "\"liver\"",
    "\"tumour\"",
    "\"local\"",
    "\"human\"",
    "\"sEV\"",
    "'''multi\nline'''",
];

/// Keys and headers to insert.
const ODD_KEYS: &[&str] = &[
    "x = 1",
    "duration = \"1 h\"",
    "name = \"dup\"",
    "[study]",
    "[body]",
    "[body.organs.livr]",
    "[body.organs.lungs]\nblood_flow = \"1 mL/min\"",
    "[body.organs.tumour]",
    "[body.tumour]",
    "[[vesicles]]",
    "[[vesicles]]\nname = \"sEV\"",
    "[[doses]]",
    "[[doses]]\nvesicles = \"sEV\"\nroute = \"iv_bolus\"\namount = 1",
    "[[sources]]\nvesicles = \"nope\"\nrate = \"1 /h\"",
    "[[arms]]\nname = \"main\"",
    "[[arms]]\nname = \"\"",
    "[arms]",
    "[solver]\nrtol = 0",
    "[body.affinity.x]\nliver = -1",
    "a.b.c = 1",
    "\"quoted key\" = 1",
    "=",
    "[",
    "[[",
    "]]",
    "\"",
    "'''",
    "\u{feff}",
    "\r",
    "\t",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Delete the characters in [start, start + len), as fractions of the text.
    Delete(f64, usize),
    /// Duplicate a line.
    DuplicateLine(usize),
    /// Replace the value of an `a = b` line by garbage.
    ReplaceValue(usize, String),
    /// Insert a line before the given one.
    Insert(usize, String),
    /// Swap two lines.
    SwapLines(usize, usize),
}

fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(ODD_VALUES).prop_map(str::to_string),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        (any::<f64>(), "[a-zA-Zµ/^0-9 -]{0,6}").prop_map(|(x, u)| format!("\"{x} {u}\"")),
    ]
}

fn inserted() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(ODD_KEYS).prop_map(str::to_string),
        ("[a-z_]{1,10}", garbage()).prop_map(|(k, v)| format!("{k} = {v}")),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0f64, 1usize..40).prop_map(|(s, l)| Mutation::Delete(s, l)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), garbage()).prop_map(|(i, g)| Mutation::ReplaceValue(i, g)),
        (any::<usize>(), inserted()).prop_map(|(i, k)| Mutation::Insert(i, k)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::Delete(start, len) => {
            let chars: Vec<char> = text.chars().collect();
            let s = ((*start * chars.len() as f64) as usize).min(chars.len());
            let e = (s + len).min(chars.len());
            return chars[..s].iter().chain(&chars[e..]).collect();
        }
        Mutation::DuplicateLine(i) => {
            if let Some(line) = lines.get(i % n).cloned() {
                lines.insert(i % n, line);
            }
        }
        Mutation::ReplaceValue(i, g) => {
            let assignments: Vec<usize> = (0..lines.len())
                .filter(|&k| lines[k].contains(" = "))
                .collect();
            if !assignments.is_empty() {
                let k = assignments[i % assignments.len()];
                let key = lines[k].split(" = ").next().unwrap_or("").to_string();
                lines[k] = format!("{key} = {g}");
            }
        }
        Mutation::Insert(i, k) => lines.insert(i % (lines.len() + 1), k.clone()),
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                let len = lines.len();
                lines.swap(a % len, b % len);
            }
        }
    }
    lines.join("\n") + "\n"
}

/// The reader's contract on any text: no panic, and an error points inside
/// the file.
fn check_reader(text: &str) -> Result<Option<Study>, TestCaseError> {
    match parse_study(text, "fuzz.toml") {
        Ok(study) => Ok(Some(study)),
        Err(e) => {
            check_error(text, &e)?;
            Ok(None)
        }
    }
}

fn check_error(text: &str, e: &StudyError) -> Result<(), TestCaseError> {
    let lines = text.lines().count();
    prop_assert_eq!(&e.file, "fuzz.toml");
    prop_assert!(e.line >= 1, "line {} in {:?}", e.line, e);
    prop_assert!(e.column >= 1, "column {} in {:?}", e.column, e);
    prop_assert!(
        e.line <= lines + 1,
        "line {} beyond the {} lines of the text: {:?}\n{}",
        e.line,
        lines,
        e,
        text
    );
    if let Some(span) = &e.span {
        prop_assert!(
            span.start <= span.end && span.end <= text.len(),
            "span {:?} outside the text ({} bytes): {:?}",
            span,
            text.len(),
            e
        );
    }
    prop_assert!(!e.message.trim().is_empty(), "empty message: {:?}", e);
    let shown = e.to_string();
    let location = format!("fuzz.toml:{}:{}: `", e.line, e.column);
    prop_assert!(shown.starts_with(&location), "display: {}", shown);
    Ok(())
}

/// Runs a study that parsed, if it is cheap enough for a property test; the
/// engine must return a result or a solver error.
fn check_runs(study: &Study, text: &str) -> Result<(), TestCaseError> {
    let administrations: usize = study
        .arms
        .iter()
        .flat_map(|a| &a.doses)
        .map(|d| d.times.len())
        .sum();
    let systems: usize = study.arms.len() * study.vesicles.len().max(1);
    if study.output_times.len() > 5_000 || administrations > 200 || systems > 20 {
        return Ok(());
    }
    match run(study, |_| {}) {
        Ok(result) => {
            for s in &result.summaries {
                prop_assert!(
                    s.mass_balance_relative_error.is_finite(),
                    "non-finite mass balance for {}/{}\n{}",
                    s.arm,
                    s.vesicles,
                    text
                );
            }
        }
        Err(RunError::Solve { .. }) => {}
        Err(e) => prop_assert!(false, "run failed otherwise than in the solver: {}", e),
    }
    Ok(())
}

#[test]
fn both_base_studies_are_valid() {
    for (name, text) in [("rich", RICH_STUDY), ("example", EXAMPLE_STUDY)] {
        let study = parse_study(text, "fuzz.toml").unwrap_or_else(|e| panic!("{name}: {e}"));
        run(&study, |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics_the_reader(text in any::<String>()) {
        check_reader(&text)?;
    }

    #[test]
    fn toml_like_text_never_panics_the_reader(
        text in "(\\[\\[?[a-z.]{0,12}\\]\\]?\n|[a-z_]{1,8} = (\"[ -~]{0,8}\"|[0-9.e+-]{1,6}|\\[\\]|\\{\\})\n|\n){0,12}"
    ) {
        check_reader(&text)?;
    }

    #[test]
    fn mutated_studies_never_panic_the_reader(
        rich in any::<bool>(),
        mutations in proptest::collection::vec(mutation(), 1..=4),
    ) {
        let mut text = if rich { RICH_STUDY } else { EXAMPLE_STUDY }.to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_reader(&text)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_studies_that_parse_also_run(
        rich in any::<bool>(),
        mutations in proptest::collection::vec(mutation(), 1..=2),
    ) {
        let mut text = if rich { RICH_STUDY } else { EXAMPLE_STUDY }.to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        if let Some(study) = check_reader(&text)? {
            check_runs(&study, &text)?;
        }
    }
}
