//! `valar label`: activation and valence for every recording under a file or folder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::{progress_bar, relative_name};
use crate::classify::bundle::{Bundle, default_model_dir};
use crate::classify::label::{CSV_HEADER, CSV_HEADER_SEGMENTS, LabelRow, csv_line, label_file};
use crate::fsutil::csv_field;
use crate::model::{DeviceChoice, select_device};

#[derive(Args, Debug)]
pub struct LabelArgs {
    /// An audio file or a folder (searched recursively).
    pub input: PathBuf,
    /// Output CSV.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Model folder (default: the bundled models/default).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Label consecutive windows of this many seconds instead of whole files.
    #[arg(long)]
    pub segment: Option<f64>,
    /// Parallel jobs (default: all cores).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Keep the rows already in OUTPUT and label only files not in it yet.
    #[arg(long)]
    pub resume: bool,
}

/// Rows of an existing output, grouped by file (kept verbatim for --resume).
fn existing_rows(path: &std::path::Path, header: &str) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !path.exists() {
        return Ok(out);
    }
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let found = rdr.headers()?.iter().collect::<Vec<_>>().join(",");
    anyhow::ensure!(found == header, "{}: columns differ from this run's (was it written with another --segment setting?)", path.display());
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("reading {}", path.display()))?;
        let line = rec.iter().map(csv_field).collect::<Vec<_>>().join(",");
        out.entry(rec.get(0).unwrap_or_default().to_string()).or_default().push(line);
    }
    Ok(out)
}

pub fn run(a: LabelArgs) -> anyhow::Result<ExitCode> {
    if let Some(s) = a.segment {
        anyhow::ensure!(s.is_finite() && s >= 0.1, "--segment must be at least 0.1 seconds");
    }
    anyhow::ensure!(a.input.exists(), "{}: no such file or folder", a.input.display());
    let model_dir = a.model.clone().unwrap_or_else(default_model_dir);
    let (device, _) = select_device(DeviceChoice::Cpu);
    let bundle = Bundle::load(&model_dir, &device)?;
    let segmented = a.segment.is_some();
    let header = if segmented { CSV_HEADER_SEGMENTS } else { CSV_HEADER };
    let mut kept = if a.resume { existing_rows(&a.output, header)? } else { BTreeMap::new() };

    let files = crate::audio::find_audio_files(&a.input).with_context(|| format!("reading {}", a.input.display()))?;
    let todo: Vec<(String, PathBuf)> =
        files.into_iter().map(|f| (relative_name(&a.input, &f), f)).filter(|(n, _)| !kept.contains_key(n)).collect();
    let t0 = Instant::now();
    let pb = progress_bar(todo.len() as u64, "labelling");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(a.jobs.unwrap_or(0)).build()?;
    let predictor = &bundle.predictor;
    let results: Vec<(String, Vec<LabelRow>)> = pool.install(|| {
        use rayon::prelude::*;
        todo.par_iter()
            .map(|(name, f)| {
                let rows = label_file(f, predictor, a.segment);
                for r in &rows {
                    if let Some(e) = &r.error {
                        pb.suspend(|| eprintln!("{e}"));
                    }
                }
                pb.inc(1);
                (name.clone(), rows)
            })
            .collect()
    });
    pb.finish_and_clear();
    let failed = results.iter().filter(|(_, rows)| rows.iter().any(|r| r.prediction.is_none())).count();
    let audio_s: f64 = results.iter().flat_map(|(_, r)| r.iter().map(|x| x.duration_s)).sum();
    for (name, rows) in &results {
        kept.insert(name.clone(), rows.iter().map(|r| csv_line(name, r, segmented)).collect());
    }
    crate::fsutil::write_atomic(&a.output, |w| {
        writeln!(w, "{header}")?;
        for lines in kept.values() {
            for l in lines {
                writeln!(w, "{l}")?;
            }
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", a.output.display()))?;
    let wall = t0.elapsed().as_secs_f64();
    eprintln!(
        "labelled {} file{} ({:.1} s of audio) in {:.2} s — {:.1} files/s{}{}",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        audio_s,
        wall,
        results.len() as f64 / wall.max(1e-9),
        if a.resume { format!(", {} already present", kept.len() - results.len()) } else { String::new() },
        if failed > 0 { format!(", {failed} with errors") } else { String::new() }
    );
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
