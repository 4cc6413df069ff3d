//! Calibration to a speaker, measured: each test speaker's calm (neutral) utterances are the
//! calibration set, the speaker's other utterances are classified with and without it. Within a
//! corpus by leave-one-speaker-out, across corpora by leave-one-corpus-out.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::pipeline::{LabelledSet, PipelineConfig, PipelineError, Predictor, TASKS, train_predictor};
use super::{Confusion, Normalizer, loso_folds};

/// How a speaker's calm utterances move their features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// No calibration.
    None,
    /// Shift the speaker's calm mean onto the training mean (of all utterances).
    TrainMean,
    /// Shift the speaker's calm mean onto the training data's calm mean.
    TrainCalmMean,
    /// Standardise by the speaker's calm mean and spread, onto the training calm mean and spread.
    CalmStandardise,
}

impl crate::choice::Choice for Method {
    const WHAT: &'static str = "calibration";
    const ALL: &'static [(&'static str, Self)] = &[
        ("none", Self::None),
        ("train-mean", Self::TrainMean),
        ("train-calm-mean", Self::TrainCalmMean),
        ("calm-standardise", Self::CalmStandardise),
    ];
}
crate::choice_traits!(Method);

impl Method {
    pub const ALL: [Method; 4] = [Method::None, Method::TrainMean, Method::TrainCalmMean, Method::CalmStandardise];
}

/// Whether an emotion label is a calm reference (what a user says when calibrating).
pub fn is_calm(emotion: &str) -> bool {
    matches!(emotion, "neutral" | "calm" | "arousal_level_0")
}

/// A labelled set with each row's emotion.
#[derive(Debug, Clone, Copy)]
pub struct EmotionSet<'a> {
    pub set: LabelledSet<'a>,
    pub emotions: &'a [String],
}

/// One result: a method on the non-calm utterances of every test speaker with calm ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRow {
    /// The corpus whose speakers were calibrated.
    pub corpus: String,
    /// "leave-one-speaker-out" or "leave-one-corpus-out".
    pub protocol: String,
    pub method: Method,
    pub task: String,
    pub uar: f64,
    pub confusion: Confusion,
    /// Test speakers calibrated (those with calm utterances), and those without any.
    pub speakers: usize,
    pub skipped_speakers: usize,
}

/// Statistics the methods map onto, from the training rows.
struct Reference {
    mean: Vec<f64>,
    calm: Normalizer,
}

impl Reference {
    fn new(predictor: &Predictor, rows: &[Vec<f64>], calm: &[bool]) -> Self {
        let rows = predictor.read(rows);
        let calm_rows: Vec<Vec<f64>> = rows.iter().zip(calm).filter(|(_, c)| **c).map(|(r, _)| r.clone()).collect();
        let calm = if calm_rows.is_empty() { predictor.normalizer.clone() } else { Normalizer::fit(&calm_rows) };
        Self { mean: predictor.normalizer.mean.clone(), calm }
    }

    /// `rows` calibrated by `reference_rows` (the speaker's calm utterances).
    fn apply(&self, method: Method, rows: &[Vec<f64>], reference_rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let own = Normalizer::fit(reference_rows);
        let shift = |target: &[f64]| -> Vec<Vec<f64>> {
            rows.iter().map(|r| r.iter().zip(target.iter().zip(&own.mean)).map(|(v, (t, m))| v + t - m).collect()).collect()
        };
        match method {
            Method::None => rows.to_vec(),
            Method::TrainMean => shift(&self.mean),
            Method::TrainCalmMean => shift(&self.calm.mean),
            Method::CalmStandardise if reference_rows.len() >= 2 => rows
                .iter()
                .map(|r| own.transform_row(r).iter().zip(self.calm.mean.iter().zip(&self.calm.std)).map(|(z, (m, s))| m + s * z).collect())
                .collect(),
            // One calm utterance has no spread: shift only.
            Method::CalmStandardise => shift(&self.calm.mean),
        }
    }
}

/// Scores every method on one test speaker (rows `idx` of `test`) into `conf[method][task]`.
fn score_speaker(
    predictor: &Predictor,
    reference: &Reference,
    test: &EmotionSet<'_>,
    idx: &[usize],
    conf: &mut [[Confusion; 2]; 4],
) -> bool {
    let (calm, other): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| is_calm(&test.emotions[i]));
    if calm.is_empty() || other.is_empty() {
        return false;
    }
    // Shifted as the model reads them (reading them again when predicting changes nothing).
    let calm_rows = predictor.read(&calm.iter().map(|&i| test.set.rows[i].clone()).collect::<Vec<_>>());
    let other_rows = predictor.read(&other.iter().map(|&i| test.set.rows[i].clone()).collect::<Vec<_>>());
    for (m, method) in Method::ALL.iter().enumerate() {
        let preds = predictor.predict(&reference.apply(*method, &other_rows, &calm_rows));
        for (p, &i) in preds.iter().zip(&other) {
            let l = test.set.labels[i];
            if let Some(t) = l[0] {
                conf[m][0].add(t, p.activation_high);
            }
            if let Some(t) = l[1] {
                conf[m][1].add(t, p.valence_positive);
            }
        }
    }
    true
}

fn rows_of(corpus: &str, protocol: &str, conf: &[[Confusion; 2]; 4], speakers: usize, skipped: usize) -> Vec<CalibrationRow> {
    let mut out = Vec::new();
    for (m, method) in Method::ALL.iter().enumerate() {
        for (t, task) in TASKS.iter().enumerate() {
            if conf[m][t].total() == 0 {
                continue;
            }
            out.push(CalibrationRow {
                corpus: corpus.to_string(),
                protocol: protocol.to_string(),
                method: *method,
                task: task.to_string(),
                uar: conf[m][t].uar(),
                confusion: conf[m][t],
                speakers,
                skipped_speakers: skipped,
            });
        }
    }
    out
}

/// Leave-one-speaker-out within `data`: every method on every test speaker with calm utterances.
pub fn within_corpus(
    name: &str,
    data: &EmotionSet<'_>,
    cfg: &PipelineConfig,
    device: &Device,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<CalibrationRow>, PipelineError> {
    use rayon::prelude::*;
    let folds = loso_folds(data.set.speakers);
    let per_fold: Vec<Result<Option<[[Confusion; 2]; 4]>, PipelineError>> = folds
        .par_iter()
        .map(|fold| {
            if cancelled() {
                return Err(PipelineError::Model(crate::model::ModelError::Cancelled));
            }
            let pick = |idx: &[usize]| idx.iter().map(|&i| data.set.rows[i].clone()).collect::<Vec<_>>();
            let rows = pick(&fold.train);
            let labels: Vec<[Option<bool>; 2]> = fold.train.iter().map(|&i| data.set.labels[i]).collect();
            let spk: Vec<String> = fold.train.iter().map(|&i| data.set.speakers[i].clone()).collect();
            let corp: Vec<String> = fold.train.iter().map(|&i| data.set.corpora[i].clone()).collect();
            let train = LabelledSet { rows: &rows, labels: &labels, speakers: &spk, corpora: &corp };
            let predictor = train_predictor(&train, None, cfg, device, &mut |_, _| !cancelled())?;
            let calm: Vec<bool> = fold.train.iter().map(|&i| is_calm(&data.emotions[i])).collect();
            let reference = Reference::new(&predictor, &rows, &calm);
            let mut conf = [[Confusion::default(); 2]; 4];
            Ok(score_speaker(&predictor, &reference, data, &fold.test, &mut conf).then_some(conf))
        })
        .collect();
    let mut total = [[Confusion::default(); 2]; 4];
    let (mut speakers, mut skipped) = (0, 0);
    for f in per_fold {
        match f? {
            Some(c) => {
                speakers += 1;
                for (m, row) in c.iter().enumerate() {
                    for t in 0..2 {
                        total[m][t].merge(&row[t]);
                    }
                }
            }
            None => skipped += 1,
        }
    }
    Ok(rows_of(name, "leave-one-speaker-out", &total, speakers, skipped))
}

/// Leave-one-corpus-out: for each corpus, a predictor trained on the others, then every method
/// on each of its speakers with calm utterances.
pub fn across_corpora(
    corpora: &[(String, EmotionSet<'_>)],
    cfg: &PipelineConfig,
    device: &Device,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<CalibrationRow>, PipelineError> {
    let mut out = Vec::new();
    for (t, (name, test)) in corpora.iter().enumerate() {
        let mut rows = Vec::new();
        let (mut labels, mut spk, mut corp, mut calm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (_, (_, c)) in corpora.iter().enumerate().filter(|(k, _)| *k != t) {
            rows.extend(c.set.rows.iter().cloned());
            labels.extend(c.set.labels.iter().copied());
            spk.extend(c.set.speakers.iter().cloned());
            corp.extend(c.set.corpora.iter().cloned());
            calm.extend(c.emotions.iter().map(|e| is_calm(e)));
        }
        if cancelled() {
            return Err(PipelineError::Model(crate::model::ModelError::Cancelled));
        }
        let train = LabelledSet { rows: &rows, labels: &labels, speakers: &spk, corpora: &corp };
        let predictor = train_predictor(&train, None, cfg, device, &mut |_, _| !cancelled())?;
        let reference = Reference::new(&predictor, &rows, &calm);
        let mut names: Vec<&String> = test.set.speakers.iter().collect();
        names.sort();
        names.dedup();
        let mut conf = [[Confusion::default(); 2]; 4];
        let (mut speakers, mut skipped) = (0, 0);
        for s in names {
            let idx: Vec<usize> = (0..test.set.rows.len()).filter(|&i| &test.set.speakers[i] == s).collect();
            if score_speaker(&predictor, &reference, test, &idx, &mut conf) {
                speakers += 1;
            } else {
                skipped += 1;
            }
        }
        out.extend(rows_of(name, "leave-one-corpus-out", &conf, speakers, skipped));
    }
    Ok(out)
}

/// Markdown: one row per corpus, protocol and task; one column per method (UAR %).
pub fn markdown(rows: &[CalibrationRow]) -> String {
    let mut s = String::from("| corpus | protocol | task | speakers |");
    for m in Method::ALL {
        s += &format!(" {m} |");
    }
    s += "\n|---|---|---|---|---|---|---|---|\n";
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for r in rows {
        let k = (r.corpus.clone(), r.protocol.clone(), r.task.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (c, p, t) in keys {
        let of = |m: Method| rows.iter().find(|r| r.corpus == c && r.protocol == p && r.task == t && r.method == m);
        let n = of(Method::None).map(|r| r.speakers).unwrap_or(0);
        s += &format!("| {c} | {p} | {t} | {n} |");
        for m in Method::ALL {
            s += &of(m).map(|r| format!(" {:.1} |", 100.0 * r.uar)).unwrap_or_else(|| " – |".into());
        }
        s += "\n";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_moves_a_speaker_as_defined() {
        let reference = Reference { mean: vec![10.0, 0.0], calm: Normalizer { mean: vec![4.0, 1.0], std: vec![2.0, 1.0] } };
        // The speaker's calm utterances: mean (1, 1), spread (1, 0 → 1).
        let calm = vec![vec![0.0, 1.0], vec![2.0, 1.0]];
        let rows = vec![vec![3.0, 5.0]];
        assert_eq!(reference.apply(Method::None, &rows, &calm), rows);
        assert_eq!(reference.apply(Method::TrainMean, &rows, &calm), vec![vec![12.0, 4.0]]);
        assert_eq!(reference.apply(Method::TrainCalmMean, &rows, &calm), vec![vec![6.0, 5.0]]);
        // (3 − 1) / 1 · 2 + 4 = 8; (5 − 1) / 1 · 1 + 1 = 5 (a constant feature keeps spread 1).
        assert_eq!(reference.apply(Method::CalmStandardise, &rows, &calm), vec![vec![8.0, 5.0]]);
        // One calm utterance has no spread: standardising falls back to the shift.
        assert_eq!(reference.apply(Method::CalmStandardise, &rows, &calm[..1]), vec![vec![7.0, 5.0]]);
    }

    #[test]
    fn calm_references_of_every_shared_corpus() {
        assert!(is_calm("neutral") && is_calm("calm") && is_calm("arousal_level_0"));
        assert!(!is_calm("sadness") && !is_calm("arousal_level_1"));
    }
}
