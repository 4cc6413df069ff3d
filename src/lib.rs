//! valar: hears how a voice feels.
//!
//! Data flows one way: [`audio`] (decode, resample, capture) → [`egemaps`] (the 88 eGeMAPSv02
//! functionals, numerically faithful to openSMILE; the `valar-egemaps` crate) → [`model`] (the
//! enriched conditional adversarial autoencoder) → [`classify`] (ANOVA-F selection, SVMs,
//! evaluation) → [`jobs`] (train, evaluate, cross-corpus, label, extract, live: typed plans with
//! progress events and cancellation) → the user interfaces in [`app`] (GUI) and [`cli`], which
//! only adapt jobs to a window or a terminal. [`corpus`] loads labelled corpora and caches
//! features; [`choice`] spells the enums users type.

pub mod app;
pub mod audio;
pub mod choice;
pub mod classify;
pub mod cli;
pub mod corpus;
pub mod egemaps;
pub mod fsutil;
pub mod jobs;
pub mod model;
pub mod rng;
pub mod tally;
