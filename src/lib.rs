//! valar: hears how a voice feels.
//!
//! Data flows one way: [`audio`] (decode, resample, capture) → [`egemaps`] (the 88 eGeMAPSv02
//! functionals, numerically faithful to openSMILE) → [`model`] (the enriched conditional
//! adversarial autoencoder) → [`classify`] (ANOVA-F selection, SVMs, evaluation) → the user
//! interfaces in [`app`] (GUI) and [`cli`]. [`corpus`] loads labelled corpora and caches features.

pub mod app;
pub mod audio;
pub mod classify;
pub mod cli;
pub mod corpus;
pub mod egemaps;
pub mod fsutil;
pub mod model;
