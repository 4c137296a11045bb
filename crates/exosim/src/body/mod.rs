//! Body-scale engine: organs and blood as well-mixed compartments.
pub mod pk;
