//! `valar train`, `evaluate`, `report` and `cross-corpus`: clap arguments → job plans, job
//! events → progress bars or log lines, outcomes → tables.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Progress;
use crate::classify::experiment::{Condition, ExperimentConfig, markdown_report};
use crate::classify::{Grid, InputFeatures, KernelFamily, Normalization};
use crate::corpus::FeatureCache;
use crate::jobs::cross_corpus::{self, CrossCorpusPlan};
use crate::jobs::evaluate::{self, EvaluatePlan};
use crate::jobs::train::{self, Recipe, TrainPlan};
use crate::jobs::{CancelToken, write_text};
use crate::model::{AaeConfig, Conditioning, DeviceChoice, Head, NeighbourSpace};

/// Options shared by `train`, `evaluate` and `cross-corpus`; defaults are the library's.
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// Autoencoder epochs.
    #[arg(long, default_value_t = AaeConfig::default().epochs)]
    pub epochs: usize,
    /// K nearest out-of-context neighbours for enrichment.
    #[arg(long, default_value_t = AaeConfig::default().neighbours)]
    pub neighbours: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = AaeConfig::default().learning_rate)]
    pub learning_rate: f64,
    /// Hidden units per layer.
    #[arg(long, default_value_t = AaeConfig::default().hidden)]
    pub hidden: usize,
    /// SVM kernel: linear or rbf (C and the RBF width are chosen by inner cross-validation).
    #[arg(long, default_value_t = Grid::default().kernel)]
    pub kernel: KernelFamily,
    /// SVM costs C tried by the inner cross-validation.
    #[arg(long, value_delimiter = ',', default_values_t = Grid::default().cs)]
    pub c_grid: Vec<f64>,
    /// Speaker-grouped folds of the inner cross-validation.
    #[arg(long, default_value_t = Grid::default().inner_folds)]
    pub inner_folds: usize,
    /// ANOVA-F selection of the SVMs' inputs (false: every dimension, for every condition).
    #[arg(long, default_value_t = Grid::default().select, action = clap::ArgAction::Set)]
    pub selection: bool,
    /// Standardise each speaker by its own statistics (evaluation only; same as
    /// `--normalization per-speaker`).
    #[arg(long)]
    pub per_speaker: bool,
    /// Normalisation before anything is fitted: global, per-speaker or per-corpus (each group by
    /// its own label-free statistics). Default: per-speaker for `evaluate`, global for
    /// `cross-corpus` and `train`. A model trained per corpus labels one recording by the
    /// average corpus's statistics; one trained per speaker is meant for `label --adapt`.
    #[arg(long)]
    pub normalization: Option<Normalization>,
    /// What the decoder sees besides the code: both labels (the paper), none, activation or valence.
    #[arg(long, default_value_t = AaeConfig::default().conditioning)]
    pub conditioning: Conditioning,
    /// Enrichment head M: mlp or linear.
    #[arg(long, default_value_t = AaeConfig::default().head)]
    pub head: Head,
    /// Weight of the enrichment loss L_per.
    #[arg(long, default_value_t = AaeConfig::default().w_per)]
    pub w_per: f64,
    /// Weight of the adversarial loss L_adv.
    #[arg(long, default_value_t = AaeConfig::default().w_adv)]
    pub w_adv: f64,
    /// L_rec summed over the 88 features (the paper's ‖X′ − X‖²) instead of averaged.
    #[arg(long)]
    pub rec_sum: bool,
    /// At least this many optimiser steps (epochs are raised to reach it).
    #[arg(long, default_value_t = AaeConfig::default().min_steps)]
    pub min_steps: usize,
    /// Keep the epoch with the lowest reconstruction on a fifth of the training speakers.
    #[arg(long)]
    pub early_stopping: bool,
    /// Where enrichment searches neighbours: code (a plain AAE's, the paper) or features.
    #[arg(long, default_value_t = AaeConfig::default().neighbour_space)]
    pub neighbour_space: NeighbourSpace,
    /// The SVM sees the code with the 88 z-scored functionals appended (valar's recipe; `false`
    /// gives the paper's code-only SVM).
    #[arg(long, default_value_t = AaeConfig::default().append_features, action = clap::ArgAction::Set)]
    pub append_features: bool,
    /// Standardise what the SVM sees (code ⊕ features) per speaker in training, and a test
    /// speaker's by their own statistics in `evaluate` (an extension).
    #[arg(long, default_value_t = AaeConfig::default().code_per_speaker, action = clap::ArgAction::Set)]
    pub code_per_speaker: bool,
    /// Autoencoders trained alike but for the seed (seed, seed + 1, …), each with its own SVMs;
    /// predictions average their probabilities (an ensemble).
    #[arg(long, default_value_t = AaeConfig::default().members as u64, value_parser = clap::value_parser!(u64).range(1..=16))]
    pub members: u64,
    /// Where the autoencoder trains: auto, wgpu or cpu.
    #[arg(long, default_value_t = DeviceChoice::default())]
    pub device: DeviceChoice,
    /// Feature cache folder (default: ~/.cache/valar).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

impl MethodArgs {
    fn grid(&self) -> Grid {
        Grid { kernel: self.kernel, cs: self.c_grid.clone(), inner_folds: self.inner_folds, select: self.selection, ..Grid::default() }
    }

    fn aae(&self, dims: usize, seed: u64) -> AaeConfig {
        AaeConfig {
            dims,
            epochs: self.epochs,
            neighbours: self.neighbours,
            learning_rate: self.learning_rate,
            hidden: self.hidden,
            seed,
            conditioning: self.conditioning,
            head: self.head,
            w_per: self.w_per,
            w_adv: self.w_adv,
            rec_sum: self.rec_sum,
            min_steps: self.min_steps,
            early_stopping: self.early_stopping,
            neighbour_space: self.neighbour_space,
            append_features: self.append_features,
            code_per_speaker: self.code_per_speaker,
            members: self.members as usize,
            ..AaeConfig::default()
        }
    }

    fn normalization(&self, default: Normalization) -> Normalization {
        if self.per_speaker { Normalization::PerSpeaker } else { self.normalization.unwrap_or(default) }
    }

    fn cache_dir(&self) -> PathBuf {
        self.cache.clone().unwrap_or_else(FeatureCache::default_dir)
    }
}

/// Options of `train` and `cross-corpus` for recordings unlike the training corpora's.
#[derive(Args, Debug, Clone)]
pub struct RobustArgs {
    /// Hold standardised features within ±Z (before training, and for every recording the
    /// model labels), so one feature far outside the training data cannot swing a decision.
    #[arg(long, value_name = "Z", value_parser = positive)]
    pub clip: Option<f64>,
    /// Replace this share (0–1) of the training recordings by a degraded copy: another room,
    /// microphone, band limit, background noise and level (needs the audio, not a feature bank).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub degrade: f64,
    /// The functionals the model reads: all (the 88 as extracted) or level-free (the loudness
    /// contour relative to its mean; nothing that a microphone's gain moves).
    #[arg(long, default_value = "all")]
    pub input: InputFeatures,
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a share between 0 and 1")),
    }
}

/// How this run was started, as a user would type it from the repository: `valar` and the
/// arguments (not this machine's path to the executable).
fn command_line() -> String {
    std::iter::once("valar".to_string()).chain(std::env::args().skip(1)).collect::<Vec<_>>().join(" ")
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// In-context corpus: manifest CSV, folder of emotion subfolders, or feature bank (repeat to pool).
    #[arg(long = "in-context", required = true)]
    pub in_context: Vec<PathBuf>,
    /// Out-of-context corpora for enrichment (manifest, folder or feature bank; repeat to pool).
    #[arg(long = "out-of-context")]
    pub out_of_context: Vec<PathBuf>,
    /// Code size D of the autoencoder.
    #[arg(long, default_value_t = AaeConfig::default().dims)]
    pub dims: usize,
    /// Train on the 88 functionals without an autoencoder (same as `--recipe features`).
    #[arg(long)]
    pub features_only: bool,
    /// What the SVMs see: features, aae or enriched. Default: enriched with --out-of-context,
    /// else aae. Enriched without --out-of-context needs several in-context corpora: each
    /// one's neighbours then come from the others.
    #[arg(long)]
    pub recipe: Option<Recipe>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output model folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Corpora whose features (no audio) ship with the model as its out-of-context bank, for
    /// users who retrain with enrichment, when the model itself is trained without enrichment.
    /// Default: the `--out-of-context` corpora.
    #[arg(long)]
    pub bank: Vec<PathBuf>,
    /// A JSON report (e.g. from `valar cross-corpus` or `valar evaluate`) to keep in the model's
    /// metadata as its evaluation.
    #[arg(long)]
    pub evaluation: Option<PathBuf>,
    /// Before saving, compare the model's recipe with the features-only baseline by
    /// leave-one-speaker-out on the in-context data (as the Train tab does).
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub method: MethodArgs,
    #[command(flatten)]
    pub robust: RobustArgs,
}

pub fn train(a: TrainArgs) -> anyhow::Result<ExitCode> {
    let recipe = match (a.recipe, a.features_only, a.out_of_context.is_empty()) {
        (Some(r), _, _) => r,
        (None, true, _) => Recipe::Features,
        (None, false, false) => Recipe::Enriched,
        (None, false, true) => Recipe::Aae,
    };
    let plan = TrainPlan {
        in_context: a.in_context,
        out_of_context: a.out_of_context,
        bank: a.bank,
        recipe,
        aae: a.method.aae(a.dims, a.seed),
        grid: a.method.grid(),
        normalization: a.method.normalization(Normalization::Global),
        clip: a.robust.clip,
        input: a.robust.input,
        degrade: a.robust.degrade,
        device: a.method.device,
        check: a.check,
        evaluation: a.evaluation,
        output: a.output,
        cache_dir: a.method.cache_dir(),
        command: command_line(),
    };
    let progress = Progress::new("training");
    let t = train::run(&plan, &|e| progress.show(e), &CancelToken::new())?;
    progress.finish();
    if let Some(lines) = &t.check {
        if lines.is_empty() {
            eprintln!("leave-one-speaker-out check: fewer than two speakers");
        }
        for l in lines {
            eprintln!(
                "leave-one-speaker-out {}: baseline {:.1} %, this model {:.1} % (Ds={})",
                l.task,
                100.0 * l.baseline_uar,
                100.0 * l.method_uar,
                l.method_ds
            );
        }
    }
    eprintln!("saved {} (activation: {} dims selected, valence: {})", t.path.display(), t.ds[0], t.ds[1]);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// In-context corpus (manifest CSV, emotion folder or feature bank).
    #[arg(long = "in-context")]
    pub in_context: PathBuf,
    /// Out-of-context corpora, each its own condition (repeat; join with '+' to pool several).
    #[arg(long = "out-of-context")]
    pub out_of_context: Vec<String>,
    /// Code sizes D.
    #[arg(long, value_delimiter = ',', default_values_t = ExperimentConfig::default().dims)]
    pub dims: Vec<usize>,
    /// Training samples per fold: `full` or counts (Exp2).
    #[arg(long, value_delimiter = ',', default_value = "full")]
    pub samples: Vec<String>,
    /// Seeds (repetitions).
    #[arg(long, default_value_t = ExperimentConfig::default().seeds)]
    pub seeds: usize,
    /// First seed (seeds run from here: extend or split a run without repeating a seed).
    #[arg(long = "first-seed", default_value_t = 0)]
    pub first_seed: u64,
    /// Conditions to run: baseline, baselinefs, aae, enriched, oracle (own labels as targets).
    #[arg(long, value_delimiter = ',', default_values_t = ExperimentConfig::default().conditions)]
    pub conditions: Vec<Condition>,
    /// JSON report.
    #[arg(long)]
    pub report: PathBuf,
    /// Also write the Markdown tables here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// The functionals the models read: all (the 88 as extracted) or level-free.
    #[arg(long, default_value = "all")]
    pub input: InputFeatures,
    #[command(flatten)]
    pub method: MethodArgs,
}

pub fn evaluate(a: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let samples = a
        .samples
        .iter()
        .map(|s| match s.trim() {
            "full" => Ok(None),
            n => n.parse::<usize>().map(Some).map_err(|_| anyhow::anyhow!("--samples: '{n}' is neither `full` nor a count")),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan = EvaluatePlan {
        in_context: a.in_context,
        out_of_context: a.out_of_context.iter().map(|spec| spec.split('+').map(PathBuf::from).collect()).collect(),
        experiment: ExperimentConfig {
            dims: a.dims,
            samples,
            seeds: a.seeds,
            first_seed: a.first_seed,
            aae: a.method.aae(AaeConfig::default().dims, 0),
            grid: a.method.grid(),
            normalization: a.method.normalization(ExperimentConfig::default().normalization),
            input: a.input,
            conditions: a.conditions,
        },
        device: a.method.device,
        cache_dir: a.method.cache_dir(),
        report: a.report,
        markdown: a.markdown,
        command: command_line(),
    };
    let progress = Progress::new("evaluating");
    let r = evaluate::run(&plan, &|e| progress.show(e), &CancelToken::new())?;
    progress.finish();
    println!("{}", r.markdown);
    eprintln!("evaluation took {:.1} s", r.seconds);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// JSON reports of `valar evaluate` (e.g. the baselines of one run and the AAE conditions
    /// of another, on the same in-context corpus).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Also write the Markdown tables here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

/// Joins the rows of several reports; paired tests then compare every AAE setting with
/// whichever report held baselinefs.
pub fn report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let rows = evaluate::join_reports(&a.reports)?;
    let md = markdown_report(&rows);
    println!("{md}");
    if let Some(p) = &a.markdown {
        write_text(p, &md)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct CrossCorpusArgs {
    /// Corpora (manifest, emotion folder or feature bank); each is held out in turn.
    #[arg(long = "corpus", required = true)]
    pub corpora: Vec<PathBuf>,
    /// Conditions: baseline, baselinefs, aae, enriched.
    #[arg(long, value_delimiter = ',', default_values_t = CrossCorpusPlan::default().conditions)]
    pub conditions: Vec<Condition>,
    /// Code size D.
    #[arg(long, default_value_t = AaeConfig::default().dims)]
    pub dims: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seeds (repetitions of the autoencoder conditions), from --seed on.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// JSON report.
    #[arg(long)]
    pub report: PathBuf,
    /// Also score each held-out corpus on a degraded copy of its recordings (another room,
    /// microphone, band limit, background noise and level).
    #[arg(long)]
    pub score_degraded: bool,
    #[command(flatten)]
    pub method: MethodArgs,
    #[command(flatten)]
    pub robust: RobustArgs,
}

pub fn cross_corpus(a: CrossCorpusArgs) -> anyhow::Result<ExitCode> {
    let plan = CrossCorpusPlan {
        corpora: a.corpora,
        conditions: a.conditions,
        aae: a.method.aae(a.dims, a.seed),
        seeds: a.seeds,
        grid: a.method.grid(),
        normalization: a.method.normalization(CrossCorpusPlan::default().normalization),
        clip: a.robust.clip,
        input: a.robust.input,
        degrade: a.robust.degrade,
        score_degraded: a.score_degraded,
        device: a.method.device,
        cache_dir: a.method.cache_dir(),
        report: a.report,
        command: command_line(),
    };
    let progress = Progress::new("cross-corpus");
    let r = cross_corpus::run(&plan, &|e| progress.show(e), &CancelToken::new())?;
    progress.finish();
    println!("{}", r.markdown);
    eprintln!("took {:.1} s", r.seconds);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args, Debug)]
pub struct CalibrationArgs {
    /// Corpora (manifest, emotion folder or feature bank), each measured leave-one-speaker-out.
    #[arg(long = "corpus", required = true)]
    pub corpora: Vec<PathBuf>,
    /// Also measure leave-one-corpus-out over the corpora.
    #[arg(long)]
    pub across: bool,
    /// Measure leave-one-corpus-out only (implies --across; skips the per-corpus runs).
    #[arg(long)]
    pub across_only: bool,
    /// What each fold trains: features (fast), aae or enriched.
    #[arg(long, default_value_t = Recipe::Features)]
    pub recipe: Recipe,
    /// Code size D (autoencoder recipes).
    #[arg(long, default_value_t = AaeConfig::default().dims)]
    pub dims: usize,
    /// JSON report.
    #[arg(long)]
    pub report: PathBuf,
    #[command(flatten)]
    pub method: MethodArgs,
}

pub fn calibration(a: CalibrationArgs) -> anyhow::Result<ExitCode> {
    let representation = a.recipe.condition().representation(&a.method.aae(a.dims, 0));
    let plan = crate::jobs::calibration::CalibrationPlan {
        corpora: a.corpora,
        across: a.across || a.across_only,
        within: !a.across_only,
        pipeline: crate::classify::pipeline::PipelineConfig {
            representation,
            grid: a.method.grid(),
            normalization: Default::default(),
            clip: None,
            input: Default::default(),
        },
        device: a.method.device,
        cache_dir: a.method.cache_dir(),
        report: a.report,
        command: command_line(),
    };
    let progress = Progress::new("calibration");
    let r = crate::jobs::calibration::run(&plan, &|e| progress.show(e), &CancelToken::new())?;
    progress.finish();
    println!("{}", r.markdown);
    Ok(ExitCode::SUCCESS)
}
