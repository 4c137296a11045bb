//! The shipped tissue studies show what they are for (issue: "the tumour_nk
//! summary shows tumour growth faster with tumour-vesicle suppression than
//! without it, and slower with the release inhibitor (several seeds,
//! reported with spread)"; dish uptake saturates with dose).

use std::path::PathBuf;

use exosim::coupling::tissue_section as study;
use exosim::scenario::load_study;

fn shipped(name: &str) -> (exosim::tissue::model::TissueModel, u64) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../studies/{name}.toml"));
    let s = load_study(&path).expect("shipped study is valid");
    (s.tissue.expect("a tissue section"), s.seed)
}

#[test]
fn tumour_nk_suppression_speeds_growth_and_the_inhibitor_slows_it() {
    let (model, seed) = shipped("tumour_nk");
    let runs = study::run(&model, seed).unwrap();
    let summary = study::summarise(&model, &runs);
    let tumour = |v: &str| {
        summary
            .variants
            .iter()
            .find(|x| x.name == v)
            .unwrap()
            .final_cells["tumour"]
            .clone()
    };
    let (sup, none, inhib) = (
        tumour("suppression"),
        tumour("no_suppression"),
        tumour("inhibitor"),
    );
    assert!(sup.values.len() >= 3, "several seeds");
    // Every replicate (common seeds across variants) orders the same way,
    // and the means are apart by more than their spread.
    for r in 0..sup.values.len() {
        assert!(sup.values[r] > inhib.values[r], "{sup:?} {inhib:?}");
        assert!(inhib.values[r] > none.values[r], "{inhib:?} {none:?}");
    }
    assert!(sup.mean - sup.sd > none.mean + none.sd);
    assert_eq!(summary.mass_balance_relative_error, 0.0);
}

#[test]
fn dish_uptake_rises_with_dose_and_saturates_at_capacity() {
    let (model, seed) = shipped("dish_uptake");
    let runs = study::run(&model, seed).unwrap();
    let summary = study::summarise(&model, &runs);
    let cells = summary.variants[0].final_cells["hela"].mean;
    let capacity = model.cell_types[0].uptake_capacity;
    let uptake: Vec<f64> = summary
        .variants
        .iter()
        .map(|v| v.uptakes["hela"].mean)
        .collect();
    assert!(uptake.windows(2).all(|w| w[1] >= w[0]), "{uptake:?}");
    // Above the monolayer's capacity every cell is full: uptake = cells × capacity.
    assert_eq!(*uptake.last().unwrap(), cells * capacity);
    // Below it, nearly every added vesicle is taken up within the day.
    let added = summary.variants[0].vesicles["ev.added"].mean;
    assert!(uptake[0] > 0.95 * added, "{} of {added}", uptake[0]);
}
