//! `valar label`: activation and valence for every recording under a file or folder.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::Progress;
use crate::classify::Adaptation;
use crate::classify::bundle::default_model_dir;
use crate::jobs::CancelToken;
use crate::jobs::export::ExportFormat;
use crate::jobs::label::{self, LabelPlan};

#[derive(Args, Debug)]
pub struct LabelArgs {
    /// An audio file or a folder (searched recursively).
    pub input: PathBuf,
    /// Output: the CSV, or with --format textgrid|eaf|audacity the export of one recording, or
    /// for a folder of recordings a folder receiving one export per recording and labels.csv.
    #[arg(short, long)]
    pub output: PathBuf,
    /// csv (valar's table), textgrid (Praat), eaf (ELAN) or audacity (label track): tiers
    /// `activation` and `valence`, one interval per segment, text = label and score.
    #[arg(long, default_value_t = ExportFormat::default())]
    pub format: ExportFormat,
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
    /// Batch adaptation: standardise the features (and a model's code) by the statistics of
    /// the recordings being labelled (needs at least 20 files or segments; assumes they are
    /// not all one emotion).
    #[arg(long)]
    pub adapt: bool,
    /// Adapt each folder's recordings by their own statistics (recordings sorted into one
    /// folder per speaker: the per-speaker route; each folder needs at least 20 files or
    /// segments).
    #[arg(long)]
    pub adapt_per_folder: bool,
    /// What adaptation standardises: `representation` (the features, then everything the
    /// SVMs see, a model's code included: measured better) or `features` only.
    #[arg(long, default_value_t = Adaptation::default())]
    pub adaptation: Adaptation,
}

pub fn run(a: LabelArgs) -> anyhow::Result<ExitCode> {
    let plan = LabelPlan {
        input: a.input,
        output: a.output,
        format: a.format,
        model: a.model.unwrap_or_else(default_model_dir),
        segment: a.segment,
        jobs: a.jobs,
        resume: a.resume,
        adapt: a.adapt,
        adapt_per_folder: a.adapt_per_folder,
        adaptation: a.adaptation,
    };
    let t0 = Instant::now();
    let progress = Progress::new("labelling");
    let r = label::run(&plan, &|e| progress.show(e), &CancelToken::new())?;
    progress.finish();
    let wall = t0.elapsed().as_secs_f64();
    eprintln!(
        "labelled {} file{} ({:.1} s of audio) in {:.2} s — {:.0}× real time{}{}{}",
        r.files,
        if r.files == 1 { "" } else { "s" },
        r.audio_s,
        wall,
        r.audio_s / wall.max(1e-9),
        if r.files > 1 { format!(", {:.1} files/s", r.files as f64 / wall.max(1e-9)) } else { String::new() },
        if plan.resume { format!(", {} already present", r.kept) } else { String::new() },
        if r.failed > 0 { format!(", {} with errors", r.failed) } else { String::new() }
    );
    match r.folders {
        Some((done, short)) => {
            eprintln!("adapted per folder: {done} folder{} by their own statistics, {short} too small", if done == 1 { "" } else { "s" })
        }
        None if r.adapted => eprintln!(
            "batch-adapted: {} standardised by this batch's statistics",
            match plan.adaptation {
                Adaptation::Features => "features",
                Adaptation::Representation => "features and the model's code (if it has one)",
            }
        ),
        None => {}
    }
    Ok(if r.failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
