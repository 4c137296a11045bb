//! The dictionary of the CSV-only tables' columns (`exosim::output::columns`,
//! docs/python.md "Tables and units"): every column that the shipped
//! studies write in a table without a Parquet twin has a unit and a
//! description there, and where the library builds the table with units
//! (`run::biopsy_curve`, `run::biopsy_roc`) the dictionary says the same.

use std::collections::BTreeSet;
use std::path::Path;

use exosim::output::columns;
use exosim::scenario::load_study;

/// Shipped studies that write every kind of CSV-only table, cheaply.
const STUDIES: [&str; 8] = [
    "assay_comparison",       // biopsy_curve, biopsy_roc_*
    "gut_barrier_blood_test", // biopsy_conditions, biopsy_roc_*_*
    "autoimmune_panel",       // signature, signature_markers
    "nta_flow_same_sample",   // instrument_*
    "biopsy_draw_nta",        // instrument_* of a blood draw
    "human_plasma_origins",   // blood_profile
    "spheroid_growth",        // tissue_timeseries
    "screening_ovarian",
];

#[test]
fn every_csv_column_is_described() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut kinds = BTreeSet::new();
    for name in STUDIES {
        let study = load_study(&repo.join(format!("studies/{name}.toml"))).unwrap();
        let result = exosim::run::run(&study, |_| {}).unwrap();
        let dir = tempfile::tempdir().unwrap();
        exosim::run::write(dir.path(), &study, &result).unwrap();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.extension().is_none_or(|e| e != "csv")
                || path.with_extension("parquet").is_file()
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let header = text.lines().next().unwrap_or_default();
            let table = columns::table(&stem)
                .unwrap_or_else(|| panic!("{name}: {stem}.csv is not in the dictionary"));
            kinds.insert(table.as_ptr() as usize);
            for column in header.split(',') {
                let d = columns::describe(&stem, column)
                    .unwrap_or_else(|| panic!("{name}: {stem}.csv column `{column}` has no entry"));
                assert!(!d.description.is_empty());
            }
        }
        for t in &result.biopsy {
            let built = [
                exosim::run::biopsy_curve(&result.biopsy),
                exosim::run::biopsy_roc(t),
            ];
            let stems = ["biopsy_curve".to_string(), format!("biopsy_roc_{}", t.test)];
            for (table, stem) in built.iter().zip(&stems) {
                for c in &table.columns {
                    let d = columns::describe(stem, &c.name).unwrap();
                    assert_eq!(d.unit, c.unit, "{stem}.csv `{}`", c.name);
                }
            }
        }
    }
    assert_eq!(
        kinds.len(),
        8,
        "every kind of CSV-only table of a run was written"
    );
}
