//! Liquid biopsy: from tumour burden to a blood test's result.
//!
//! The pipeline follows a vesicle marker from its source to a decision:
//! tumour growth ([`growth`]) → shedding and blood kinetics ([`kinetics`]) →
//! blood draw, isolation and assay ([`measurement`]; a sequencing panel:
//! [`sequencing`]) → thresholds,
//! detection curves and screening ([`screening`]); with the statistics
//! shared by all ([`roc`]), multi-marker signatures ([`signature`]) and
//! cell-of-origin deconvolution ([`deconvolution`]). A study's `[biopsy]`
//! section runs through [`study`], or through [`condition_test`] when it
//! tells conditions from health instead of finding a tumour; its
//! `[signature]` section through [`panel`].

pub mod blood_modes;
pub mod burden;
mod cohort;
pub mod condition_test;
pub mod deconvolution;
pub mod growth;
pub mod kinetics;
mod logistic;
pub mod measurement;
mod nnls;
pub mod panel;
pub mod release;
pub mod roc;
pub mod screening;
pub mod screening_model;
pub mod sequencing;
pub mod signature;
pub mod study;
