//! Training a deployable model on labelled corpora, optionally checked by leave-one-speaker-out
//! against the features-only baseline before it is saved (atomically) as a model folder.

use std::path::PathBuf;

use super::{CancelToken, Event, JobError, Sink, counts, load_pool, load_pool_with};
use crate::classify::bundle::{Bundle, Metadata};
use crate::classify::experiment::{Condition, ExperimentConfig, OutOfContext, run_experiment};
use crate::classify::pipeline::{LabelledSet, PipelineConfig, TASKS, train_ensemble};
use crate::classify::{Grid, InputFeatures, Normalization};
use crate::corpus::FeatureCache;
use crate::model::{AaeConfig, DeviceChoice, select_device};

/// What the SVMs see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recipe {
    /// The 88 functionals (ANOVA-F + SVM), no autoencoder.
    Features,
    /// The conditional AAE's code.
    Aae,
    /// The code of the AAE enriched with out-of-context neighbour labels.
    #[default]
    Enriched,
}

impl crate::choice::Choice for Recipe {
    const WHAT: &'static str = "recipe";
    const ALL: &'static [(&'static str, Self)] = &[("features", Self::Features), ("aae", Self::Aae), ("enriched", Self::Enriched)];
}
crate::choice_traits!(Recipe);

impl Recipe {
    /// The evaluation condition that measures this recipe.
    pub fn condition(self) -> Condition {
        match self {
            Recipe::Features => Condition::Baselinefs,
            Recipe::Aae => Condition::Aae,
            Recipe::Enriched => Condition::Enriched,
        }
    }
}

/// A training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPlan {
    /// In-context corpora (manifest CSV, emotion folders or feature bank), pooled.
    pub in_context: Vec<PathBuf>,
    /// Out-of-context corpora for enrichment, pooled.
    pub out_of_context: Vec<PathBuf>,
    /// Corpora whose features ship with the model as its out-of-context bank; empty: the
    /// out-of-context corpora.
    pub bank: Vec<PathBuf>,
    pub recipe: Recipe,
    pub aae: AaeConfig,
    pub grid: Grid,
    /// How the training rows are standardised: global (default), per corpus or per speaker
    /// (each group by its own label-free statistics). One recording is standardised by the
    /// pooled statistics, or for a per-corpus model by the average corpus's; a per-speaker
    /// model is meant for batch-adapted labelling, `label --adapt`.
    pub normalization: Normalization,
    /// Standardised features held within ± this (`PipelineConfig::clip`); None: not held.
    pub clip: Option<f64>,
    /// The functionals the model reads: all 88, or only what a recording's level does not move.
    pub input: InputFeatures,
    /// Share of the in-context recordings replaced by a degraded copy (`audio::degrade`: another
    /// room, microphone, band limit, background and level) for training; 0: none. Needs audio
    /// (not a feature bank).
    pub degrade: f64,
    pub device: DeviceChoice,
    /// Run leave-one-speaker-out against the features-only baseline before saving.
    pub check: bool,
    /// A JSON report (from `evaluate` or `cross-corpus`) kept in the model's metadata.
    pub evaluation: Option<PathBuf>,
    /// The model folder to write.
    pub output: PathBuf,
    pub cache_dir: PathBuf,
    /// How the model was made, for its metadata.
    pub command: String,
}

impl Default for TrainPlan {
    fn default() -> Self {
        Self {
            in_context: Vec::new(),
            out_of_context: Vec::new(),
            bank: Vec::new(),
            recipe: Recipe::default(),
            aae: AaeConfig::default(),
            grid: Grid::default(),
            normalization: Normalization::Global,
            clip: None,
            input: InputFeatures::All,
            degrade: 0.0,
            device: DeviceChoice::default(),
            check: false,
            evaluation: None,
            output: PathBuf::from("my-model"),
            cache_dir: FeatureCache::default_dir(),
            command: String::new(),
        }
    }
}

/// One task's line of the leave-one-speaker-out check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckLine {
    pub task: String,
    /// UAR of ANOVA-F + SVM on the 88 functionals.
    pub baseline_uar: f64,
    /// UAR of this plan's recipe.
    pub method_uar: f64,
    /// Dimensions the recipe's selection kept (median over folds).
    pub method_ds: usize,
}

/// What a finished training run made.
#[derive(Debug, Clone)]
pub struct Trained {
    pub path: PathBuf,
    pub device: String,
    pub samples: usize,
    /// Selected dimensions of the activation and valence SVMs.
    pub ds: [usize; 2],
    /// The leave-one-speaker-out check; empty when the corpus has fewer than two speakers.
    pub check: Option<Vec<CheckLine>>,
}

/// Trains, checks (if asked) and saves a model.
pub fn run(plan: &TrainPlan, sink: &dyn Sink, cancel: &CancelToken) -> Result<Trained, JobError> {
    if plan.in_context.is_empty() {
        return Err(JobError::NoInContext);
    }
    // Enrichment needs neighbours: an out-of-context set, or several in-context corpora (each
    // one's neighbours then come from the others).
    if plan.recipe == Recipe::Enriched && plan.out_of_context.is_empty() && plan.in_context.len() < 2 {
        return Err(JobError::NoOutOfContext);
    }
    // Read the report first: a bad path should fail before minutes of training.
    let evaluation = match &plan.evaluation {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(JobError::io(p))?;
            serde_json::from_str(&text).map_err(|source| JobError::Json { path: p.clone(), source })?
        }
        None => serde_json::Value::Null,
    };
    let mut cache = FeatureCache::open(&plan.cache_dir);
    let copy = (plan.degrade > 0.0).then_some(super::cross_corpus::DEGRADED_COPY);
    let inside = load_pool_with(&plan.in_context, &mut cache, copy, sink, cancel, (0.0, 0.15))?;
    for (t, task) in TASKS.iter().enumerate() {
        if inside.labels.iter().all(|l| l[t].is_none()) {
            let mut corpora: Vec<&String> = inside.corpora.iter().collect();
            corpora.sort();
            corpora.dedup();
            let corpora = corpora.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
            return Err(JobError::MissingTask { task, corpora });
        }
    }
    // Each member of an ensemble trains with its own share of degraded copies (as in
    // `cross-corpus`); the first member's share is the one a single model gets.
    let mut further_rows = inside.degraded_shares(plan.degrade, super::cross_corpus::DEGRADED_COPY, plan.aae.members);
    let training_rows = further_rows.remove(0);
    let enrich = plan.recipe == Recipe::Enriched;
    let outside =
        if plan.out_of_context.is_empty() { None } else { Some(load_pool(&plan.out_of_context, &mut cache, sink, cancel, (0.15, 0.2))?) };
    let bank_corpora = if plan.bank.is_empty() { None } else { Some(load_pool(&plan.bank, &mut cache, sink, cancel, (0.2, 0.2))?) };
    cancel.check()?;

    let (device, device_name) = select_device(plan.device);
    sink.event(Event::Notice(format!("training on {} samples ({device_name})", inside.len())));
    let representation = plan.recipe.condition().representation(&plan.aae);
    let cfg = PipelineConfig {
        representation: representation.clone(),
        grid: plan.grid.clone(),
        normalization: plan.normalization,
        clip: plan.clip,
        input: plan.input,
    };
    let epochs = plan.aae.epochs.max(1);
    // Each autoencoder of the recipe trains in one stage, or two where enrichment first embeds
    // the data to search neighbours in.
    let stages = (representation.autoencoders().max(1) * if representation.embeds_first() { 2 } else { 1 }) as f32;
    let span = if plan.check { 0.4 } else { 0.78 };
    let mut stage_no = 0.0;
    let mut last_stage = String::new();
    let out_set = outside.as_ref().filter(|_| enrich).map(LabelledSet::from);
    let train_set = LabelledSet { rows: &training_rows, ..LabelledSet::from(&inside) };
    let mut predictor = train_ensemble(&train_set, &further_rows, out_set.as_ref(), &cfg, &device, &mut |s, l| {
        if s != last_stage {
            if !last_stage.is_empty() {
                stage_no += 1.0;
            }
            last_stage = s.to_string();
        }
        sink.event(Event::Epoch { stage: s.to_string(), losses: *l, epochs });
        sink.event(Event::Stage {
            name: format!("training {s} (epoch {})", l.epoch),
            fraction: 0.2 + span * (stage_no + l.epoch as f32 / epochs as f32) / stages,
        });
        !cancel.is_cancelled()
    })?;

    // The calibration target, as the model reads rows.
    predictor.calm_mean =
        crate::corpus::calm_mean(predictor.read(&inside.rows).iter().map(|r| r.as_slice()).zip(inside.emotions.iter().map(|e| e.as_str())));
    let mut check = None;
    let mut evaluation = evaluation;
    if plan.check {
        let mut speakers = inside.speakers.clone();
        speakers.sort();
        speakers.dedup();
        if speakers.len() >= 2 {
            let ecfg = ExperimentConfig {
                dims: vec![plan.aae.dims],
                samples: vec![None],
                seeds: 1,
                first_seed: plan.aae.seed,
                aae: plan.aae.clone(),
                grid: plan.grid.clone(),
                input: plan.input,
                conditions: vec![Condition::Baselinefs, plan.recipe.condition()],
                ..ExperimentConfig::default()
            };
            let ooc: Vec<OutOfContext<'_>> =
                outside.iter().map(|d| OutOfContext { name: d.name.clone(), set: LabelledSet::from(d) }).collect();
            let rows = run_experiment(&LabelledSet::from(&inside), &ooc, &ecfg, &device, &|p| {
                sink.event(Event::Step { done: p.done, total: p.total, what: p.what.clone() });
                sink.event(Event::Stage {
                    name: format!("leave-one-speaker-out {}/{}", p.done, p.total),
                    fraction: 0.6 + 0.38 * p.done as f32 / p.total.max(1) as f32,
                });
                !cancel.is_cancelled()
            })?;
            let method = plan.recipe.condition();
            let lines: Vec<CheckLine> = TASKS
                .iter()
                .filter_map(|t| {
                    let base = rows.iter().find(|r| r.task == *t && r.condition == Condition::Baselinefs)?;
                    // Features-only: the recipe is the baseline itself.
                    let m = rows.iter().find(|r| r.task == *t && r.condition == method)?;
                    Some(CheckLine { task: t.to_string(), baseline_uar: base.uar, method_uar: m.uar, method_ds: m.ds })
                })
                .collect();
            if evaluation.is_null() {
                evaluation = serde_json::json!({ "protocol": "leave-one-speaker-out", "rows": rows });
            }
            check = Some(lines);
        } else {
            check = Some(Vec::new());
        }
    }
    cancel.check()?;

    sink.event(Event::Stage { name: "saving".into(), fraction: 0.99 });
    let metadata = Metadata {
        name: plan.output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        created: super::now_iso(),
        command: plan.command.clone(),
        in_context: counts(&inside),
        out_of_context: outside.as_ref().map(counts).unwrap_or_default(),
        device: device_name.clone(),
        evaluation,
        ..Default::default()
    };
    let bank = bank_corpora.as_ref().or(outside.as_ref()).map(|b| b.to_bank());
    Bundle::save(&predictor, &representation, &metadata, bank.as_ref(), &plan.output)?;
    Ok(Trained {
        path: plan.output.clone(),
        device: device_name,
        samples: inside.len(),
        ds: [predictor.tasks[0].ds(), predictor.tasks[1].ds()],
        check,
    })
}
