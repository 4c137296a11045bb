//! exosim's integration tests, one module per subject, linked into one test
//! binary: each separate file under `tests/` would be its own binary linking
//! the whole library again, and linking dominated building the suite.
//!
//! Run one subject with a filter: `cargo test --release -p exosim --test
//! integration tissue_study::`.

mod abc;
mod analytic;
mod architecture;
mod bacterial_vesicles;
mod barrier_test;
mod biopsy_draw;
mod biopsy_engines;
mod biopsy_pipeline;
mod biopsy_release_inhibitors;
mod biopsy_sequencing;
mod biopsy_stats;
mod biopsy_study;
mod biopsy_threads;
mod calibration;
mod campaign_fuzz;
mod campaign_observables;
mod campaign_runs;
mod campaign_sensitivity;
mod columns;
mod coupling;
mod coupling_arms;
mod docs;
mod effects;
mod human_calibration;
mod instruments;
mod overrides;
mod production;
mod properties;
mod reference_mouse;
mod release_inhibitors;
mod sbml;
mod signature_fit;
mod signature_study;
mod size_fates;
mod study_errors;
mod study_fuzz;
mod tissue_absorption;
mod tissue_diffusion;
mod tissue_resume;
mod tissue_rules;
mod tissue_shipped;
mod tissue_study;
mod tissue_threads;
mod tissue_uptake;
mod trials;
