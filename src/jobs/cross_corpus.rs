//! Leave-one-corpus-out: train on all corpora but one, test on it, in turn.

use std::path::PathBuf;

use super::{CancelToken, Event, JobError, Sink, load_pool_with, write_json};
use crate::classify::experiment::{Condition, CrossCorpusRow, LocoSetup, NamedSet, cross_corpus_markdown, leave_one_corpus_out};
use crate::classify::pipeline::LabelledSet;
use crate::classify::{Grid, InputFeatures, Normalization};
use crate::corpus::FeatureCache;
use crate::model::{AaeConfig, DeviceChoice, select_device};

/// Which degraded copy of each recording cross-corpus runs and training use
/// (`FeatureCache::features_with_degraded`).
pub const DEGRADED_COPY: u64 = 1;

/// A leave-one-corpus-out run.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossCorpusPlan {
    /// The corpora (manifest, emotion folders or feature bank); each is held out in turn.
    pub corpora: Vec<PathBuf>,
    pub conditions: Vec<Condition>,
    pub aae: AaeConfig,
    /// Seeds of the autoencoder conditions, from `aae.seed` on.
    pub seeds: usize,
    pub grid: Grid,
    /// How every corpus (the held-out one too) is standardised before anything is fitted.
    pub normalization: Normalization,
    /// Standardised features held within ± this (`PipelineConfig::clip`); None: not held.
    pub clip: Option<f64>,
    /// The functionals the models read: all 88, or only what a recording's level does not move.
    pub input: InputFeatures,
    /// Share of each training corpus's recordings replaced by a degraded copy
    /// (`audio::degrade`); 0: none.
    pub degrade: f64,
    /// Also score each held-out corpus on a degraded copy of it (another room, microphone,
    /// band limit, background and level).
    pub score_degraded: bool,
    pub device: DeviceChoice,
    pub cache_dir: PathBuf,
    /// The JSON report to write.
    pub report: PathBuf,
    pub command: String,
}

impl Default for CrossCorpusPlan {
    fn default() -> Self {
        Self {
            corpora: Vec::new(),
            conditions: vec![Condition::Baselinefs, Condition::Aae, Condition::Enriched],
            aae: AaeConfig::default(),
            seeds: 1,
            grid: Grid::default(),
            normalization: Normalization::Global,
            clip: None,
            input: InputFeatures::All,
            degrade: 0.0,
            score_degraded: false,
            device: DeviceChoice::default(),
            cache_dir: FeatureCache::default_dir(),
            report: PathBuf::from("cross-corpus.json"),
            command: String::new(),
        }
    }
}

/// A finished leave-one-corpus-out run.
#[derive(Debug, Clone)]
pub struct CrossCorpusResult {
    pub rows: Vec<CrossCorpusRow>,
    pub markdown: String,
    pub seconds: f64,
}

pub fn run(plan: &CrossCorpusPlan, sink: &dyn Sink, cancel: &CancelToken) -> Result<CrossCorpusResult, JobError> {
    if plan.corpora.len() < 2 {
        return Err(JobError::TooFewCorpora);
    }
    let t0 = std::time::Instant::now();
    let mut cache = FeatureCache::open(&plan.cache_dir);
    let mut data = Vec::new();
    // One degraded copy of each recording serves both: part of the training rows, and the
    // held-out corpus's degraded test (never both in one fold).
    let copy = (plan.degrade > 0.0 || plan.score_degraded).then_some(DEGRADED_COPY);
    for p in &plan.corpora {
        data.push(load_pool_with(std::slice::from_ref(p), &mut cache, copy, sink, cancel, (0.0, 0.1))?);
    }
    // Each member of an ensemble trains with its own share of degraded copies (member m's
    // drawn from seed DEGRADED_COPY + m; with one member, the share every model had before).
    let training: Vec<Vec<Vec<Vec<f64>>>> = data.iter().map(|d| d.degraded_shares(plan.degrade, DEGRADED_COPY, plan.aae.members)).collect();
    let (device, device_name) = select_device(plan.device);
    let sets: Vec<NamedSet<'_>> = data
        .iter()
        .zip(&training)
        .map(|(d, t)| NamedSet {
            name: d.name.clone(),
            set: LabelledSet::from(d),
            training_rows: t,
            degraded: plan.score_degraded.then_some(d.degraded.as_slice()),
        })
        .collect();
    let setup = LocoSetup { grid: plan.grid.clone(), normalization: plan.normalization, clip: plan.clip, input: plan.input };
    let mut rows = Vec::new();
    for k in 0..plan.seeds.max(1) as u64 {
        // Deterministic conditions (the baselines) need one seed only: the first.
        let conditions: Vec<Condition> =
            plan.conditions.iter().copied().filter(|c| k == 0 || !matches!(c, Condition::Baseline | Condition::Baselinefs)).collect();
        if conditions.is_empty() {
            continue;
        }
        let aae = AaeConfig { seed: plan.aae.seed + k, ..plan.aae.clone() };
        rows.extend(leave_one_corpus_out(&sets, &conditions, &aae, &setup, &device, &|p| {
            sink.event(Event::Step { done: p.done, total: p.total, what: format!("seed {}: {}", aae.seed, p.what) });
            !cancel.is_cancelled()
        })?);
    }
    let seconds = t0.elapsed().as_secs_f64();
    write_json(
        &plan.report,
        &serde_json::json!({
            "protocol": "leave-one-corpus-out",
            "normalization": plan.normalization,
            "clip": plan.clip,
            "input": plan.input,
            "degrade": plan.degrade,
            "aae": plan.aae,
            "corpora": data.iter().map(|d| (d.name.clone(), d.len())).collect::<Vec<_>>(),
            "device": device_name,
            "command": plan.command,
            "seconds": seconds,
            "rows": rows,
        }),
    )?;
    Ok(CrossCorpusResult { markdown: cross_corpus_markdown(&rows), rows, seconds })
}
