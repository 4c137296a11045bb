//! Tissue-scale engine: vesicles as particles moving among cells.
//!
//! This first part holds the physics every tissue study rests on: the
//! domain and its boundaries ([`domain`]), vesicle particles stored as a
//! structure of arrays and moved by Brownian motion with drift
//! ([`motion`]), and contact with absorbing spheres (cells) that stays
//! accurate for large time steps ([`contact`]).

pub mod contact;
pub mod domain;
pub mod motion;
