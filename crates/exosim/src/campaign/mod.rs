//! Campaigns: many runs of one study (sweeps, virtual populations,
//! sensitivity analysis, calibration), each point recorded by a few named
//! scalars rather than by its whole output.

pub mod observable;
