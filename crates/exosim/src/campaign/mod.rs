//! Many runs of one study: the designs that choose the parameter values of
//! each run, the distributions that map a design's unit-cube points to
//! parameter values (virtual populations), and the sensitivity analyses
//! that read the runs' outputs back (docs/sensitivity.md).
//!
//! Everything here is a pure function of its inputs and a seed: no files,
//! no study, so the numerical core can be checked against its published
//! laws and against SALib on its own.

pub mod design;
pub mod distribution;
pub mod sensitivity;
