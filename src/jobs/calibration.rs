//! Measuring calibration to a speaker: within each corpus (leave-one-speaker-out) and across
//! corpora (leave-one-corpus-out), each test speaker's calm utterances calibrate the
//! classification of their other utterances, by each method and without.

use std::path::PathBuf;

use super::{CancelToken, Event, JobError, Sink, load_pool, write_json};
use crate::classify::Grid;
use crate::classify::calibration::{self, CalibrationRow, EmotionSet};
use crate::classify::pipeline::{LabelledSet, PipelineConfig, Representation};
use crate::corpus::FeatureCache;
use crate::model::{DeviceChoice, select_device};

/// A calibration measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationPlan {
    /// Corpora (manifest, emotion folders or feature bank).
    pub corpora: Vec<PathBuf>,
    /// Also leave-one-corpus-out over `corpora` (needs two or more).
    pub across: bool,
    /// Leave-one-speaker-out within each corpus (off: leave-one-corpus-out only).
    pub within: bool,
    /// What is trained in each fold.
    pub pipeline: PipelineConfig,
    pub device: DeviceChoice,
    pub cache_dir: PathBuf,
    pub report: PathBuf,
    pub command: String,
}

impl Default for CalibrationPlan {
    fn default() -> Self {
        Self {
            corpora: Vec::new(),
            across: false,
            within: true,
            pipeline: PipelineConfig {
                representation: Representation::Features,
                grid: Grid::default(),
                normalization: Default::default(),
                clip: None,
                input: Default::default(),
            },
            device: DeviceChoice::default(),
            cache_dir: FeatureCache::default_dir(),
            report: PathBuf::from("calibration.json"),
            command: String::new(),
        }
    }
}

/// A finished measurement.
#[derive(Debug, Clone)]
pub struct Measured {
    pub rows: Vec<CalibrationRow>,
    pub markdown: String,
}

pub fn run(plan: &CalibrationPlan, sink: &dyn Sink, cancel: &CancelToken) -> Result<Measured, JobError> {
    if plan.across && plan.corpora.len() < 2 {
        return Err(JobError::TooFewCorpora);
    }
    let mut cache = FeatureCache::open(&plan.cache_dir);
    let mut data = Vec::new();
    for p in &plan.corpora {
        data.push(load_pool(std::slice::from_ref(p), &mut cache, sink, cancel, (0.0, 0.1))?);
    }
    let (device, _) = select_device(plan.device);
    let sets: Vec<(String, EmotionSet<'_>)> =
        data.iter().map(|d| (d.name.clone(), EmotionSet { set: LabelledSet::from(d), emotions: &d.emotions })).collect();
    let cancelled = || cancel.is_cancelled();
    let mut rows = Vec::new();
    for (k, (name, set)) in sets.iter().enumerate().filter(|_| plan.within) {
        // Both classifiers are trained in every fold: a corpus without one task's labels
        // (BAVED has no valence) can only be measured across corpora.
        let missing: Vec<&str> = ["activation", "valence"]
            .into_iter()
            .enumerate()
            .filter(|&(t, _)| set.set.labels.iter().all(|l| l[t].is_none()))
            .map(|(_, n)| n)
            .collect();
        let what = if missing.is_empty() {
            format!("leave-one-speaker-out: {name}")
        } else {
            format!("leave-one-speaker-out: {name} skipped (no {} labels)", missing.join(" or "))
        };
        sink.event(Event::Step { done: k, total: sets.len() + plan.across as usize, what });
        if missing.is_empty() {
            rows.extend(calibration::within_corpus(name, set, &plan.pipeline, &device, &cancelled)?);
        }
    }
    if plan.across {
        sink.event(Event::Step { done: sets.len(), total: sets.len() + 1, what: "leave-one-corpus-out".into() });
        rows.extend(calibration::across_corpora(&sets, &plan.pipeline, &device, &cancelled)?);
    }
    write_json(&plan.report, &serde_json::json!({ "command": plan.command, "pipeline": plan.pipeline, "rows": rows }))?;
    Ok(Measured { markdown: calibration::markdown(&rows), rows })
}
