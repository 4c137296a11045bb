//! Tissue-scale engine: cells that send, address and receive vesicles, and
//! are reprogrammed by them.
//!
//! The physics every tissue study rests on: the domain and its boundaries
//! ([`domain`]), vesicle particles stored as a structure of arrays and moved
//! by Brownian motion with drift ([`motion`]), contact with absorbing spheres
//! that stays accurate for large time steps ([`contact`]), and addressed
//! uptake by cells found through a cell list ([`uptake`]). On top of it:
//! the study as resolved ([`model`]), cells as agents ([`cells`]), the
//! step-by-step engine with secretion, cargo, response rules, killing,
//! division and death ([`engine`]), observation as CSV and VTK
//! ([`observe`]). Running every variant and replicate of a study, alone
//! or inside a body arm, is `crate::coupling::tissue_section`.

pub mod cells;
pub mod contact;
pub mod domain;
pub mod engine;
pub mod model;
pub mod motion;
pub mod observe;
pub mod tally;
pub mod uptake;
