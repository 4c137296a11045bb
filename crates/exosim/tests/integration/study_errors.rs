//! Study errors a new user met, each checked to its exact message and place:
//! the error points at the line where the user wrote the value, unit hints
//! never offer a unit of a very different size, counts accept the exponent
//! form, inputs that would exhaust memory or run for days are refused at
//! validation with the limit and the estimate, and a valid study estimated
//! to run for more than ten minutes is told so (a notice).

use exosim::scenario::{StudyError, parse_study};

fn shipped(name: &str) -> String {
    let path = format!("{}/../../studies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `text` with `from` replaced (once, and it must be there) by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the study");
    text.replacen(from, to, 1)
}

/// The error of a study that must be refused, read as the file `s.toml`
/// (shared by the modules that test bad input of their sections).
pub(crate) fn error(text: &str) -> StudyError {
    match parse_study(text, "s.toml") {
        Ok(_) => panic!("the study was accepted:\n{text}"),
        Err(e) => e,
    }
}

/// The 1-based line of `text` that holds `needle`.
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` is not in the study"))
}

/// A study refused at `key`, on the line holding `line_needle`, with
/// `says` in its message or hint.
pub(crate) fn assert_located(text: &str, key: &str, says: &str, line_needle: &str) {
    let e = error(text);
    assert_eq!(e.key, key, "{e}");
    let said = format!("{} {}", e.message, e.hint.as_deref().unwrap_or(""));
    assert!(said.contains(says), "{e}");
    assert_eq!(e.line, line_of(text, line_needle), "{e}");
}

const TWO_ARMS: &str = r#"
[study]
name = "arms"
duration = "1 h"

[body]
species = "mouse"
blood_volume = "-5 L"

[[vesicles]]
name = "ev"
diameter = "100 nm"

[[doses]]
vesicles = "ev"
route = "iv_bolus"
amount = 1e10

[[arms]]
name = "a"

[[arms]]
name = "b"
body = { cardiac_output = "10 mL/min" }
"#;

#[test]
fn a_study_wide_body_error_is_reported_where_the_body_was_written() {
    let e = error(TWO_ARMS);
    assert_eq!(e.key, "body.blood_volume");
    assert_eq!(e.line, line_of(TWO_ARMS, "blood_volume = \"-5 L\""));
    assert_eq!(e.message, "-5 L must be greater than zero");
}

#[test]
fn an_arm_body_error_stays_at_the_arm() {
    let text = edit(TWO_ARMS, "blood_volume = \"-5 L\"\n", "");
    let text = edit(
        &text,
        "body = { cardiac_output = \"10 mL/min\" }",
        "body = { lymph_flow = \"-1 mL/min\" }",
    );
    let e = error(&text);
    assert_eq!(e.key, "arms[1].body.lymph_flow");
    assert_eq!(e.line, line_of(&text, "lymph_flow = \"-1 mL/min\""));
}

#[test]
fn months_are_refused_with_units_of_their_size() {
    let text = edit(
        &shipped("mouse_iv_bolus"),
        "duration = \"48 h\"",
        "duration = \"1 month\"",
    );
    let e = error(&text);
    assert_eq!(e.key, "study.duration");
    assert!(
        e.message.contains(
            "\"month\" (in \"1 month\"): months are not accepted, since a month is 28 to 31 days long. Use day, week or year instead"
        ),
        "{}",
        e.message
    );
    assert!(!e.message.contains("Did you mean"), "{}", e.message);
    assert!(!e.message.contains("minute"), "{}", e.message);
}

#[test]
fn a_rate_per_month_is_refused_the_same_way() {
    let e = exosim::units::parse("2 /month", exosim::units::Dimension::Rate).unwrap_err();
    assert!(e.to_string().contains("months are not accepted"), "{e}");
}

#[test]
fn years_are_written_y_yr_or_year() {
    use exosim::units::{Dimension, YEAR, parse};
    for text in ["1 y", "1 yr", "1 year", "1 years"] {
        assert_eq!(parse(text, Dimension::Time), Ok(YEAR), "{text}");
    }
    let text = edit(
        &shipped("screening_ovarian"),
        "duration = \"10 year\"",
        "duration = \"10 y\"",
    );
    let a = parse_study(&text, "s.toml").expect("10 y is accepted");
    let b = parse_study(&shipped("screening_ovarian"), "s.toml").expect("shipped");
    assert_eq!(format!("{:?}", a.resolved), format!("{:?}", b.resolved));
}

#[test]
fn counts_accept_the_exponent_form_as_docs_tissue_shows_them() {
    let base = shipped("dish_uptake");
    let text = edit(
        &base,
        "replicates = 2",
        "replicates = 2\nmax_particles = 2e6\nmax_cells = 1e5",
    );
    let study = parse_study(&text, "s.toml").expect("2e6 and 1e5 are counts");
    let tissue = study.tissue.expect("tissue");
    assert_eq!(
        (tissue.max_particles, tissue.max_cells),
        (2_000_000, 100_000)
    );
    // The resolved study writes them back as integers, as before.
    let plain = edit(
        &base,
        "replicates = 2",
        "replicates = 2\nmax_particles = 2000000\nmax_cells = 100000",
    );
    assert_eq!(
        format!(
            "{:?}",
            parse_study(&plain, "s.toml").expect("plain").resolved
        ),
        format!("{:?}", study.resolved)
    );
    let e = error(&edit(&base, "replicates = 2", "replicates = 2.5"));
    assert_eq!(e.key, "tissue.replicates");
    assert!(
        e.message.contains(
            "2.5 is not a whole number, 0 or more; a count is written such as 2000000 or 2e6"
        ),
        "{}",
        e.message
    );
    let cohort = edit(
        &shipped("screening_ovarian"),
        "cohort = 20000 ",
        "cohort = 2e4 ",
    );
    let study = parse_study(&cohort, "s.toml").expect("2e4 individuals");
    assert_eq!(study.biopsy.expect("biopsy").cohort, 20_000);
}

#[test]
fn a_secretion_that_floods_one_step_is_refused_with_the_estimate() {
    let text = edit(
        &shipped("msc_inflammation"),
        "rate = \"300 /h\"",
        "rate = \"1e15 /h\"",
    );
    let e = error(&text);
    assert_eq!(e.key, "tissue.cell_types[0].secretion[0].rate");
    assert!(
        e.message
            .starts_with("the 15 placed `msc` cells release about ")
            && e.message
                .contains("particles in one step, more than max_particles = 2000000"),
        "{}",
        e.message
    );
}

#[test]
fn a_dose_scale_beyond_max_particles_is_refused() {
    let text = edit(
        &shipped("dish_uptake"),
        "dose_scale = 3.0",
        "dose_scale = 1e9",
    );
    let e = error(&text);
    assert_eq!(e.key, "tissue.variants[3].dose_scale");
    assert!(
        e.message.starts_with(
            "at dose_scale = 1000000000 an addition of 1000000 vesicles is 2.000e12 particles, more than max_particles = 2000000"
        ),
        "{}",
        e.message
    );
}

#[test]
fn a_vascular_permeability_beyond_max_particles_is_refused() {
    let base = shipped("tumour_ev_dose");
    let line = base
        .lines()
        .find(|l| l.trim_start().starts_with("permeability"))
        .expect("permeability");
    let text = edit(&base, line, "permeability = \"1e6 cm/s\"");
    let e = error(&text);
    assert_eq!(e.key, "tissue.coupling.permeability");
    assert!(
        e.message.contains("could enter the tissue at one exchange")
            && e.message.contains("more than max_particles"),
        "{}",
        e.message
    );
}

#[test]
fn a_screening_step_that_would_run_for_days_is_refused_with_the_estimate() {
    let text = edit(
        &shipped("screening_ovarian"),
        "[biopsy.screening]",
        "[biopsy.screening]\nmax_step = \"1 s\"",
    );
    let e = error(&text);
    assert_eq!(e.key, "biopsy.screening.max_step");
    assert!(
        e.message.starts_with(
            "steps of at most 1 s over 3652.5 day are 315576000 steps per individual; for 40000 individuals and 1 tests about 1.26e13 steps, more than 1e12 (about 50 h on one thread)"
        ),
        "{}",
        e.message
    );
}

#[test]
fn an_absolute_tolerance_the_solver_cannot_meet_is_refused() {
    let text = edit(
        &shipped("mouse_iv_bolus"),
        "[body]",
        "[solver]\natol_fraction = 1e-200\n\n[body]",
    );
    let e = error(&text);
    assert_eq!(e.key, "solver.atol_fraction");
    assert_eq!(e.message, "atol_fraction 1e-200 is out of range");
}

#[test]
fn a_branching_tumour_near_its_critical_point_is_refused_with_the_estimate() {
    let text = r#"
[study]
name = "branching"
duration = "1 day"

[biopsy]
cohort = 1000
healthy_cohort = 1000

[biopsy.tumour]
growth = "branching"
birth_rate = "0.0100001 /day"
death_rate = "0.01 /day"

[biopsy.marker]
name = "m"
per_live_cell = "60 /h"
fraction_to_blood = 0.5
background_concentration = "1e3 /mL"
half_life = "30 min"

[[biopsy.tests]]
name = "t"
isolation = "none"
assay = "elisa"
"#;
    let e = error(text);
    assert_eq!(e.key, "biopsy.tumour.birth_rate");
    assert!(
        e.message.contains("branching events") && e.message.contains("more than"),
        "{}",
        e.message
    );
}

#[test]
fn too_many_arms_are_refused_at_the_documented_limit() {
    let mut text = String::from(
        "[study]\nname = \"many\"\nduration = \"1 h\"\n\n[[vesicles]]\nname = \"ev\"\ndiameter = \"100 nm\"\n\n[[doses]]\nvesicles = \"ev\"\nroute = \"iv_bolus\"\namount = 1e10\n",
    );
    for i in 0..=exosim::scenario::resolve::MAX_ARM_CLASSES {
        text.push_str(&format!("\n[[arms]]\nname = \"a{i}\"\n"));
    }
    let e = error(&text);
    assert_eq!(e.key, "arms");
    assert_eq!(
        e.message,
        format!(
            "{} arm × vesicle-class systems, more than {}",
            exosim::scenario::resolve::MAX_ARM_CLASSES + 1,
            exosim::scenario::resolve::MAX_ARM_CLASSES
        )
    );
}

// ---------------------------------------------------------------------------
// A valid study that would run for a long time is told so at validation.

#[test]
fn a_long_screening_is_valid_and_told_its_estimated_time() {
    let text = edit(
        &shipped("screening_ovarian"),
        "[biopsy.screening]",
        "[biopsy.screening]\nmax_step = \"1 min\"",
    );
    let study = parse_study(&text, "s.toml").expect("valid");
    let [n] = study.notices.as_slice() else {
        panic!("{:?}", study.notices)
    };
    assert_eq!(n.key, "biopsy.screening.max_step");
    assert_eq!(n.line, line_of(&text, "max_step = \"1 min\""));
    assert_eq!(
        n.message,
        "the screening is valid but long: about 2.10e11 steps (40000 individuals × 1 test × 5259600 steps), about 50 min on one thread"
    );
}

#[test]
fn a_long_tissue_run_is_valid_and_told_its_estimated_time() {
    let text = edit(&shipped("dish_uptake"), "weight = 500", "weight = 2");
    let study = parse_study(&text, "s.toml").expect("valid");
    let [n] = study.notices.as_slice() else {
        panic!("{:?}", study.notices)
    };
    assert_eq!(n.key, "tissue.time_step");
    assert_eq!(
        n.message,
        "the run is valid but long: about 5.18e10 particle-steps (8 runs × 4320 steps × about 1.50e6 particles), about 14 min on one thread"
    );
}

#[test]
fn the_shipped_studies_are_short_enough_to_need_no_notice() {
    let dir = format!("{}/../../studies", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let study = exosim::scenario::load_study(&path).unwrap();
            assert!(
                study.notices.is_empty(),
                "{}: {:?}",
                path.display(),
                study.notices
            );
        }
    }
}
