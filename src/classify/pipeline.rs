//! One deployable predictor: z-normalisation → (enriched) conditional AAE encoder → per task
//! ANOVA-F selection + SVM. The same function trains inside every evaluation fold and for a
//! shipped model, so evaluation measures exactly what users get.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::{
    Adaptation, ClassifyError, Confusion, Grid, InputFeatures, Normalization, Normalizer, TaskModel, normalize_per_group, train_task,
};
use crate::model::{self, AaeConfig, AaeData, Encoder, EpochLosses, ModelError, NeighbourLabels, NeighbourSpace, Rng};

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

    /// How many autoencoders training makes: the ensemble's members, none without a code.
    pub fn autoencoders(&self) -> usize {
        self.aae().map_or(0, |a| a.members.max(1))
    }

    /// Whether enrichment first embeds the data with a plain AAE to search the neighbours in
    /// its code (a stage of its own, and one whose seed shapes the enrichment targets).
    pub fn embeds_first(&self) -> bool {
        matches!(self, Representation::Enriched(a) if a.neighbour_space == NeighbourSpace::Code && !a.oracle)
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
    /// How the training rows are standardised before anything is fitted: by one normaliser
    /// (global), or each corpus or each speaker by its own label-free statistics. The
    /// predictor's normaliser is fitted on the pooled raw rows either way: it is what a single
    /// recording gets; a batch-adapted one is standardised by its own statistics instead.
    #[serde(default)]
    pub normalization: Normalization,
    /// Standardised features are held within ±`clip` before anything is fitted, and so are a
    /// recording's when it is labelled: one feature far outside the training data (a noisy
    /// room, a broken recording) cannot then swing a decision alone. None: not held.
    #[serde(default)]
    pub clip: Option<f64>,
    /// The functionals the model reads: all, or only what a recording's level does not move.
    #[serde(default)]
    pub input: InputFeatures,
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
    /// The functionals it reads ([`PipelineConfig::input`]); every raw row passes through it
    /// first, and `normalizer` and `calm_mean` are of rows read this way.
    pub input: InputFeatures,
    /// Fitted on the pooled raw training rows.
    pub normalizer: Normalizer,
    /// How the training rows were standardised (see [`PipelineConfig::normalization`]).
    pub normalization: Normalization,
    /// Standardised features are held within ± this (see [`PipelineConfig::clip`]).
    pub clip: Option<f64>,
    pub encoder: Option<Encoder>,
    pub code_normalizer: Option<Normalizer>,
    /// Activation, then valence.
    pub tasks: [TaskModel; 2],
    /// The further autoencoders of an ensemble ([`AaeConfig::members`]); the first is
    /// `encoder`, `code_normalizer` and `tasks` above. Empty for one autoencoder and for a
    /// features-only model.
    pub members: Vec<Member>,
    /// The first autoencoder's epochs.
    pub history: Vec<EpochLosses>,
    /// The SVMs see the code with the z-scored functionals appended.
    pub append_features: bool,
    /// How training went (not saved with a model).
    pub diagnostics: Diagnostics,
    /// Mean raw functionals of the training data's calm (neutral) utterances, when known (as
    /// `input` reads them): the target of calibration to a speaker (measured best,
    /// docs/experiments.md).
    pub calm_mean: Option<Vec<f64>>,
}

/// One further autoencoder of an ensemble, with the code normaliser and SVMs fitted to its code.
#[derive(Debug, Clone)]
pub struct Member {
    pub encoder: Encoder,
    pub code_normalizer: Normalizer,
    /// Activation, then valence.
    pub tasks: [TaskModel; 2],
}

/// What training a predictor measured about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// UAR of the enrichment targets' signs against each training sample's own labels
    /// (activation, valence): how informative the neighbours' labels are.
    pub neighbour_uar: Option<[f64; 2]>,
    /// Out-of-context rows dropped because they share corpus and speaker with, or equal, an
    /// in-context row.
    pub out_of_context_dropped: usize,
    /// Σ over code dimensions of mean² + (std − 1)² of the training codes: 0 for N(0, I).
    pub prior_distance: Option<f64>,
    /// The last epoch's losses of the final autoencoder.
    pub final_losses: Option<EpochLosses>,
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
    /// Raw functionals as the model reads them ([`InputFeatures::apply`]; unchanged for all
    /// 88). Reading them twice changes nothing, so rows already read may be passed again.
    pub fn read(&self, raw: &[Vec<f64>]) -> Vec<Vec<f64>> {
        self.input.apply(raw)
    }

    /// Raw functionals read and standardised by the training statistics (and held).
    fn standardise(&self, raw: &[Vec<f64>]) -> Vec<Vec<f64>> {
        clip(self.normalizer.transform(&self.read(raw)), self.clip)
    }

    /// A batch read and mapped onto the training statistics by its own.
    fn adapted(&self, raw: &[Vec<f64>]) -> Vec<Vec<f64>> {
        super::adapt_to(&self.read(raw), &self.normalizer)
    }

    /// What one member's SVMs see of standardised functionals `x`: its code normalised (beside
    /// `x` where the model appends the features), or `x` itself without a code.
    fn member_input(&self, encoder: Option<&Encoder>, code_normalizer: Option<&Normalizer>, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        match (encoder, code_normalizer) {
            (Some(enc), Some(cn)) => {
                let codes = enc.encode(x);
                cn.transform(&if self.append_features { append(&codes, x) } else { codes })
            }
            _ => x.to_vec(),
        }
    }

    /// Every member (encoder, code normaliser, SVMs), the first one first.
    fn each_member(&self) -> impl Iterator<Item = (Option<&Encoder>, Option<&Normalizer>, &[TaskModel; 2])> {
        std::iter::once((self.encoder.as_ref(), self.code_normalizer.as_ref(), &self.tasks))
            .chain(self.members.iter().map(|m| (Some(&m.encoder), Some(&m.code_normalizer), &m.tasks)))
    }

    /// Model input (normalised, encoded, code-normalised) of raw functionals: the first
    /// member's, for an ensemble.
    pub fn represent(&self, raw: &[Vec<f64>]) -> Vec<Vec<f64>> {
        self.member_input(self.encoder.as_ref(), self.code_normalizer.as_ref(), &self.standardise(raw))
    }

    pub fn predict(&self, raw: &[Vec<f64>]) -> Vec<Prediction> {
        self.predict_standardised(&self.standardise(raw), false)
    }

    /// Predictions for a batch adapted by its own statistics (see [`Adaptation`]). It assumes
    /// the batch is not all one emotion.
    pub fn predict_adapted(&self, raw: &[Vec<f64>], adaptation: Adaptation) -> Vec<Prediction> {
        let x = self.standardise(&self.adapted(raw));
        self.predict_standardised(&x, adaptation == Adaptation::Representation)
    }

    /// Model input of a batch adapted by its own statistics (the first member's): its
    /// functionals mapped onto the training statistics, represented, and with
    /// [`Adaptation::Representation`] and a code, every column standardised by the batch's own
    /// statistics (the training representation was standardised by the training's: the code
    /// normaliser).
    pub fn represent_adapted(&self, raw: &[Vec<f64>], adaptation: Adaptation) -> Vec<Vec<f64>> {
        let x = self.standardise(&self.adapted(raw));
        self.adapted_input(self.encoder.as_ref(), self.code_normalizer.as_ref(), &x, adaptation == Adaptation::Representation)
    }

    /// [`Self::member_input`], and with `adapt_input` and a code, every column of it
    /// standardised by the batch's own statistics.
    fn adapted_input(
        &self,
        encoder: Option<&Encoder>,
        code_normalizer: Option<&Normalizer>,
        x: &[Vec<f64>],
        adapt_input: bool,
    ) -> Vec<Vec<f64>> {
        let rep = self.member_input(encoder, code_normalizer, x);
        if adapt_input && code_normalizer.is_some() { Normalizer::fit(&rep).transform(&rep) } else { rep }
    }

    /// The members' calibrated probabilities of standardised functionals, averaged; a label is
    /// positive where its mean is at least one half (for one member: its SVM's own answer).
    /// With `adapt_input`, each member's input is standardised by the batch's own statistics
    /// first (only where there is a code).
    fn predict_standardised(&self, x: &[Vec<f64>], adapt_input: bool) -> Vec<Prediction> {
        let mut sums = vec![[0.0f64; 2]; x.len()];
        let mut n = 0.0;
        for (encoder, code_normalizer, tasks) in self.each_member() {
            let rep = self.adapted_input(encoder, code_normalizer, x, adapt_input);
            for (sum, r) in sums.iter_mut().zip(&rep) {
                sum[0] += tasks[0].probability(r);
                sum[1] += tasks[1].probability(r);
            }
            n += 1.0;
        }
        sums.iter()
            .map(|[a, v]| {
                let (a, v) = (a / n, v / n);
                Prediction { activation_high: a >= 0.5, activation_score: a, valence_positive: v >= 0.5, valence_score: v }
            })
            .collect()
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

/// Each speaker of each corpus by their own statistics.
fn normalize_per_speaker(set: &LabelledSet<'_>) -> Vec<Vec<f64>> {
    normalize_per_group(set.rows, &speaker_keys(set.speakers, set.corpora))
}

/// One key per (corpus, speaker): speakers of different corpora never share statistics.
pub fn speaker_keys(speakers: &[String], corpora: &[String]) -> Vec<String> {
    corpora.iter().zip(speakers).map(|(c, s)| format!("{c}\u{1f}{s}")).collect()
}

/// `rows` held within ±`limit` (unchanged without one, or with one that is not a positive
/// number: the CLI and the model loader refuse those before they get here).
fn clip(mut rows: Vec<Vec<f64>>, limit: Option<f64>) -> Vec<Vec<f64>> {
    if let Some(c) = limit.filter(|c| *c > 0.0) {
        rows.iter_mut().flatten().for_each(|v| *v = v.clamp(-c, c));
    }
    rows
}

fn append(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    a.iter().zip(b).map(|(x, y)| x.iter().chain(y).copied().collect()).collect()
}

/// Indices of the out-of-context rows that may be used with `inside`: a row that shares
/// corpus and speaker with an in-context row, or equals one, would leak the in-context
/// speaker's own labels into the enrichment targets. Returns (kept indices, dropped count).
pub fn guard_out_of_context(inside: &LabelledSet<'_>, outside: &LabelledSet<'_>) -> (Vec<usize>, usize) {
    use std::collections::HashSet;
    let speakers: HashSet<(&str, &str)> = inside.corpora.iter().zip(inside.speakers).map(|(c, s)| (c.as_str(), s.as_str())).collect();
    let rows: HashSet<Vec<u64>> = inside.rows.iter().map(|r| r.iter().map(|v| v.to_bits()).collect()).collect();
    let kept: Vec<usize> = (0..outside.rows.len())
        .filter(|&i| {
            !speakers.contains(&(outside.corpora[i].as_str(), outside.speakers[i].as_str()))
                && !rows.contains(&outside.rows[i].iter().map(|v| v.to_bits()).collect::<Vec<u64>>())
        })
        .collect();
    let dropped = outside.rows.len() - kept.len();
    (kept, dropped)
}

/// Owned rows, labels, speakers and corpora of `set` at `idx`.
pub(crate) type OwnedSet = (Vec<Vec<f64>>, Vec<[Option<bool>; 2]>, Vec<String>, Vec<String>);

pub(crate) fn subset(set: &LabelledSet<'_>, idx: &[usize]) -> OwnedSet {
    (
        idx.iter().map(|&i| set.rows[i].clone()).collect(),
        idx.iter().map(|&i| set.labels[i]).collect(),
        idx.iter().map(|&i| set.speakers[i].clone()).collect(),
        idx.iter().map(|&i| set.corpora[i].clone()).collect(),
    )
}

/// Each sample's own labels as enrichment targets (the oracle).
fn own_labels(labels: &[[Option<bool>; 2]]) -> NeighbourLabels {
    let code = |l: Option<bool>| if l == Some(true) { 1.0 } else { -1.0 };
    NeighbourLabels {
        target: labels.iter().map(|l| [code(l[0]), code(l[1])]).collect(),
        mask: labels.iter().map(|l| [l[0].is_some() as u8 as f32, l[1].is_some() as u8 as f32]).collect(),
    }
}

/// UAR of the targets' signs against the samples' own labels, per task.
fn target_agreement(targets: &NeighbourLabels, labels: &[[Option<bool>; 2]]) -> [f64; 2] {
    let mut conf = [Confusion::default(); 2];
    for ((t, m), l) in targets.target.iter().zip(&targets.mask).zip(labels) {
        for d in 0..2 {
            if let Some(truth) = l[d]
                && m[d] > 0.0
            {
                conf[d].add(truth, t[d] > 0.0);
            }
        }
    }
    [conf[0].uar(), conf[1].uar()]
}

/// Stage 1 of enrichment: a plain (unconditional) AAE on `rows`, whose code is the space the
/// neighbours are searched in; its epochs are reported as the "embedding" stage.
fn embedding(
    rows: &[Vec<f64>],
    a: &AaeConfig,
    device: &Device,
    stage: &str,
    on_epoch: &mut dyn FnMut(&str, &EpochLosses) -> bool,
    history: &mut Vec<EpochLosses>,
) -> Result<Encoder, ModelError> {
    let plain_cfg = AaeConfig { early_stopping: false, ..a.clone() };
    let (plain, h) =
        model::train_aae(&AaeData { x: rows, cond: None, enrich: None, holdout: None }, &plain_cfg, device, &mut |l| on_epoch(stage, l))?;
    history.extend(h);
    Ok(plain)
}

/// Cost of the out-of-context logistic regression behind `NeighbourSpace::Classifier`
/// (scikit-learn's `C`): of 0.003–0.03, the best for valence agreement on BanglaSER
/// (docs/experiments.md, P6).
const CLASSIFIER_C: f64 = 0.01;

/// Enrichment targets for pooled corpora: each row's targets come from the rows of the other
/// corpora only, in `space` (their K neighbours, or with `classifier` their regression).
fn cross_corpus_neighbours(
    space: &[Vec<f64>],
    labels: &[[Option<bool>; 2]],
    corpora: &[String],
    k: usize,
    classifier: bool,
) -> NeighbourLabels {
    let mut out = NeighbourLabels { target: vec![[0.0; 2]; space.len()], mask: vec![[0.0; 2]; space.len()] };
    let mut names: Vec<&String> = corpora.iter().collect();
    names.sort();
    names.dedup();
    for c in names {
        let (inside, others): (Vec<usize>, Vec<usize>) = (0..space.len()).partition(|&i| &corpora[i] == c);
        let emb_in: Vec<Vec<f64>> = inside.iter().map(|&i| space[i].clone()).collect();
        let emb_out: Vec<Vec<f64>> = others.iter().map(|&i| space[i].clone()).collect();
        let lab_out: Vec<[Option<bool>; 2]> = others.iter().map(|&i| labels[i]).collect();
        let nl = if classifier {
            model::classifier_labels(&emb_in, &emb_out, &lab_out, CLASSIFIER_C)
        } else {
            model::neighbour_labels(&emb_in, &emb_out, &lab_out, k)
        };
        for (j, &i) in inside.iter().enumerate() {
            out.target[i] = nl.target[j];
            out.mask[i] = nl.mask[j];
        }
    }
    out
}

/// A fifth of the speakers (at least one, seeded), held out for early stopping; None with
/// fewer than five speakers.
fn holdout_speakers(speakers: &[String], seed: u64) -> Option<Vec<bool>> {
    let mut names: Vec<&String> = speakers.iter().collect();
    names.sort();
    names.dedup();
    if names.len() < 5 {
        return None;
    }
    let mut rng = Rng::new(seed ^ 0x5EED_0FE5);
    rng.shuffle(&mut names);
    let held: Vec<&String> = names[..names.len() / 5].to_vec();
    Some(speakers.iter().map(|s| held.contains(&s)).collect())
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
    train_ensemble(train, &[], outside, cfg, device, on_epoch)
}

/// As [`train_predictor`], with member m ≥ 2 of an ensemble learning from `further_rows[m - 2]`
/// where it is given: the same recordings as `train.rows` (same labels, speakers and corpora),
/// each member with its own share replaced by degraded copies, so that the ensemble has seen
/// every recording through more than one chain (docs/experiments.md, stop 32). The first
/// member, the input normaliser and a member without rows of its own use `train.rows`.
pub fn train_ensemble(
    train: &LabelledSet<'_>,
    further_rows: &[Vec<Vec<f64>>],
    outside: Option<&LabelledSet<'_>>,
    cfg: &PipelineConfig,
    device: &Device,
    on_epoch: &mut dyn FnMut(&str, &EpochLosses) -> bool,
) -> Result<Predictor, PipelineError> {
    // Checked before any work: a task without labels gets a place-holder below, but data
    // with neither has nothing to learn.
    if train.labels.iter().all(|l| l[0].is_none() && l[1].is_none()) {
        return Err(PipelineError::NoLabels("activation or valence"));
    }
    // Every row as the model is to read it (all 88 functionals, or level-free).
    let train_rows = cfg.input.apply(train.rows);
    let train = &LabelledSet { rows: &train_rows, ..*train };
    let further_read: Vec<Vec<Vec<f64>>> = further_rows.iter().map(|r| cfg.input.apply(r)).collect();
    let further_rows = further_read.as_slice();
    let outside_rows = outside.map(|o| cfg.input.apply(o.rows));
    let outside_set = outside.zip(outside_rows.as_ref()).map(|(o, rows)| LabelledSet { rows, ..*o });
    let outside = outside_set.as_ref();
    // What one recording is standardised by: for a model trained on corpora standardised each
    // by its own statistics, the average corpus (docs/experiments.md, stop 32); otherwise the
    // pooled training rows.
    let normalizer = match cfg.normalization {
        Normalization::PerCorpus => Normalizer::average_of_groups(train.rows, train.corpora),
        _ => Normalizer::fit(train.rows),
    };
    let standardised = |set: &LabelledSet<'_>| {
        clip(
            match cfg.normalization {
                Normalization::Global => normalizer.transform(set.rows),
                Normalization::PerCorpus => normalize_per_corpus(set),
                Normalization::PerSpeaker => normalize_per_speaker(set),
            },
            cfg.clip,
        )
    };
    let x = standardised(train);
    let mut history = Vec::new();
    let mut diagnostics = Diagnostics::default();
    let Some(a) = cfg.representation.aae() else {
        let tasks = fit_tasks(&x, train, &cfg.grid)?;
        return Ok(Predictor {
            input: cfg.input,
            normalizer,
            normalization: cfg.normalization,
            clip: cfg.clip,
            encoder: None,
            code_normalizer: None,
            tasks,
            members: Vec::new(),
            history,
            append_features: false,
            diagnostics,
            calm_mean: None,
        });
    };
    // The first autoencoder reports its stages as "embedding" and "autoencoder" (its epochs and
    // diagnostics are the predictor's), the further members of an ensemble as "autoencoder 2",
    // … (their own seeds: seed + 1, …).
    let mut trained = Vec::new();
    let mut first_targets = None;
    for m in 0..cfg.representation.autoencoders() {
        let am = AaeConfig { seed: a.seed.wrapping_add(m as u64), ..a.clone() };
        let stage = if m == 0 { String::new() } else { format!(" {}", m + 1) };
        let (mut member_history, mut member_diagnostics) = (Vec::new(), Diagnostics::default());
        let own_rows =
            m.checked_sub(1).and_then(|i| further_rows.get(i)).filter(|r| r.len() == train.rows.len() && r.as_slice() != train.rows);
        let member_set = LabelledSet { rows: own_rows.map_or(train.rows, |r| r.as_slice()), ..*train };
        let xm = own_rows.map(|_| standardised(&member_set));
        let xm = xm.as_ref().unwrap_or(&x);
        // Targets searched in a plain AAE's code depend on its seed, and any targets on the
        // member's own rows; the others are the first member's.
        let own = if m == 0 || cfg.representation.embeds_first() || own_rows.is_some() {
            enrichment_targets(&member_set, outside, cfg, &am, xm, device, &stage, on_epoch, &mut member_history, &mut member_diagnostics)?
        } else {
            None
        };
        let enrich = own.as_ref().or(first_targets.as_ref());
        let (encoder, reps) =
            train_member(&member_set, &am, xm, enrich, device, &stage, on_epoch, &mut member_history, &mut member_diagnostics)?;
        let (code_normalizer, reps) = code_input(reps, &member_set, a.code_per_speaker);
        let tasks = fit_tasks(&reps, &member_set, &cfg.grid)?;
        if m == 0 {
            (history, diagnostics, first_targets) = (member_history, member_diagnostics, own);
        }
        trained.push(Member { encoder, code_normalizer, tasks });
    }
    let first = trained.remove(0);
    Ok(Predictor {
        input: cfg.input,
        normalizer,
        normalization: cfg.normalization,
        clip: cfg.clip,
        encoder: Some(first.encoder),
        code_normalizer: Some(first.code_normalizer),
        tasks: first.tasks,
        members: trained,
        history,
        append_features: a.append_features,
        diagnostics,
        calm_mean: None,
    })
}

/// The enrichment targets of `a`'s recipe for the standardised rows `x` (None without
/// enrichment). Where they are searched in a plain AAE's code, that AAE trains first, its
/// stage named "embedding" followed by `stage`.
#[allow(clippy::too_many_arguments)]
fn enrichment_targets(
    train: &LabelledSet<'_>,
    outside: Option<&LabelledSet<'_>>,
    cfg: &PipelineConfig,
    a: &AaeConfig,
    x: &[Vec<f64>],
    device: &Device,
    stage: &str,
    on_epoch: &mut dyn FnMut(&str, &EpochLosses) -> bool,
    history: &mut Vec<EpochLosses>,
    diagnostics: &mut Diagnostics,
) -> Result<Option<NeighbourLabels>, PipelineError> {
    let embedding_stage = format!("embedding{stage}");
    let enrich = match (&cfg.representation, a.oracle) {
        (Representation::Enriched(_), true) => Some(own_labels(train.labels)),
        (Representation::Enriched(_), false) if outside.is_none() => {
            // Pooled training without an out-of-context set: every training corpus is
            // in-context, and each one's neighbours come from the other training corpora.
            let mut names: Vec<&String> = train.corpora.iter().collect();
            names.sort();
            names.dedup();
            if names.len() < 2 {
                return Err(PipelineError::NoOutOfContext);
            }
            let xc = clip(normalize_per_corpus(train), cfg.clip);
            let space = match a.neighbour_space {
                NeighbourSpace::Features | NeighbourSpace::Classifier => xc,
                NeighbourSpace::Code => {
                    let plain = embedding(&xc, a, device, &embedding_stage, on_epoch, history)?;
                    plain.encode(&xc)
                }
            };
            let classifier = a.neighbour_space == NeighbourSpace::Classifier;
            Some(cross_corpus_neighbours(&space, train.labels, train.corpora, a.neighbours, classifier))
        }
        (Representation::Enriched(_), false) => {
            let out = outside.ok_or(PipelineError::NoOutOfContext)?;
            let (kept, dropped) = guard_out_of_context(train, out);
            diagnostics.out_of_context_dropped = dropped;
            if kept.is_empty() {
                return Err(PipelineError::NoOutOfContext);
            }
            let (or, ol, os, oc) = subset(out, &kept);
            let out = LabelledSet { rows: &or, labels: &ol, speakers: &os, corpora: &oc };
            let xo = clip(normalize_per_corpus(&out), cfg.clip);
            let targets = match a.neighbour_space {
                NeighbourSpace::Features => model::neighbour_labels(x, &xo, out.labels, a.neighbours),
                NeighbourSpace::Classifier => model::classifier_labels(x, &xo, out.labels, CLASSIFIER_C),
                NeighbourSpace::Code => {
                    // Stage 1: a plain AAE on in-context ∪ out-of-context embeds both sets.
                    let mut pooled = x.to_vec();
                    pooled.extend(xo.iter().cloned());
                    let plain = embedding(&pooled, a, device, &embedding_stage, on_epoch, history)?;
                    model::neighbour_labels(&plain.encode(x), &plain.encode(&xo), out.labels, a.neighbours)
                }
            };
            Some(targets)
        }
        _ => None,
    };
    diagnostics.neighbour_uar = enrich.as_ref().map(|t| target_agreement(t, train.labels));
    Ok(enrich)
}

/// One autoencoder of `a`'s recipe trained on the standardised rows `x` (with the enrichment
/// targets `enrich`), and what its SVMs are to see of them before normalisation (its code, ⊕
/// `x` where the recipe appends the features). Its stage is "autoencoder" followed by `stage`.
#[allow(clippy::too_many_arguments)]
fn train_member(
    train: &LabelledSet<'_>,
    a: &AaeConfig,
    x: &[Vec<f64>],
    enrich: Option<&NeighbourLabels>,
    device: &Device,
    stage: &str,
    on_epoch: &mut dyn FnMut(&str, &EpochLosses) -> bool,
    history: &mut Vec<EpochLosses>,
    diagnostics: &mut Diagnostics,
) -> Result<(Encoder, Vec<Vec<f64>>), PipelineError> {
    let cond: Vec<[f32; 2]> = train.labels.iter().map(|l| [cond_code(l[0]), cond_code(l[1])]).collect();
    let autoencoder_stage = format!("autoencoder{stage}");
    let holdout = if a.early_stopping { holdout_speakers(train.speakers, a.seed) } else { None };
    let data = AaeData { x, cond: Some(&cond), enrich, holdout: holdout.as_deref() };
    let (enc, h) = model::train_aae(&data, a, device, &mut |l| on_epoch(&autoencoder_stage, l))?;
    diagnostics.final_losses = h.last().copied();
    history.extend(h);
    let codes = enc.encode(x);
    diagnostics.prior_distance = Some(model::distance_to_prior(&codes));
    let reps = if a.append_features { append(&codes, x) } else { codes };
    Ok((enc, reps))
}

/// The code normaliser fitted on `reps` and the rows the SVMs train on: `reps` through it, or
/// with `per_speaker` each speaker's rows by their own statistics.
fn code_input(reps: Vec<Vec<f64>>, train: &LabelledSet<'_>, per_speaker: bool) -> (Normalizer, Vec<Vec<f64>>) {
    let cn = Normalizer::fit(&reps);
    let rows = if per_speaker { normalize_per_group(&reps, &speaker_keys(train.speakers, train.corpora)) } else { cn.transform(&reps) };
    (cn, rows)
}

/// Both tasks' selection and SVMs on `reps`, each on the rows labelled for it; a task without
/// labels gets a place-holder (a corpus labelled for activation only).
fn fit_tasks(reps: &[Vec<f64>], train: &LabelledSet<'_>, grid: &Grid) -> Result<[TaskModel; 2], PipelineError> {
    let mut tasks = Vec::with_capacity(2);
    for t in 0..TASKS.len() {
        let idx: Vec<usize> = (0..reps.len()).filter(|&i| train.labels[i][t].is_some()).collect();
        if idx.is_empty() {
            tasks.push(TaskModel::unlabelled());
            continue;
        }
        let rows: Vec<Vec<f64>> = idx.iter().map(|&i| reps[i].clone()).collect();
        let y: Vec<bool> = idx.iter().map(|&i| train.labels[i][t] == Some(true)).collect();
        let spk: Vec<String> = idx.iter().map(|&i| train.speakers[i].clone()).collect();
        tasks.push(train_task(&rows, &y, &spk, grid)?);
    }
    tasks.try_into().map_err(|_| PipelineError::NoLabels("activation"))
}

impl<'a> From<&'a crate::corpus::LabelledData> for LabelledSet<'a> {
    fn from(d: &'a crate::corpus::LabelledData) -> Self {
        LabelledSet { rows: &d.rows, labels: &d.labels, speakers: &d.speakers, corpora: &d.corpora }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_drops_rows_of_in_context_speakers_and_copies_of_in_context_rows() {
        let rows = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
        let labels = [[Some(true), None]; 2];
        let speakers = vec!["a".to_string(), "b".to_string()];
        let corpora = vec!["emodb".to_string(); 2];
        let inside = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let orows = vec![vec![9.0, 9.0], vec![5.0, 5.0], vec![3.0, 4.0], vec![7.0, 7.0]];
        let olabels = [[Some(false), Some(true)]; 4];
        // Speaker "a" of emodb is in context; speaker "a" of another corpus is someone else.
        let ospk = vec!["a".to_string(), "a".to_string(), "z".to_string(), "y".to_string()];
        let ocorp = vec!["emodb".to_string(), "ravdess".to_string(), "ravdess".to_string(), "ravdess".to_string()];
        let outside = LabelledSet { rows: &orows, labels: &olabels, speakers: &ospk, corpora: &ocorp };
        let (kept, dropped) = guard_out_of_context(&inside, &outside);
        assert_eq!(kept, vec![1, 3]);
        assert_eq!(dropped, 2);
    }

    #[test]
    fn own_labels_agree_perfectly_and_flipped_ones_not_at_all() {
        let labels = [[Some(true), Some(false)], [Some(false), None], [Some(true), Some(true)], [Some(false), Some(false)]];
        let own = own_labels(&labels);
        assert_eq!(own.mask[1], [1.0, 0.0]);
        assert_eq!(target_agreement(&own, &labels), [1.0, 1.0]);
        let flipped = NeighbourLabels { target: own.target.iter().map(|t| [-t[0], -t[1]]).collect(), mask: own.mask.clone() };
        assert_eq!(target_agreement(&flipped, &labels), [0.0, 0.0]);
    }

    #[test]
    fn an_empty_cost_grid_is_an_error_not_a_panic() {
        let rows: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64, (i % 2) as f64]).collect();
        let labels: Vec<bool> = (0..8).map(|i| i % 2 == 0).collect();
        let speakers: Vec<String> = (0..8).map(|i| format!("s{}", i % 4)).collect();
        let grid = Grid { cs: Vec::new(), ..Grid::default() };
        assert!(matches!(super::super::train_task(&rows, &labels, &speakers, &grid), Err(ClassifyError::EmptyGrid)));
    }

    #[test]
    fn a_model_trained_per_corpus_fits_standardised_corpora_and_labels_an_adapted_batch_like_them() {
        // Two corpora far apart (recording chains), the activation label in features 0 and 1.
        let mut rng = crate::model::Rng::new(5);
        let (mut rows, mut labels, mut speakers, mut corpora) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (c, offset, gain) in [("a", 0.0, 1.0), ("b", 8.0, 3.0)] {
            for i in 0..40 {
                let high = i % 2 == 0;
                rows.push(
                    (0..6).map(|j| offset + gain * (if j < 2 && high { 1.5 } else { 0.0 } + rng.normal() * 0.4)).collect::<Vec<f64>>(),
                );
                labels.push([Some(high), Some(i % 4 < 2)]);
                speakers.push(format!("{c}{}", i % 4));
                corpora.push(c.to_string());
            }
        }
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let cfg = |normalization| PipelineConfig {
            representation: Representation::Features,
            grid: Grid::default(),
            normalization,
            clip: None,
            input: InputFeatures::All,
        };
        let device = Device::flex();
        let p = train_predictor(&set, None, &cfg(Normalization::PerCorpus), &device, &mut |_, _| true).unwrap();
        assert_eq!(p.normalization, Normalization::PerCorpus);
        // The normaliser one recording gets is the average corpus: midway between the two
        // corpora, with the spread of one corpus (feature 5 has no label: its spread within a
        // corpus is 0.4 · gain), not the pooled spread that holds the distance between them.
        assert_eq!(p.normalizer, Normalizer::average_of_groups(&rows, &corpora));
        assert!((p.normalizer.mean[5] - 4.0).abs() < 0.3, "{:?}", p.normalizer.mean);
        let within = (0.5f64 * (0.16 + 0.16 * 9.0)).sqrt();
        assert!((p.normalizer.std[5] - within).abs() < 0.25 * within, "{:?}", p.normalizer.std);
        assert!(Normalizer::fit(&rows).std[5] > 3.5);
        // A third chain, never seen: batch-adapted it lands where the standardised corpora lay.
        let batch: Vec<Vec<f64>> = (0..40)
            .map(|i| (0..6).map(|j| -5.0 + 0.5 * (if j < 2 && i % 2 == 0 { 1.5 } else { 0.0 } + rng.normal() * 0.4)).collect())
            .collect();
        let adapted = p.predict(&super::super::adapt_to(&batch, &p.normalizer));
        let right = adapted.iter().enumerate().filter(|(i, q)| q.activation_high == (i % 2 == 0)).count();
        assert!(right >= 36, "{right} of 40 batch-adapted rows right");
        let unadapted = p.predict(&batch);
        let high = unadapted.iter().filter(|q| q.activation_high).count();
        assert!(!(5..=35).contains(&high), "unadapted, the unseen chain lands in one class ({high} of 40 high)");
        // Per speaker: each (corpus, speaker) standardised, speakers of two corpora kept apart.
        let ps = train_predictor(&set, None, &cfg(Normalization::PerSpeaker), &device, &mut |_, _| true).unwrap();
        assert_eq!(ps.normalization, Normalization::PerSpeaker);
        assert_eq!(speaker_keys(&speakers, &corpora)[0], "a\u{1f}a0");
    }

    #[test]
    fn held_features_stay_within_the_limit_in_training_and_labelling() {
        // Activation in feature 0; one training row is 50 standard deviations out.
        let mut rng = crate::model::Rng::new(9);
        let mut rows: Vec<Vec<f64>> =
            (0..40).map(|i| vec![if i % 2 == 0 { 1.0 } else { -1.0 } + 0.3 * rng.normal(), rng.normal()]).collect();
        rows[3][1] = 50.0;
        let labels: Vec<[Option<bool>; 2]> = (0..40).map(|i| [Some(i % 2 == 0), Some(i % 4 < 2)]).collect();
        let speakers: Vec<String> = (0..40).map(|i| format!("s{}", i % 4)).collect();
        let corpora = vec!["c".to_string(); 40];
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let cfg = PipelineConfig {
            representation: Representation::Features,
            grid: Grid::default(),
            normalization: Normalization::Global,
            clip: Some(2.5),
            input: InputFeatures::All,
        };
        let p = train_predictor(&set, None, &cfg, &Device::flex(), &mut |_, _| true).unwrap();
        assert_eq!(p.clip, Some(2.5));
        let rep = p.represent(&rows);
        assert!(rep.iter().flatten().all(|v| v.abs() <= 2.5));
        assert_eq!(rep[3][1], 2.5);
        // Unheld, the outlier's z-score is (50 − mean) / std, far past the limit.
        assert!(Predictor { clip: None, ..p.clone() }.represent(&rows)[3][1] > 5.0);
        let far = |z: f64| vec![vec![p.normalizer.mean[0] + z * p.normalizer.std[0], p.normalizer.mean[1] - z * p.normalizer.std[1]]];
        assert_eq!(p.predict(&far(1e9)), p.predict(&far(3.0)));
        assert!(p.predict(&far(3.0))[0].activation_high && !p.predict(&far(-3.0))[0].activation_high);
    }

    #[test]
    fn adapting_the_representation_standardises_the_code_by_the_batch_and_leaves_features_alone() {
        let mut rng = crate::model::Rng::new(3);
        let row = |rng: &mut crate::model::Rng, high: bool| -> Vec<f64> {
            (0..6).map(|j| if j < 2 && high { 1.5 } else { 0.0 } + rng.normal() * 0.5).collect()
        };
        let rows: Vec<Vec<f64>> = (0..48).map(|i| row(&mut rng, i % 2 == 0)).collect();
        let labels: Vec<[Option<bool>; 2]> = (0..48).map(|i| [Some(i % 2 == 0), Some(i % 4 < 2)]).collect();
        let speakers: Vec<String> = (0..48).map(|i| format!("s{}", i % 4)).collect();
        let corpora = vec!["c".to_string(); 48];
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let aae = AaeConfig { dims: 3, hidden: 8, epochs: 3, ..AaeConfig::default() };
        let cfg = |representation| PipelineConfig {
            representation,
            grid: Grid { cs: vec![0.1], select: false, ..Grid::default() },
            normalization: Normalization::Global,
            clip: None,
            input: InputFeatures::All,
        };
        // Another chain: squared and shifted, so centred functionals do not make centred codes.
        let batch: Vec<Vec<f64>> = (0..30).map(|i| row(&mut rng, i % 3 == 0).iter().map(|v| 4.0 + v * v.abs()).collect()).collect();
        let coded = train_predictor(&set, None, &cfg(Representation::Aae(aae)), &Device::flex(), &mut |_, _| true).unwrap();
        let features_only = coded.represent(&super::super::adapt_to(&batch, &coded.normalizer));
        assert_eq!(coded.represent_adapted(&batch, Adaptation::Features), features_only);
        let whole = coded.represent_adapted(&batch, Adaptation::Representation);
        assert_eq!(whole[0].len(), 3 + 6, "code ⊕ features");
        let code_mean = |rep: &[Vec<f64>], j: usize| rep.iter().map(|r| r[j]).sum::<f64>() / rep.len() as f64;
        assert!((0..3).any(|j| code_mean(&features_only, j).abs() > 0.05), "the code of adapted functionals is off centre");
        for j in 0..whole[0].len() {
            let m = code_mean(&whole, j);
            let sd = (whole.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / whole.len() as f64).sqrt();
            assert!(m.abs() < 1e-9 && (sd - 1.0).abs() < 1e-9, "column {j}: mean {m}, std {sd}");
        }
        // Without a code the two adaptations are one.
        let plain = train_predictor(&set, None, &cfg(Representation::Features), &Device::flex(), &mut |_, _| true).unwrap();
        assert_eq!(plain.predict_adapted(&batch, Adaptation::Representation), plain.predict_adapted(&batch, Adaptation::Features));
    }

    #[test]
    fn a_code_standardised_per_speaker_removes_speaker_offsets_that_hide_the_label() {
        // Activation moves features 0 and 1 by 1.5; each speaker sits 4 away from the next in them.
        let mut rng = crate::model::Rng::new(11);
        let speaker = |s: usize, n: usize, rng: &mut crate::model::Rng| -> Vec<Vec<f64>> {
            (0..n)
                .map(|i| {
                    (0..6)
                        .map(|j| if j < 2 { 4.0 * s as f64 + if i % 2 == 0 { 1.5 } else { 0.0 } } else { 0.0 } + rng.normal() * 0.3)
                        .collect()
                })
                .collect()
        };
        let rows: Vec<Vec<f64>> = (0..6).flat_map(|s| speaker(s, 16, &mut rng)).collect();
        let labels: Vec<[Option<bool>; 2]> = (0..96).map(|i| [Some(i % 2 == 0), Some(i % 4 < 2)]).collect();
        let speakers: Vec<String> = (0..96).map(|i| format!("s{}", i / 16)).collect();
        let corpora = vec!["c".to_string(); 96];
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let cfg = |code_per_speaker| PipelineConfig {
            representation: Representation::Aae(AaeConfig { dims: 3, hidden: 8, epochs: 3, code_per_speaker, ..AaeConfig::default() }),
            grid: Grid { cs: vec![1.0], select: false, ..Grid::default() },
            normalization: Normalization::Global,
            clip: None,
            input: InputFeatures::All,
        };
        // A new speaker, far from all of them, labelled by their own statistics.
        let new = speaker(9, 24, &mut rng);
        let right = |p: &Predictor| {
            p.predict_adapted(&new, Adaptation::Representation)
                .iter()
                .enumerate()
                .filter(|(i, q)| q.activation_high == (i % 2 == 0))
                .count()
        };
        let per = train_predictor(&set, None, &cfg(true), &Device::flex(), &mut |_, _| true).unwrap();
        let pooled = train_predictor(&set, None, &cfg(false), &Device::flex(), &mut |_, _| true).unwrap();
        assert!(right(&per) >= 22, "{} of 24 right with the code per speaker", right(&per));
        assert!(right(&pooled) < right(&per), "pooled {} vs per speaker {}", right(&pooled), right(&per));
    }

    /// 48 rows of 6 functionals (activation in the first two), 4 speakers, 2 corpora.
    fn ensemble_fixture(rng: &mut crate::model::Rng) -> OwnedSet {
        let rows = (0..48).map(|i| (0..6).map(|j| if j < 2 && i % 2 == 0 { 1.0 } else { 0.0 } + rng.normal() * 0.6).collect()).collect();
        let labels = (0..48).map(|i| [Some(i % 2 == 0), Some(i % 4 < 2)]).collect();
        let speakers = (0..48).map(|i| format!("s{}", i % 4)).collect();
        let corpora = (0..48).map(|i| format!("c{}", i % 2)).collect();
        (rows, labels, speakers, corpora)
    }

    /// A small enriched ensemble's recipe.
    fn ensemble_cfg(seed: u64, members: usize, normalization: Normalization) -> PipelineConfig {
        PipelineConfig {
            representation: Representation::Enriched(AaeConfig { dims: 3, hidden: 8, epochs: 3, seed, members, ..AaeConfig::default() }),
            grid: Grid { cs: vec![0.1], select: false, ..Grid::default() },
            normalization,
            clip: Some(3.0),
            input: InputFeatures::All,
        }
    }

    #[test]
    fn an_ensemble_averages_autoencoders_trained_alike_but_for_the_seed() {
        let (rows, labels, speakers, corpora) = ensemble_fixture(&mut crate::model::Rng::new(17));
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let cfg = |seed, members| ensemble_cfg(seed, members, Normalization::Global);
        let train = |seed, members| {
            let mut stages = Vec::new();
            let p = train_predictor(&set, None, &cfg(seed, members), &Device::flex(), &mut |s, _| {
                if stages.last() != Some(&s.to_string()) {
                    stages.push(s.to_string());
                }
                true
            })
            .unwrap();
            (p, stages)
        };
        let (ensemble, stages) = train(5, 3);
        assert_eq!(stages, ["autoencoder", "autoencoder 2", "autoencoder 3"]);
        assert_eq!(ensemble.members.len(), 2);
        let singles: Vec<Predictor> = (5..8).map(|s| train(s, 1).0).collect();
        assert!(singles.iter().all(|p| p.members.is_empty()));
        // Its first member is the single model of its seed, the others those of the next seeds.
        assert_eq!(ensemble.represent(&rows), singles[0].represent(&rows));
        let batch: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().map(|v| 2.0 + 1.5 * v).collect()).collect();
        for adaptation in [None, Some(Adaptation::Features), Some(Adaptation::Representation)] {
            let predict = |p: &Predictor| match adaptation {
                None => p.predict(&batch),
                Some(a) => p.predict_adapted(&batch, a),
            };
            let single: Vec<Vec<Prediction>> = singles.iter().map(predict).collect();
            for (i, e) in predict(&ensemble).iter().enumerate() {
                let mean = |f: fn(&Prediction) -> f64| single.iter().map(|s| f(&s[i])).sum::<f64>() / 3.0;
                assert!((e.activation_score - mean(|p| p.activation_score)).abs() < 1e-12, "{adaptation:?} row {i}");
                assert!((e.valence_score - mean(|p| p.valence_score)).abs() < 1e-12, "{adaptation:?} row {i}");
                assert_eq!(e.activation_high, e.activation_score >= 0.5);
                assert_eq!(e.valence_positive, e.valence_score >= 0.5);
            }
        }
        // The members differ (else averaging would be pointless).
        assert_ne!(singles[0].predict(&batch), singles[1].predict(&batch));
    }

    #[test]
    fn each_member_of_an_ensemble_can_learn_from_its_own_copies_of_the_recordings() {
        let mut rng = crate::model::Rng::new(23);
        let (rows, labels, speakers, corpora) = ensemble_fixture(&mut rng);
        // Member 2's copies: every third recording through another "chain" (louder, noisier).
        let copies: Vec<Vec<f64>> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| if i % 3 == 0 { r.iter().map(|v| 1.4 * v + 0.3 * rng.normal()).collect() } else { r.clone() })
            .collect();
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        // Per corpus: a member's standardisation depends on its own rows only, so member 2 can be
        // compared with a single model trained on its copies.
        let cfg = |seed, members| ensemble_cfg(seed, members, Normalization::PerCorpus);
        let train = |set: &LabelledSet<'_>, further: &[Vec<Vec<f64>>], seed, members| {
            train_ensemble(set, further, None, &cfg(seed, members), &Device::flex(), &mut |_, _| true).unwrap()
        };
        let alike = train(&set, &[], 5, 2);
        let own = train(&set, std::slice::from_ref(&copies), 5, 2);
        let single_on_copies = train(&LabelledSet { rows: &copies, ..set }, &[], 6, 1);
        let single = train(&set, &[], 5, 1);
        // The first member and the normaliser one recording gets come from the recordings as given.
        assert_eq!(own.code_normalizer, single.code_normalizer);
        assert_eq!(own.normalizer, single.normalizer);
        // Member 2 is the single model of the next seed trained on its copies.
        assert_eq!(Some(&own.members[0].code_normalizer), single_on_copies.code_normalizer.as_ref());
        assert_ne!(own.members[0].code_normalizer, alike.members[0].code_normalizer);
        // Copies equal to the recordings change nothing.
        let same = train(&set, std::slice::from_ref(&rows), 5, 2);
        assert_eq!(same.members[0].code_normalizer, alike.members[0].code_normalizer);
    }

    #[test]
    fn a_level_free_model_labels_a_quieter_copy_alike_and_one_reading_all_88_does_not() {
        use crate::egemaps::FEATURE_NAMES;
        let col = |name: &str| FEATURE_NAMES.iter().position(|n| *n == name).unwrap();
        let (pitch, loud, p50, level) = (
            col("F0semitoneFrom27.5Hz_sma3nz_amean"),
            col("loudness_sma3_amean"),
            col("loudness_sma3_percentile50.0"),
            col("equivalentSoundLevel_dBp"),
        );
        // Aroused speech is higher and louder; in training the level rises with it.
        let mut rng = crate::model::Rng::new(31);
        let row = |high: bool, rng: &mut crate::model::Rng| {
            let mut r: Vec<f64> = (0..88).map(|_| 1.0 + 0.1 * rng.normal()).collect();
            let a = if high { 1.0 } else { 0.0 };
            r[pitch] = 30.0 + 3.0 * a + rng.normal();
            r[loud] = 1.0 + 0.6 * a + 0.15 * rng.normal();
            r[p50] = r[loud] * (0.8 + 0.1 * a + 0.03 * rng.normal());
            r[level] = -30.0 + 6.0 * a + rng.normal();
            r
        };
        let rows: Vec<Vec<f64>> = (0..80).map(|i| row(i % 2 == 0, &mut rng)).collect();
        let labels: Vec<[Option<bool>; 2]> = (0..80).map(|i| [Some(i % 2 == 0), Some(i % 4 < 2)]).collect();
        let speakers: Vec<String> = (0..80).map(|i| format!("s{}", i % 8)).collect();
        let corpora = vec!["c".to_string(); 80];
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let train = |input| {
            let cfg = PipelineConfig {
                representation: Representation::Features,
                grid: Grid { cs: vec![1.0], select: false, ..Grid::default() },
                normalization: Normalization::Global,
                clip: None,
                input,
            };
            train_predictor(&set, None, &cfg, &Device::flex(), &mut |_, _| true).unwrap()
        };
        let (free, all) = (train(InputFeatures::LevelFree), train(InputFeatures::All));
        // New recordings, and the same through a microphone 12 dB quieter.
        let test: Vec<Vec<f64>> = (0..40).map(|i| row(i % 2 == 0, &mut rng)).collect();
        let quiet: Vec<Vec<f64>> = test
            .iter()
            .map(|r| {
                let mut q = r.clone();
                let g = 0.25f64.powf(0.6);
                for j in (0..88).filter(|j| FEATURE_NAMES[*j].starts_with("loudness_sma3_") && !FEATURE_NAMES[*j].ends_with("stddevNorm")) {
                    q[j] *= g;
                }
                q[level] -= 12.0;
                q
            })
            .collect();
        let right = |p: &[Prediction]| p.iter().enumerate().filter(|(i, q)| q.activation_high == (i % 2 == 0)).count();
        assert!(right(&free.predict(&test)) >= 34, "level-free, as recorded: {}", right(&free.predict(&test)));
        for (q, t) in free.predict(&quiet).iter().zip(free.predict(&test)) {
            assert!((q.activation_score - t.activation_score).abs() < 1e-9 && (q.valence_score - t.valence_score).abs() < 1e-9);
            assert_eq!((q.activation_high, q.valence_positive), (t.activation_high, t.valence_positive));
        }
        let quiet_high = all.predict(&quiet).iter().filter(|q| q.activation_high).count();
        assert!(quiet_high < 12, "reading the level, the quieter copies read calm: {quiet_high} of 40 high");
        // What is saved with the model: the normaliser of rows read level-free.
        assert_eq!(free.input, InputFeatures::LevelFree);
        assert!((free.normalizer.mean[loud] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn holdout_takes_a_fifth_of_the_speakers_whole() {
        let speakers: Vec<String> = (0..40).map(|i| format!("s{}", i % 10)).collect();
        let h = holdout_speakers(&speakers, 3).unwrap();
        let held: std::collections::BTreeSet<&String> = speakers.iter().zip(&h).filter(|(_, h)| **h).map(|(s, _)| s).collect();
        assert_eq!(held.len(), 2);
        for (s, x) in speakers.iter().zip(&h) {
            assert_eq!(*x, held.contains(s), "all of a speaker's rows go together");
        }
        assert!(holdout_speakers(&speakers[..4], 3).is_none(), "four speakers are too few to hold any out");
    }
}
