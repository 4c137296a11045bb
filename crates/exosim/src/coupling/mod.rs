//! Couplings between the engines, above them all: each engine owns its
//! model, state and step and knows no other engine; what one engine hands
//! to another is computed here.
//!
//! - [`tissue_body`]: a tissue inside a body arm, the two engines advancing
//!   in lockstep and exchanging vesicles as explicit fluxes;
//! - [`tissue_section`]: a study's `[tissue]` run, every variant × replicate,
//!   each alone or inside its own copy of its body arm, with its summary and
//!   files;
//! - [`blood_modes`]: a body vesicle class's network as the biopsy's blood
//!   kinetics (first-order pools);
//! - [`condition_levels`]: body arms' steady plasma levels of a class as
//!   the groups of a blood test of conditions;
//! - [`tumour_burden`]: the tissue's tumour cell count as the biopsy's
//!   tumour burden;
//! - [`exposure`]: a body arm's vesicles in a place, or the cargo they
//!   delivered there, as the exposure of an effect model;
//! - [`instrument_sample`]: a body arm's place, the tissue's free
//!   vesicles at one time or a biopsy's blood draw as the sample an
//!   instrument reads, and the readings of a study's `[[instruments]]`;
//! - [`biopsy_draw`]: the plasma of a `[biopsy]` study's blood draw as
//!   particles: the tumour's marker vesicles, the marker's healthy
//!   background, the other plasma vesicles and the lipoproteins;
//! - [`lipoproteins`]: plasma lipoproteins' number, size and the share an
//!   NTA sees, for the instruments and the biopsy's NTA assay alike.

pub mod biopsy_draw;
pub mod blood_modes;
pub mod condition_levels;
pub mod exposure;
pub mod instrument_sample;
pub mod lipoproteins;
pub mod tissue_body;
pub mod tissue_section;
pub mod tumour_burden;
