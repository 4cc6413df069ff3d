//! `valar train` and `valar evaluate`: the paper's method on the user's corpora.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::progress_bar;
use crate::classify::bundle::{Bundle, Metadata};
use crate::classify::experiment::{
    ExperimentConfig, NamedSet, OutOfContext, ResultRow, cross_corpus_markdown, leave_one_corpus_out, markdown_report, run_experiment,
};
use crate::classify::pipeline::{LabelledSet, PipelineConfig, Representation, train_predictor};
use crate::classify::{Grid, KernelFamily};
use crate::corpus::{FeatureCache, LabelledData, load_labelled};
use crate::model::{AaeConfig, DeviceChoice, select_device};

/// Options shared by `train` and `evaluate`.
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// Autoencoder epochs.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// K nearest out-of-context neighbours for enrichment.
    #[arg(long, default_value_t = 10)]
    pub neighbours: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.0005)]
    pub learning_rate: f64,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 128)]
    pub hidden: usize,
    /// SVM kernel (C and the RBF width are chosen by inner cross-validation).
    #[arg(long, value_enum, default_value_t = Kernel::Linear)]
    pub kernel: Kernel,
    /// SVM costs C tried by the inner cross-validation.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.1,1")]
    pub c_grid: Vec<f64>,
    /// Speaker-grouped folds of the inner cross-validation.
    #[arg(long, default_value_t = 3)]
    pub inner_folds: usize,
    /// Standardise each speaker by its own statistics (evaluation only).
    #[arg(long)]
    pub per_speaker: bool,
    /// Where the autoencoder trains.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Feature cache folder (default: ~/.cache/valar).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Kernel {
    Linear,
    Rbf,
}

impl MethodArgs {
    fn grid(&self) -> Grid {
        Grid {
            kernel: match self.kernel {
                Kernel::Linear => KernelFamily::Linear,
                Kernel::Rbf => KernelFamily::Rbf,
            },
            cs: self.c_grid.clone(),
            inner_folds: self.inner_folds,
            ..Grid::default()
        }
    }

    fn aae(&self, dims: usize, seed: u64) -> AaeConfig {
        AaeConfig {
            dims,
            epochs: self.epochs,
            neighbours: self.neighbours,
            learning_rate: self.learning_rate,
            hidden: self.hidden,
            seed,
            ..AaeConfig::default()
        }
    }
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// In-context corpus: manifest CSV, folder of emotion subfolders, or feature bank (repeat to pool).
    #[arg(long = "in-context", required = true)]
    pub in_context: Vec<PathBuf>,
    /// Out-of-context corpora for enrichment (manifest, folder or feature bank; repeat to pool).
    #[arg(long = "out-of-context")]
    pub out_of_context: Vec<PathBuf>,
    /// Code size D (the bundled model's).
    #[arg(long, default_value_t = AaeConfig::default().dims)]
    pub dims: usize,
    /// Train on the 88 functionals without an autoencoder.
    #[arg(long)]
    pub features_only: bool,
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
    #[command(flatten)]
    pub method: MethodArgs,
}

/// Loads and pools corpora, reporting skipped files.
pub(crate) fn load_pool(paths: &[PathBuf], cache: &mut FeatureCache) -> anyhow::Result<LabelledData> {
    let mut pooled = LabelledData::default();
    let mut names = Vec::new();
    for p in paths {
        let pb = progress_bar(0, &format!("features of {}", p.display()));
        let d = load_labelled(p, cache, &|done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        })
        .with_context(|| format!("loading {}", p.display()))?;
        pb.finish_and_clear();
        for s in &d.skipped {
            eprintln!("skipped: {s}");
        }
        names.push(d.name.clone());
        pooled.extend(d);
    }
    pooled.name = names.join("+");
    Ok(pooled)
}

fn open_cache(dir: &Option<PathBuf>) -> FeatureCache {
    FeatureCache::open(&dir.clone().unwrap_or_else(FeatureCache::default_dir))
}

fn counts(d: &LabelledData) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for c in &d.corpora {
        match out.iter_mut().find(|(n, _)| n == c) {
            Some((_, k)) => *k += 1,
            None => out.push((c.clone(), 1)),
        }
    }
    out
}

pub fn train(a: TrainArgs) -> anyhow::Result<ExitCode> {
    // Read the report first: a bad path should fail before minutes of training.
    let evaluation = match &a.evaluation {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))?
        }
        None => serde_json::Value::Null,
    };
    let mut cache = open_cache(&a.method.cache);
    let inside = load_pool(&a.in_context, &mut cache)?;
    let outside = if a.out_of_context.is_empty() { None } else { Some(load_pool(&a.out_of_context, &mut cache)?) };
    let bank_corpora = if a.bank.is_empty() { None } else { Some(load_pool(&a.bank, &mut cache)?) };
    let (device, device_name) = select_device(a.method.device);
    eprintln!("training on {} samples ({device_name})", inside.len());
    let representation = if a.features_only {
        Representation::Features
    } else if outside.is_some() {
        Representation::Enriched(a.method.aae(a.dims, a.seed))
    } else {
        Representation::Aae(a.method.aae(a.dims, a.seed))
    };
    let cfg = PipelineConfig { representation: representation.clone(), grid: a.method.grid() };
    let pb = progress_bar(0, "training");
    let out_set = outside.as_ref().map(LabelledSet::from);
    let predictor = train_predictor(&LabelledSet::from(&inside), out_set.as_ref(), &cfg, &device, &mut |stage, l| {
        pb.set_message(format!("{stage}: rec {:.3} adv {:.3} per {:.3}", l.rec, l.adv, l.per));
        pb.set_length(a.method.epochs as u64);
        pb.set_position(l.epoch as u64);
        true
    })?;
    pb.finish_and_clear();
    let metadata = Metadata {
        name: a.output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        created: now_iso(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        in_context: counts(&inside),
        out_of_context: outside.as_ref().map(counts).unwrap_or_default(),
        device: device_name,
        evaluation,
        ..Default::default()
    };
    let bank = match bank_corpora {
        Some(b) => Some(b.to_bank()),
        None => outside.as_ref().map(|o| o.to_bank()),
    };
    Bundle::save(&predictor, &representation, &metadata, bank.as_ref(), &a.output)?;
    eprintln!("saved {} (activation: {} dims selected, valence: {})", a.output.display(), predictor.tasks[0].ds(), predictor.tasks[1].ds());
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
    #[arg(long, value_delimiter = ',', default_value = "64,10")]
    pub dims: Vec<usize>,
    /// Training samples per fold: `full` or counts (Exp2).
    #[arg(long, value_delimiter = ',', default_value = "full")]
    pub samples: Vec<String>,
    /// Seeds (repetitions).
    #[arg(long, default_value_t = 3)]
    pub seeds: usize,
    /// First seed (seeds run from here: extend or split a run without repeating a seed).
    #[arg(long = "first-seed", default_value_t = 0)]
    pub first_seed: u64,
    /// Conditions to run.
    #[arg(long, value_delimiter = ',', default_value = "baseline,baselinefs,aae,enriched")]
    pub conditions: Vec<String>,
    /// JSON report.
    #[arg(long)]
    pub report: PathBuf,
    /// Also write the Markdown tables here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    #[command(flatten)]
    pub method: MethodArgs,
}

pub fn evaluate(a: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let mut cache = open_cache(&a.method.cache);
    let inside = load_pool(std::slice::from_ref(&a.in_context), &mut cache)?;
    let mut outside = Vec::new();
    for spec in &a.out_of_context {
        let paths: Vec<PathBuf> = spec.split('+').map(PathBuf::from).collect();
        let d = load_pool(&paths, &mut cache)?;
        outside.push(d);
    }
    let samples = a
        .samples
        .iter()
        .map(|s| match s.trim() {
            "full" => Ok(None),
            n => n.parse::<usize>().map(Some).with_context(|| format!("--samples: '{n}' is neither `full` nor a count")),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (device, device_name) = select_device(a.method.device);
    eprintln!("{}: {} samples, {} speakers; device: {device_name}", inside.name, inside.len(), {
        let mut s = inside.speakers.clone();
        s.sort();
        s.dedup();
        s.len()
    });
    let cfg = ExperimentConfig {
        dims: a.dims.clone(),
        samples,
        seeds: a.seeds,
        first_seed: a.first_seed,
        aae: a.method.aae(10, 0),
        grid: a.method.grid(),
        per_speaker: a.method.per_speaker,
        conditions: a.conditions.clone(),
    };
    let ooc: Vec<OutOfContext<'_>> = outside.iter().map(|d| OutOfContext { name: d.name.clone(), set: LabelledSet::from(d) }).collect();
    let pb = progress_bar(0, "evaluating");
    let rows = run_experiment(&LabelledSet::from(&inside), &ooc, &cfg, &device, &|p| {
        pb.set_length(p.total as u64);
        pb.set_position(p.done as u64);
        pb.set_message(p.what.clone());
        log_step(&pb, p.done, p.total, &p.what);
        true
    })?;
    pb.finish_and_clear();
    let report = serde_json::json!({
        "in_context": inside.name,
        "out_of_context": outside.iter().map(|o| o.name.clone()).collect::<Vec<_>>(),
        "device": device_name,
        "config": cfg,
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "seconds": t0.elapsed().as_secs_f64(),
        "rows": rows,
    });
    write_json(&a.report, &report)?;
    let md = markdown_report(&rows);
    println!("{md}");
    if let Some(p) = &a.markdown {
        crate::fsutil::write_atomic(p, |w| w.write_all(md.as_bytes())).with_context(|| format!("writing {}", p.display()))?;
    }
    eprintln!("evaluation took {:.1} s", t0.elapsed().as_secs_f64());
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

/// Joins the rows of several reports; a result present in more than one (same task, condition,
/// out-of-context set, D, samples and seed) is taken from the first. Paired tests then compare
/// every AAE setting with whichever report held baselinefs.
pub fn report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut in_context: Option<String> = None;
    for path in &a.reports {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let name = v.get("in_context").and_then(|n| n.as_str()).map(str::to_string);
        match (&in_context, &name) {
            (Some(first), Some(this)) if first != this => {
                anyhow::bail!("{}: in-context corpus '{this}' differs from the first report's '{first}'", path.display())
            }
            (None, Some(_)) => in_context = name,
            _ => {}
        }
        let these: Vec<ResultRow> = serde_json::from_value(v.get("rows").cloned().unwrap_or_default())
            .with_context(|| format!("{}: no valid `rows` list", path.display()))?;
        for r in these {
            let same = |o: &ResultRow| {
                (&o.task, &o.condition, &o.out_of_context, o.dims, &o.samples, o.seed)
                    == (&r.task, &r.condition, &r.out_of_context, r.dims, &r.samples, r.seed)
            };
            if !rows.iter().any(same) {
                rows.push(r);
            }
        }
    }
    let md = markdown_report(&rows);
    println!("{md}");
    if let Some(p) = &a.markdown {
        crate::fsutil::write_atomic(p, |w| w.write_all(md.as_bytes())).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn write_json(path: &Path, v: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    crate::fsutil::write_atomic(path, |w| w.write_all(text.as_bytes())).with_context(|| format!("writing {}", path.display()))
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

#[derive(Args, Debug)]
pub struct CrossCorpusArgs {
    /// Corpora (manifest, emotion folder or feature bank); each is held out in turn.
    #[arg(long = "corpus", required = true)]
    pub corpora: Vec<PathBuf>,
    /// Conditions: baselinefs, aae, enriched.
    #[arg(long, value_delimiter = ',', default_value = "baselinefs,aae,enriched")]
    pub conditions: Vec<String>,
    /// Code size D.
    #[arg(long, default_value_t = 10)]
    pub dims: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// JSON report.
    #[arg(long)]
    pub report: PathBuf,
    #[command(flatten)]
    pub method: MethodArgs,
}

pub fn cross_corpus(a: CrossCorpusArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let mut cache = open_cache(&a.method.cache);
    let mut data = Vec::new();
    for p in &a.corpora {
        data.push(load_pool(std::slice::from_ref(p), &mut cache)?);
    }
    let (device, device_name) = select_device(a.method.device);
    let sets: Vec<NamedSet<'_>> = data.iter().map(|d| NamedSet { name: d.name.clone(), set: LabelledSet::from(d) }).collect();
    let pb = progress_bar(0, "cross-corpus");
    let rows = leave_one_corpus_out(&sets, &a.conditions, &a.method.aae(a.dims, a.seed), &a.method.grid(), &device, &|p| {
        pb.set_length(p.total as u64);
        pb.set_position(p.done as u64);
        pb.set_message(p.what.clone());
        log_step(&pb, p.done, p.total, &p.what);
        true
    })?;
    pb.finish_and_clear();
    write_json(
        &a.report,
        &serde_json::json!({
            "protocol": "leave-one-corpus-out",
            "corpora": data.iter().map(|d| (d.name.clone(), d.len())).collect::<Vec<_>>(),
            "device": device_name,
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "seconds": t0.elapsed().as_secs_f64(),
            "rows": rows,
        }),
    )?;
    println!("{}", cross_corpus_markdown(&rows));
    eprintln!("took {:.1} s", t0.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// Without a terminal (logs, CI) the progress bar is hidden; print one line per finished fold.
fn log_step(pb: &indicatif::ProgressBar, done: usize, total: usize, what: &str) {
    if pb.is_hidden() {
        eprintln!("[{done}/{total}] {what}");
    }
}
