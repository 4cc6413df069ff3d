//! The jobs people run — train, evaluate, cross-corpus, label, extract, live — as library
//! code, shared by the CLI and the app, which only adapt them to a terminal or a window.
//!
//! Every job is a typed plan whose `Default` holds the defaults, and a `run` function that
//! takes the plan, a [`Sink`] for typed progress [`Event`]s and a [`CancelToken`], and returns
//! a typed outcome or a [`JobError`] (a cancel is [`JobError::Cancelled`], never a failure).

pub mod calibration;
pub mod cross_corpus;
pub mod evaluate;
pub mod export;
pub mod extract;
pub mod label;
pub mod live;
pub mod train;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::classify::bundle::BundleError;
use crate::classify::label::LabelRow;
use crate::classify::pipeline::PipelineError;
use crate::corpus::{CorpusError, FeatureCache, LabelledData, load_labelled};
use crate::model::{EpochLosses, ModelError};

/// Asks a running job to stop; cheap to clone and share with workers.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for signal handlers (`signal_hook::flag::register`).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }

    /// `Err(Cancelled)` once cancelled.
    pub fn check(&self) -> Result<(), JobError> {
        if self.is_cancelled() { Err(JobError::Cancelled) } else { Ok(()) }
    }
}

/// What a running job reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// A stage of the job began or moved on; `fraction` is the whole job's progress (0–1).
    Stage { name: String, fraction: f32 },
    /// One autoencoder epoch finished (`stage`: "embedding" or "autoencoder").
    Epoch { stage: String, losses: EpochLosses, epochs: usize },
    /// One step of an evaluation (a fold) finished.
    Step { done: usize, total: usize, what: String },
    /// One input file finished; `index` is its place in the job's file list.
    FileDone { index: usize, done: usize, total: usize, path: PathBuf, error: Option<String> },
    /// The rows of one labelled file (label jobs only, right before its `FileDone`).
    Labelled { index: usize, rows: Vec<LabelRow> },
    /// A corpus file that was skipped, with the reason.
    Skipped(String),
    /// Live analysis: the input level in dBFS.
    Level(f32),
    /// Live analysis: one estimate.
    Estimate(live::Estimate),
    /// Live analysis: the calibration changed.
    Calibration(live::Calibration),
    /// Something the user should know that is not an error.
    Notice(String),
}

/// Where a job's events go. Any `Fn(Event) + Sync` closure is one.
pub trait Sink: Sync {
    fn event(&self, e: Event);
}

impl<F: Fn(Event) + Sync> Sink for F {
    fn event(&self, e: Event) {
        self(e)
    }
}

/// A sink that drops every event.
pub fn ignore(_: Event) {}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error(transparent)]
    Pipeline(PipelineError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    #[error(transparent)]
    Extract(#[from] crate::egemaps::ExtractError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    #[error("{0}: no audio files found")]
    NoAudio(PathBuf),
    #[error("{path}: {problem}")]
    Report { path: PathBuf, problem: ReportProblem },
    #[error(
        "{path}: its columns are not this run's (written with another --segment setting, or by another command), so --resume cannot continue it"
    )]
    ResumeColumns { path: PathBuf },
    #[error("--resume works with the CSV format only (asked for {0})")]
    ResumeFormat(String),
    #[error("{0}: exists and is not a folder: with several recordings, each gets its own export file in an output folder")]
    NotAFolder(PathBuf),
    #[error("segments must be at least 0.1 seconds long (got {0})")]
    Segment(f64),
    #[error("enrichment needs out-of-context data: give an out-of-context corpus or bank, or several in-context corpora")]
    NoOutOfContext,
    #[error("nothing to train on: give at least one in-context corpus")]
    NoInContext,
    #[error(
        "no recording of {corpora} has a {task} label: a model labels both activation and valence, so its training data needs both (add a corpus with {task} labels; `valar evaluate` and `valar cross-corpus` take a corpus labelled for one)"
    )]
    MissingTask { task: &'static str, corpora: String },
    #[error("leave-one-corpus-out needs at least two corpora")]
    TooFewCorpora,
    #[error("could not start worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    #[error("{device}: {why}")]
    DeviceLost { device: String, why: String },
}

/// What is wrong with an evaluation report given to a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportProblem {
    #[error("no valid `rows` list")]
    NoRows,
    #[error("in-context corpus '{found}' differs from the first report's '{first}'")]
    OtherCorpus { found: String, first: String },
}

impl From<PipelineError> for JobError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Model(ModelError::Cancelled) => JobError::Cancelled,
            PipelineError::NoOutOfContext => JobError::NoOutOfContext,
            e => JobError::Pipeline(e),
        }
    }
}

impl From<ModelError> for JobError {
    fn from(e: ModelError) -> Self {
        PipelineError::from(e).into()
    }
}

impl JobError {
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JobError::Cancelled)
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JobError + '_ {
        move |source| JobError::Io { path: path.to_path_buf(), source }
    }
}

/// Loads and pools labelled corpora (manifests, emotion folders or feature banks), reporting
/// feature extraction as stage events between `from` and `to` of the job's progress and
/// every skipped file as an event.
pub(crate) fn load_pool(
    paths: &[PathBuf],
    cache: &mut FeatureCache,
    sink: &dyn Sink,
    cancel: &CancelToken,
    range: (f32, f32),
) -> Result<LabelledData, JobError> {
    load_pool_with(paths, cache, None, sink, cancel, range)
}

/// [`load_pool`], with degraded copy `degraded` of every recording beside its rows where asked
/// ([`crate::corpus::load_labelled_degraded`]).
pub(crate) fn load_pool_with(
    paths: &[PathBuf],
    cache: &mut FeatureCache,
    degraded: Option<u64>,
    sink: &dyn Sink,
    cancel: &CancelToken,
    (from, to): (f32, f32),
) -> Result<LabelledData, JobError> {
    let mut pooled = LabelledData::default();
    let mut names = Vec::new();
    let share = (to - from) / paths.len().max(1) as f32;
    for (k, p) in paths.iter().enumerate() {
        cancel.check()?;
        let start = from + share * k as f32;
        let what = p.display().to_string();
        let progress = |done: usize, total: usize| {
            sink.event(Event::Stage {
                name: format!("features of {what}: {done}/{total}"),
                fraction: start + share * done as f32 / total.max(1) as f32,
            })
        };
        let d = match degraded {
            None => load_labelled(p, cache, &progress)?,
            Some(copy) => crate::corpus::load_labelled_degraded(p, cache, copy, &progress)?,
        };
        for s in &d.skipped {
            sink.event(Event::Skipped(s.clone()));
        }
        names.push(d.name.clone());
        pooled.extend(d);
    }
    pooled.name = names.join("+");
    Ok(pooled)
}

/// Samples per corpus, in first-seen order.
pub(crate) fn counts(d: &LabelledData) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for c in &d.corpora {
        match out.iter_mut().find(|(n, _)| n == c) {
            Some((_, k)) => *k += 1,
            None => out.push((c.clone(), 1)),
        }
    }
    out
}

/// Writes `v` as pretty JSON, atomically.
pub(crate) fn write_json(path: &Path, v: &serde_json::Value) -> Result<(), JobError> {
    let text = serde_json::to_string_pretty(v).map_err(|source| JobError::Json { path: path.to_path_buf(), source })?;
    crate::fsutil::write_atomic(path, |w| w.write_all(text.as_bytes())).map_err(JobError::io(path))
}

/// Writes `text`, atomically.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<(), JobError> {
    crate::fsutil::write_atomic(path, |w| w.write_all(text.as_bytes())).map_err(JobError::io(path))
}

/// Current UTC time as ISO 8601 (seconds).
pub fn now_iso() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y + (m <= 2) as i64, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A compact UTC timestamp for file names (e.g. `20261129-231500`).
pub fn timestamp_for_file() -> String {
    now_iso().replace(['-', ':'], "").replace('T', "-").trim_end_matches('Z').to_string()
}

/// Path of `file` relative to the folder of `input` (or to `input` itself when it is a
/// folder), with `/` separators — exactly what `egemaps_ref.py` writes, so CSVs join on it.
pub fn relative_name(input: &Path, file: &Path) -> String {
    let base = if input.is_dir() { input.to_path_buf() } else { input.parent().map(|p| p.to_path_buf()).unwrap_or_default() };
    let rel = file.strip_prefix(&base).unwrap_or(file);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Audio files under `input` (a file or a folder), or why there are none.
pub(crate) fn audio_files(input: &Path) -> Result<Vec<PathBuf>, JobError> {
    if !input.exists() {
        return Err(JobError::NotFound(input.to_path_buf()));
    }
    let files = crate::audio::find_audio_files(input).map_err(JobError::io(input))?;
    if files.is_empty() {
        return Err(JobError::NoAudio(input.to_path_buf()));
    }
    Ok(files)
}

/// A thread pool of `jobs` threads (all cores for None or 0).
pub(crate) fn pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, JobError> {
    Ok(rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?)
}

/// The rows of an earlier CSV output, grouped by file and kept verbatim (`resume` of `label`
/// and `extract`); none if it does not exist. A header other than `header` is refused.
pub(crate) fn earlier_rows(path: &Path, header: &str) -> Result<std::collections::BTreeMap<String, Vec<String>>, JobError> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    if !path.exists() {
        return Ok(out);
    }
    let csv_err = |source| JobError::Csv { path: path.to_path_buf(), source };
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_path(path).map_err(csv_err)?;
    let found = rdr.headers().map_err(csv_err)?.iter().collect::<Vec<_>>().join(",");
    if found != header {
        return Err(JobError::ResumeColumns { path: path.to_path_buf() });
    }
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.iter().map(crate::fsutil::csv_field).collect::<Vec<_>>().join(",");
        out.entry(rec.get(0).unwrap_or_default().to_string()).or_default().push(line);
    }
    Ok(out)
}

/// Files at least this large spread their frames over every thread of the job (about two
/// minutes of 16 kHz 16-bit WAV; longer for compressed formats).
const LONG_FILE_BYTES: u64 = 4 << 20;

/// How many threads one file's frames get inside a job's pool: all of them when it is the
/// job's only file or a long one, so that a long recording never leaves cores idle; otherwise
/// one (files already run side by side). Results do not depend on it.
pub(crate) fn threads_for(path: &Path, files: usize) -> usize {
    let long = std::fs::metadata(path).is_ok_and(|m| m.len() >= LONG_FILE_BYTES);
    if files <= 1 || long { rayon::current_num_threads() } else { 1 }
}
