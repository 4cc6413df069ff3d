//! eGeMAPSv02 functionals (and the 25 LLDs) of every audio file under a file or folder, in
//! parallel, written as CSV.

use std::path::{Path, PathBuf};

use super::{CancelToken, Event, JobError, Sink, audio_files, pool, relative_name};
use crate::egemaps::{self, Analysis, FEATURE_NAMES, FileError, LLD_NAMES, Rate};
use crate::fsutil::{csv_field, fmt_value};

/// An extraction run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractPlan {
    /// An audio file or a folder (searched recursively).
    pub input: PathBuf,
    /// Output CSV: `file` then the 88 functionals.
    pub output: PathBuf,
    /// Also write the 25 LLDs per 10 ms frame here.
    pub lld: Option<PathBuf>,
    /// Parallel files (None: all cores).
    pub jobs: Option<usize>,
    /// The file's own rate (as openSMILE) or valar's canonical 16 kHz.
    pub rate: Rate,
}

impl Default for ExtractPlan {
    fn default() -> Self {
        Self { input: PathBuf::new(), output: PathBuf::from("features.csv"), lld: None, jobs: None, rate: Rate::Native }
    }
}

/// A finished extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub files: usize,
    /// Files that could not be analysed (each reported as a `FileDone` event with its error).
    pub failed: usize,
    /// Seconds of audio analysed.
    pub audio_s: f64,
}

/// One file's extraction: its path and its analysis, or why it has none.
pub type FileAnalysis = (PathBuf, Result<Analysis, FileError>);

/// Extracts every audio file under `input` in parallel; results in path order. Each finished
/// file is a [`Event::FileDone`].
pub fn extract_files(
    input: &Path,
    jobs: Option<usize>,
    rate: Rate,
    with_lld: bool,
    sink: &dyn Sink,
    cancel: &CancelToken,
) -> Result<Vec<FileAnalysis>, JobError> {
    let files = audio_files(input)?;
    let total = files.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = pool(jobs)?.install(|| {
        use rayon::prelude::*;
        files
            .par_iter()
            .enumerate()
            .map(|(index, f)| {
                cancel.check()?;
                let r = egemaps::extract_file(f, rate, with_lld);
                let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let error = r.as_ref().err().map(|e| e.to_string());
                sink.event(Event::FileDone { index, done, total, path: f.clone(), error });
                Ok((f.clone(), r))
            })
            .collect::<Result<Vec<_>, JobError>>()
    })?;
    Ok(results)
}

pub fn run(plan: &ExtractPlan, sink: &dyn Sink, cancel: &CancelToken) -> Result<Extracted, JobError> {
    let results = extract_files(&plan.input, plan.jobs, plan.rate, plan.lld.is_some(), sink, cancel)?;
    let ok: Vec<(String, &Analysis)> =
        results.iter().filter_map(|(f, r)| r.as_ref().ok().map(|an| (relative_name(&plan.input, f), an))).collect();
    let failed = results.len() - ok.len();
    crate::fsutil::write_atomic(&plan.output, |w| {
        write!(w, "file")?;
        for n in FEATURE_NAMES {
            write!(w, ",{n}")?;
        }
        writeln!(w)?;
        for (name, an) in &ok {
            write!(w, "{}", csv_field(name))?;
            for v in an.functionals.values() {
                write!(w, ",{}", fmt_value(*v))?;
            }
            writeln!(w)?;
        }
        Ok(())
    })
    .map_err(JobError::io(&plan.output))?;

    if let Some(lld_path) = &plan.lld {
        crate::fsutil::write_atomic(lld_path, |w| {
            write!(w, "file,start_s,end_s")?;
            for n in LLD_NAMES {
                write!(w, ",{n}")?;
            }
            writeln!(w)?;
            for (name, an) in &ok {
                let Some(t) = &an.lld else { continue };
                for (i, row) in t.rows.iter().enumerate() {
                    let (s, e) = t.row_time(i);
                    write!(w, "{},{},{}", csv_field(name), fmt_value(s), fmt_value(e))?;
                    for v in row {
                        write!(w, ",{}", fmt_value(*v))?;
                    }
                    writeln!(w)?;
                }
            }
            Ok(())
        })
        .map_err(JobError::io(lld_path))?;
    }
    Ok(Extracted { files: results.len(), failed, audio_s: ok.iter().map(|(_, an)| an.duration_s).sum() })
}
