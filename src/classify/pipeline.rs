//! One deployable predictor: z-normalisation → (enriched) conditional AAE encoder → per task
//! ANOVA-F selection + SVM. The same function trains inside every evaluation fold and for a
//! shipped model, so evaluation measures exactly what users get.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::{ClassifyError, Grid, Normalizer, TaskModel, normalize_per_group, train_task};
use crate::model::{self, AaeConfig, AaeData, Encoder, EpochLosses, ModelError};

/// The two tasks, in this order everywhere.
pub const TASKS: [&str; 2] = ["activation", "valence"];

/// How features become the SVM's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Representation {
    /// The 88 functionals (paper: baseline / baselinefs).
    Features,
    /// Codes of a conditional AAE trained on in-context data only.
    Aae(AaeConfig),
    /// Codes of the AAE enriched with out-of-context neighbour labels.
    Enriched(AaeConfig),
}

impl Representation {
    pub fn aae(&self) -> Option<&AaeConfig> {
        match self {
            Representation::Features => None,
            Representation::Aae(c) | Representation::Enriched(c) => Some(c),
        }
    }
}

/// Labelled rows of raw (unnormalised) functionals.
#[derive(Debug, Clone, Copy)]
pub struct LabelledSet<'a> {
    pub rows: &'a [Vec<f64>],
    /// (activation, valence) per row; None = unknown.
    pub labels: &'a [[Option<bool>; 2]],
    pub speakers: &'a [String],
    /// Corpus of each row (out-of-context rows are normalised per corpus).
    pub corpora: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    pub representation: Representation,
    pub grid: Grid,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Classify(#[from] ClassifyError),
    #[error("no sample has a {0} label")]
    NoLabels(&'static str),
    #[error("enrichment needs out-of-context data")]
    NoOutOfContext,
}

/// A trained predictor.
#[derive(Debug, Clone)]
pub struct Predictor {
    pub normalizer: Normalizer,
    pub encoder: Option<Encoder>,
    pub code_normalizer: Option<Normalizer>,
    /// Activation, then valence.
    pub tasks: [TaskModel; 2],
    pub history: Vec<EpochLosses>,
}

/// Activation and valence of one input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub activation_high: bool,
    /// Calibrated probability of high activation.
    pub activation_score: f64,
    pub valence_positive: bool,
    /// Calibrated probability of positive valence.
    pub valence_score: f64,
}

impl Predictor {
    /// Model input (normalised, encoded, code-normalised) of raw functionals.
    pub fn represent(&self, raw: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let x = self.normalizer.transform(raw);
        match (&self.encoder, &self.code_normalizer) {
            (Some(enc), Some(cn)) => cn.transform(&enc.encode(&x)),
            _ => x,
        }
    }

    pub fn predict_represented(&self, rep: &[f64]) -> Prediction {
        let [a, v] = &self.tasks;
        Prediction {
            activation_high: a.predict(rep),
            activation_score: a.probability(rep),
            valence_positive: v.predict(rep),
            valence_score: v.probability(rep),
        }
    }

    pub fn predict(&self, raw: &[Vec<f64>]) -> Vec<Prediction> {
        self.represent(raw).iter().map(|r| self.predict_represented(r)).collect()
    }
}

fn cond_code(l: Option<bool>) -> f32 {
    match l {
        Some(true) => 1.0,
        Some(false) => -1.0,
        None => 0.0,
    }
}

/// Normalises each corpus of an out-of-context set by its own statistics.
fn normalize_per_corpus(set: &LabelledSet<'_>) -> Vec<Vec<f64>> {
    normalize_per_group(set.rows, set.corpora)
}

/// Trains a predictor on `train` (and, for enrichment, `outside`). `on_epoch` receives
/// (stage, losses) and returns false to cancel.
pub fn train_predictor(
    train: &LabelledSet<'_>,
    outside: Option<&LabelledSet<'_>>,
    cfg: &PipelineConfig,
    device: &Device,
    on_epoch: &mut dyn FnMut(&str, &EpochLosses) -> bool,
) -> Result<Predictor, PipelineError> {
    let normalizer = Normalizer::fit(train.rows);
    let x = normalizer.transform(train.rows);
    let mut history = Vec::new();
    let (encoder, reps) = match &cfg.representation {
        Representation::Features => (None, x.clone()),
        Representation::Aae(a) | Representation::Enriched(a) => {
            let cond: Vec<[f32; 2]> = train.labels.iter().map(|l| [cond_code(l[0]), cond_code(l[1])]).collect();
            let enrich = if matches!(cfg.representation, Representation::Enriched(_)) {
                let out = outside.ok_or(PipelineError::NoOutOfContext)?;
                let xo = normalize_per_corpus(out);
                // Stage 1: a plain AAE on in-context ∪ out-of-context embeds both sets.
                let mut pooled = x.clone();
                pooled.extend(xo.iter().cloned());
                let (plain, h) =
                    model::train_aae(&AaeData { x: &pooled, cond: None, enrich: None }, a, device, &mut |l| on_epoch("embedding", l))?;
                history.extend(h);
                Some(model::neighbour_labels(&plain.encode(&x), &plain.encode(&xo), out.labels, a.neighbours))
            } else {
                None
            };
            let data = AaeData { x: &x, cond: Some(&cond), enrich: enrich.as_ref() };
            let (enc, h) = model::train_aae(&data, a, device, &mut |l| on_epoch("autoencoder", l))?;
            history.extend(h);
            let codes = enc.encode(&x);
            (Some(enc), codes)
        }
    };
    let code_normalizer = encoder.as_ref().map(|_| Normalizer::fit(&reps));
    let reps = match &code_normalizer {
        Some(cn) => cn.transform(&reps),
        None => reps,
    };
    let mut tasks = Vec::with_capacity(2);
    for (t, name) in TASKS.iter().enumerate() {
        let idx: Vec<usize> = (0..reps.len()).filter(|&i| train.labels[i][t].is_some()).collect();
        if idx.is_empty() {
            return Err(PipelineError::NoLabels(name));
        }
        let rows: Vec<Vec<f64>> = idx.iter().map(|&i| reps[i].clone()).collect();
        let y: Vec<bool> = idx.iter().map(|&i| train.labels[i][t] == Some(true)).collect();
        let spk: Vec<String> = idx.iter().map(|&i| train.speakers[i].clone()).collect();
        tasks.push(train_task(&rows, &y, &spk, &cfg.grid)?);
    }
    let tasks: [TaskModel; 2] = tasks.try_into().map_err(|_| PipelineError::NoLabels("activation"))?;
    Ok(Predictor { normalizer, encoder, code_normalizer, tasks, history })
}

impl<'a> From<&'a crate::corpus::LabelledData> for LabelledSet<'a> {
    fn from(d: &'a crate::corpus::LabelledData) -> Self {
        LabelledSet { rows: &d.rows, labels: &d.labels, speakers: &d.speakers, corpora: &d.corpora }
    }
}
