//! Study files.
