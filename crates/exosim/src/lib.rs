//! # exosim
//!
//! A simulator of the exosome system: cells that release extracellular
//! vesicles (EVs), the vesicles' journey through tissue and body, and their
//! uptake by the cells and organs whose receptors match their surface.
//!
//! Data flows one way: a study file ([`scenario`]) is parsed into a raw spec,
//! resolved into a validated model in internal units ([`units`]), advanced by
//! the engines ([`body`]) and written by the recorders ([`output`]).

pub mod body;
pub mod output;
pub mod scenario;
pub mod units;
