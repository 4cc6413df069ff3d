//! Leave-one-corpus-out: train on all corpora but one, test on it, in turn.

use std::path::PathBuf;

use super::{CancelToken, Event, JobError, Sink, load_pool, write_json};
use crate::classify::Grid;
use crate::classify::experiment::{Condition, CrossCorpusRow, NamedSet, cross_corpus_markdown, leave_one_corpus_out};
use crate::classify::pipeline::LabelledSet;
use crate::corpus::FeatureCache;
use crate::model::{AaeConfig, DeviceChoice, select_device};

/// A leave-one-corpus-out run.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossCorpusPlan {
    /// The corpora (manifest, emotion folders or feature bank); each is held out in turn.
    pub corpora: Vec<PathBuf>,
    pub conditions: Vec<Condition>,
    pub aae: AaeConfig,
    pub grid: Grid,
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
            grid: Grid::default(),
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
    for p in &plan.corpora {
        data.push(load_pool(std::slice::from_ref(p), &mut cache, sink, cancel, (0.0, 0.1))?);
    }
    let (device, device_name) = select_device(plan.device);
    let sets: Vec<NamedSet<'_>> = data.iter().map(|d| NamedSet { name: d.name.clone(), set: LabelledSet::from(d) }).collect();
    let rows = leave_one_corpus_out(&sets, &plan.conditions, &plan.aae, &plan.grid, &device, &|p| {
        sink.event(Event::Step { done: p.done, total: p.total, what: p.what.clone() });
        !cancel.is_cancelled()
    })?;
    let seconds = t0.elapsed().as_secs_f64();
    write_json(
        &plan.report,
        &serde_json::json!({
            "protocol": "leave-one-corpus-out",
            "corpora": data.iter().map(|d| (d.name.clone(), d.len())).collect::<Vec<_>>(),
            "device": device_name,
            "command": plan.command,
            "seconds": seconds,
            "rows": rows,
        }),
    )?;
    Ok(CrossCorpusResult { markdown: cross_corpus_markdown(&rows), rows, seconds })
}
