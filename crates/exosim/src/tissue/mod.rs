//! Tissue-scale engine: vesicles as particles moving among cells.
//!
//! This first part holds the physics every tissue study rests on: the
//! domain and its boundaries ([`domain`]), vesicle particles stored as a
//! structure of arrays and moved by Brownian motion with drift
//! ([`motion`]), and contact with absorbing spheres (cells) that stays
//! accurate for large time steps ([`contact`]), and addressed uptake by
//! cells found through a cell list ([`uptake`]).

pub mod contact;
pub mod domain;
pub mod motion;
pub mod uptake;
