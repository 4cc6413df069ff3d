//! Labelling recordings in bulk: activation and valence of every audio file under a file or
//! folder (or of every S-second segment of each), in parallel, as CSV; `resume` keeps the rows
//! of an earlier run and labels only the files it lacks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::export::{ExportFormat, render};
use super::{CancelToken, Event, JobError, Sink, pool, relative_name};
use crate::classify::bundle::{Bundle, default_model_dir};
use crate::classify::label::{ADAPT_MIN_ROWS, CSV_HEADER, CSV_HEADER_SEGMENTS, LabelRow, adapt_groups, csv_line, label_file};
use crate::classify::pipeline::Predictor;
use crate::classify::{Adaptation, Normalization};
use crate::model::{DeviceChoice, select_device};

/// A labelling run.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPlan {
    /// An audio file or a folder (searched recursively).
    pub input: PathBuf,
    /// Output: the CSV; with another `format`, the export file of a single recording, or a folder
    /// that receives one export per recording (named after it) and the summary `labels.csv`.
    pub output: PathBuf,
    /// What to write: valar's CSV, or a TextGrid / EAF / Audacity label track per recording.
    pub format: ExportFormat,
    /// Model folder.
    pub model: PathBuf,
    /// Label consecutive segments of this many seconds instead of whole files.
    pub segment: Option<f64>,
    /// Parallel files (None: all cores).
    pub jobs: Option<usize>,
    /// Keep the rows already in `output` and label only files not in it yet.
    pub resume: bool,
    /// Batch adaptation: standardise the features (and, by default, a model's code: see
    /// `adaptation`) by the statistics of the recordings being labelled (at least
    /// [`ADAPT_MIN_ROWS`] files or segments; it assumes the batch is not all one emotion).
    pub adapt: bool,
    /// Adapt each folder's recordings by their own statistics instead of the whole batch's:
    /// the per-speaker route, for recordings sorted into one folder per speaker (each needs at
    /// least [`ADAPT_MIN_ROWS`] files or segments; it implies `adapt`).
    pub adapt_per_folder: bool,
    /// What adaptation standardises (the functionals, or the model's whole representation).
    pub adaptation: Adaptation,
}

impl Default for LabelPlan {
    fn default() -> Self {
        Self {
            input: PathBuf::new(),
            output: PathBuf::from("labels.csv"),
            format: ExportFormat::Csv,
            model: default_model_dir(),
            segment: None,
            jobs: None,
            resume: false,
            adapt: false,
            adapt_per_folder: false,
            adaptation: Adaptation::default(),
        }
    }
}

/// A finished labelling run.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// Files labelled by this run.
    pub files: usize,
    /// Of those, files with an error (each also reported in its `FileDone` event).
    pub failed: usize,
    /// Files kept from the earlier output (`resume`).
    pub kept: usize,
    /// Seconds of audio labelled.
    pub audio_s: f64,
    /// Whether batch adaptation was applied (asked for and enough rows; per folder: to at
    /// least one folder).
    pub adapted: bool,
    /// Per-folder adaptation: folders adapted, and folders left unadapted (too few rows).
    pub folders: Option<(usize, usize)>,
}

/// Checks a segment length.
pub fn check_segment(segment: Option<f64>) -> Result<(), JobError> {
    match segment {
        Some(s) if !(s.is_finite() && s >= 0.1) => Err(JobError::Segment(s)),
        _ => Ok(()),
    }
}

/// Labels `files` with `predictor` in parallel; each file's rows arrive as
/// [`Event::Labelled`] followed by [`Event::FileDone`], in completion order. Returns the rows
/// in `files` order.
pub fn label_files(
    files: &[PathBuf],
    predictor: &Predictor,
    segment: Option<f64>,
    jobs: Option<usize>,
    sink: &dyn Sink,
    cancel: &CancelToken,
) -> Result<Vec<Vec<LabelRow>>, JobError> {
    check_segment(segment)?;
    let total = files.len();
    let tally = crate::tally::Tally::new();
    pool(jobs)?.install(|| {
        use rayon::prelude::*;
        files
            .par_iter()
            .enumerate()
            .map(|(index, f)| {
                cancel.check()?;
                let rows = label_file(f, predictor, segment, super::threads_for(f, total));
                let error = rows.iter().filter(|r| !r.no_speech).find_map(|r| r.error.clone());
                sink.event(Event::Labelled { index, rows: rows.clone() });
                tally.finish(|done| sink.event(Event::FileDone { index, done, total, path: f.clone(), error }));
                Ok(rows)
            })
            .collect()
    })
}

pub fn run(plan: &LabelPlan, sink: &dyn Sink, cancel: &CancelToken) -> Result<Labelled, JobError> {
    check_segment(plan.segment)?;
    if !plan.input.exists() {
        return Err(JobError::NotFound(plan.input.clone()));
    }
    if plan.resume && plan.format != ExportFormat::Csv {
        return Err(JobError::ResumeFormat(plan.format.to_string()));
    }
    // One recording's export goes to `output` itself; several go into the folder `output`.
    let export_dir = plan.format != ExportFormat::Csv && plan.input.is_dir();
    if export_dir && plan.output.exists() && !plan.output.is_dir() {
        return Err(JobError::NotAFolder(plan.output.clone()));
    }
    let csv_path = if export_dir { plan.output.join("labels.csv") } else { plan.output.clone() };
    let (device, _) = select_device(DeviceChoice::Cpu);
    let bundle = Bundle::load(&plan.model, &device)?;
    let segmented = plan.segment.is_some();
    let header = if segmented { CSV_HEADER_SEGMENTS } else { CSV_HEADER };
    let mut kept = if plan.resume { super::earlier_rows(&csv_path, header)? } else { BTreeMap::new() };
    let kept_before = kept.len();

    let files = crate::audio::find_audio_files(&plan.input).map_err(JobError::io(&plan.input))?;
    let (names, todo): (Vec<String>, Vec<PathBuf>) =
        files.into_iter().map(|f| (relative_name(&plan.input, &f), f)).filter(|(n, _)| !kept.contains_key(n)).unzip();
    let mut results = label_files(&todo, &bundle.predictor, plan.segment, plan.jobs, sink, cancel)?;
    let mut adapted = false;
    let mut folders = None;
    let adapt = plan.adapt || plan.adapt_per_folder;
    if !adapt && bundle.predictor.normalization == Normalization::PerSpeaker {
        sink.event(Event::Notice(format!(
            "this model was trained with {} normalisation and is meant for adapted labelling (--adapt or --adapt-per-folder); labels are unadapted",
            bundle.predictor.normalization
        )));
    }
    let unit = if plan.segment.is_some() { "segments" } else { "files" };
    if adapt {
        // Rows grouped by the folder their file is in (relative to the input), or all as one.
        let keyed = names.iter().zip(results.iter_mut()).flat_map(|(name, rows)| {
            let folder = if plan.adapt_per_folder { name.rsplit_once('/').map_or(".", |(f, _)| f) } else { "" };
            rows.iter_mut().map(move |r| (folder, r))
        });
        let done = adapt_groups(keyed, &bundle.predictor, plan.adaptation);
        adapted = done.adapted > 0;
        let short = &done.too_small;
        if plan.adapt_per_folder {
            if !short.is_empty() {
                sink.event(Event::Notice(format!(
                    "not adapted: {} folder{} with fewer than {ADAPT_MIN_ROWS} analysable {unit} ({}); their labels are unadapted",
                    short.len(),
                    if short.len() == 1 { "" } else { "s" },
                    short.join(", ")
                )));
            }
            folders = Some((done.adapted, short.len()));
        } else if !adapted {
            sink.event(Event::Notice(format!(
                "not adapted: batch adaptation needs at least {ADAPT_MIN_ROWS} analysable {unit} (this batch has {}); labels are unadapted",
                results.iter().flatten().filter(|r| r.functionals.is_some()).count()
            )));
        }
    }
    // Audio without speech is an answer ("no speech"), not a failure.
    let failed = results.iter().filter(|rows| rows.iter().any(|r| r.prediction.is_none() && !r.no_speech)).count();
    // A fold from +0.0: `Sum` of no f64 is −0.0, which a summary would print as "-0.0 s".
    let audio_s = results.iter().flat_map(|r| r.iter().map(|x| x.duration_s)).fold(0.0, |sum, d| sum + d);
    for (name, rows) in names.iter().zip(&results) {
        kept.insert(name.clone(), rows.iter().map(|r| csv_line(name, r, segmented)).collect());
    }
    if plan.format != ExportFormat::Csv {
        for ((name, path), rows) in names.iter().zip(&todo).zip(&results) {
            // A recording that could not be read has nothing to annotate (its error is in the CSV
            // of a folder, and in the run's events).
            if rows.iter().all(|r| r.prediction.is_none() && !r.no_speech) {
                continue;
            }
            let Some(text) = render(plan.format, rows, path) else { continue };
            let target =
                if export_dir { plan.output.join(Path::new(name).with_extension(plan.format.extension())) } else { plan.output.clone() };
            crate::fsutil::write_atomic(&target, |w| w.write_all(text.as_bytes())).map_err(JobError::io(&target))?;
        }
        if !export_dir {
            return Ok(Labelled { files: results.len(), failed, kept: kept_before, audio_s, adapted, folders });
        }
    }
    crate::fsutil::write_atomic(&csv_path, |w| {
        writeln!(w, "{header}")?;
        for lines in kept.values() {
            for l in lines {
                writeln!(w, "{l}")?;
            }
        }
        Ok(())
    })
    .map_err(JobError::io(&csv_path))?;
    Ok(Labelled { files: results.len(), failed, kept: kept_before, audio_s, adapted, folders })
}
