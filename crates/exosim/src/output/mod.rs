//! Writers for run outputs.
