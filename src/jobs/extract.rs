//! eGeMAPSv02 functionals (and the 25 LLDs) of every audio file under a file or folder, in
//! parallel, written as CSV; `resume` keeps the rows of an earlier run and extracts only the
//! files it lacks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{CancelToken, Event, JobError, Sink, audio_files, pool, relative_name, threads_for};
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
    /// Keep the rows already in `output` (and `lld`) and extract only files not in them yet.
    pub resume: bool,
}

impl Default for ExtractPlan {
    fn default() -> Self {
        Self { input: PathBuf::new(), output: PathBuf::from("features.csv"), lld: None, jobs: None, rate: Rate::Native, resume: false }
    }
}

/// A finished extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub files: usize,
    /// Files that could not be analysed (each reported as a `FileDone` event with its error).
    pub failed: usize,
    /// Files kept from the earlier output (`resume`).
    pub kept: usize,
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
    extract_list(&audio_files(input)?, jobs, rate, with_lld, sink, cancel)
}

fn extract_list(
    files: &[PathBuf],
    jobs: Option<usize>,
    rate: Rate,
    with_lld: bool,
    sink: &dyn Sink,
    cancel: &CancelToken,
) -> Result<Vec<FileAnalysis>, JobError> {
    let total = files.len();
    let tally = crate::tally::Tally::new();
    let results = pool(jobs)?.install(|| {
        use rayon::prelude::*;
        files
            .par_iter()
            .enumerate()
            .map(|(index, f)| {
                cancel.check()?;
                let r = egemaps::extract_file(f, rate, with_lld, threads_for(f, total));
                let error = r.as_ref().err().map(|e| e.to_string());
                tally.finish(|done| sink.event(Event::FileDone { index, done, total, path: f.clone(), error }));
                Ok((f.clone(), r))
            })
            .collect::<Result<Vec<_>, JobError>>()
    })?;
    Ok(results)
}

/// The header of the functionals CSV.
fn functionals_header() -> String {
    std::iter::once("file").chain(FEATURE_NAMES).collect::<Vec<_>>().join(",")
}

/// The header of the LLD CSV.
fn lld_header() -> String {
    ["file", "start_s", "end_s"].into_iter().chain(LLD_NAMES).collect::<Vec<_>>().join(",")
}

fn functionals_line(name: &str, an: &Analysis) -> String {
    let mut s = csv_field(name);
    for v in an.functionals.values() {
        s.push(',');
        s += &fmt_value(*v);
    }
    s
}

fn lld_lines(name: &str, an: &Analysis) -> Vec<String> {
    let Some(t) = &an.lld else { return Vec::new() };
    t.rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (a, b) = t.row_time(i);
            let mut s = format!("{},{},{}", csv_field(name), fmt_value(a), fmt_value(b));
            for v in row {
                s.push(',');
                s += &fmt_value(*v);
            }
            s
        })
        .collect()
}

pub fn run(plan: &ExtractPlan, sink: &dyn Sink, cancel: &CancelToken) -> Result<Extracted, JobError> {
    let files = audio_files(&plan.input)?;
    let (f_header, l_header) = (functionals_header(), lld_header());
    let (mut kept, mut kept_lld) = if plan.resume {
        let lld = match &plan.lld {
            Some(p) => Some(super::earlier_rows(p, &l_header)?),
            None => None,
        };
        (super::earlier_rows(&plan.output, &f_header)?, lld)
    } else {
        (BTreeMap::new(), plan.lld.as_ref().map(|_| BTreeMap::new()))
    };
    // A file is done when every output asked for has it (a run killed between writing the
    // functionals and the LLDs extracts that file again).
    let names: Vec<String> = files.iter().map(|f| relative_name(&plan.input, f)).collect();
    let done: std::collections::HashSet<&String> =
        names.iter().filter(|n| kept.contains_key(*n) && kept_lld.as_ref().is_none_or(|l| l.contains_key(*n))).collect();
    let todo: Vec<PathBuf> = files.iter().zip(&names).filter(|(_, n)| !done.contains(n)).map(|(f, _)| f.clone()).collect();
    let kept_files = files.len() - todo.len();
    let results = extract_list(&todo, plan.jobs, plan.rate, plan.lld.is_some(), sink, cancel)?;
    let mut fresh: BTreeMap<String, &Analysis> = BTreeMap::new();
    for (f, r) in &results {
        if let Ok(an) = r {
            fresh.insert(relative_name(&plan.input, f), an);
        }
    }
    let failed = results.len() - fresh.len();

    // Rows in the files' order, as a clean run writes them; an earlier run's rows for files no
    // longer there stay, after them.
    let mut f_lines: Vec<String> = Vec::new();
    let mut l_lines: Vec<String> = Vec::new();
    for name in &names {
        // Whatever an earlier run holds for a file still there is used here or not at all
        // (a file extracted again replaces its earlier rows in both outputs).
        let (earlier, earlier_lld) = (kept.remove(name), kept_lld.as_mut().and_then(|l| l.remove(name)));
        if let Some(an) = fresh.get(name) {
            f_lines.push(functionals_line(name, an));
            l_lines.extend(lld_lines(name, an));
        } else if done.contains(name) {
            f_lines.extend(earlier.unwrap_or_default());
            l_lines.extend(earlier_lld.unwrap_or_default());
        }
    }
    f_lines.extend(kept.into_values().flatten());
    l_lines.extend(kept_lld.into_iter().flat_map(|l| l.into_values().flatten()));

    let write = |path: &Path, header: &str, lines: &[String]| {
        crate::fsutil::write_atomic(path, |w| {
            writeln!(w, "{header}")?;
            for l in lines {
                writeln!(w, "{l}")?;
            }
            Ok(())
        })
        .map_err(JobError::io(path))
    };
    write(&plan.output, &f_header, &f_lines)?;
    if let Some(lld_path) = &plan.lld {
        write(lld_path, &l_header, &l_lines)?;
    }
    Ok(Extracted { files: results.len(), failed, kept: kept_files, audio_s: fresh.values().fold(0.0, |sum, an| sum + an.duration_s) })
}
