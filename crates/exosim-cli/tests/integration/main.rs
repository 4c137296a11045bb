//! End-to-end tests of the `exosim` command, one module per subject, linked
//! into one test binary (one link instead of one per file).
//!
//! Run one subject with a filter: `cargo test --release -p exosim-cli --test
//! integration report::`.

mod abc;
mod calibration;
mod campaigns;
mod cli;
mod common;
mod deconvolve;
mod export;
mod outputs;
mod report;
mod resume;
mod simd_paths;
