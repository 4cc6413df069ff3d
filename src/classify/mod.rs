//! Decisions from features: z-normalisation, ANOVA-F univariate selection, SVMs with a
//! calibrated score, and the leave-one-speaker-out machinery (folds, UAR, paired test).
//! Hyper-parameters (selected feature count k, C, RBF width) are chosen by inner,
//! speaker-grouped cross-validation on training data only.

pub mod bundle;
pub mod calibration;
mod eval;
pub mod experiment;
mod input;
pub mod label;
pub mod pipeline;
mod stats;
mod svm;

pub use eval::{Confusion, Fold, group_k_folds, loso_folds, paired_permutation_p};
pub use input::InputFeatures;
pub use stats::{Normalizer, adapt_to, anova_f, normalize_per_group, per_group, select_columns, top_k};
pub use svm::{Kernel, Svm, SvmParams};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("no training samples")]
    Empty,
    #[error("SVM training failed: {0}")]
    Svm(String),
    #[error("nothing to choose from: the SVM cost grid (C) is empty")]
    EmptyGrid,
}

/// Which SVM kernel family to tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelFamily {
    #[default]
    Linear,
    Rbf,
}

impl crate::choice::Choice for KernelFamily {
    const WHAT: &'static str = "kernel";
    const ALL: &'static [(&'static str, Self)] = &[("linear", Self::Linear), ("rbf", Self::Rbf)];
}
crate::choice_traits!(KernelFamily);

/// How features are standardised before anything is fitted to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// One normaliser fitted on the training data.
    #[default]
    Global,
    /// Each speaker by their own (label-free) statistics first.
    PerSpeaker,
    /// Each corpus (the held-out one too) by its own (label-free) statistics first.
    PerCorpus,
}

impl crate::choice::Choice for Normalization {
    const WHAT: &'static str = "normalisation";
    const ALL: &'static [(&'static str, Self)] =
        &[("global", Self::Global), ("per-speaker", Self::PerSpeaker), ("per-corpus", Self::PerCorpus)];
}
crate::choice_traits!(Normalization);

/// What batch adaptation standardises by the batch's own statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Adaptation {
    /// The functionals, mapped onto the training statistics.
    Features,
    /// The functionals as above, and then every column the SVMs see (code ⊕ features) by the
    /// batch's own statistics, as the training representation was by the training's. The same
    /// as `Features` for a model without a code. The default: measured at least as good for
    /// models with a code across corpora and on two chains no model heard, and far better on
    /// the phone line (docs/experiments.md, "Adapting the code too").
    #[default]
    Representation,
}

impl crate::choice::Choice for Adaptation {
    const WHAT: &'static str = "adaptation";
    const ALL: &'static [(&'static str, Self)] = &[("features", Self::Features), ("representation", Self::Representation)];
}
crate::choice_traits!(Adaptation);

/// The search space of the inner cross-validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub kernel: KernelFamily,
    pub cs: Vec<f64>,
    /// RBF γ as multiples of 1/(selected features).
    pub gamma_scales: Vec<f64>,
    /// Use ANOVA-F selection (false: all features, the paper's "baseline").
    pub select: bool,
    pub inner_folds: usize,
}

impl Default for Grid {
    fn default() -> Self {
        Self { kernel: KernelFamily::Linear, cs: vec![0.01, 0.1, 1.0], gamma_scales: vec![0.25, 1.0], select: true, inner_folds: 3 }
    }
}

/// Candidate feature counts for `d` dimensions: powers of two and `d` itself.
pub fn k_candidates(d: usize) -> Vec<usize> {
    let mut ks: Vec<usize> = (0..).map(|p| 1usize << p).take_while(|&k| k < d).filter(|&k| k >= 2 || d <= 16).collect();
    if d <= 16 {
        ks = (1..d).collect();
    }
    ks.push(d);
    ks
}

/// A trained binary decision for one task: selected columns and the SVM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskModel {
    pub selected: Vec<usize>,
    pub svm: Svm,
    pub params: SvmParams,
    /// Mean inner-CV UAR of the chosen setting (NaN when there was nothing to choose, which
    /// JSON writes as null).
    #[serde(deserialize_with = "nan_if_null")]
    pub inner_uar: f64,
}

/// A number, or NaN where JSON has null (serde_json writes NaN as null).
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl TaskModel {
    fn pick(&self, row: &[f64]) -> Vec<f64> {
        self.selected.iter().map(|&c| row[c]).collect()
    }

    pub fn predict(&self, row: &[f64]) -> bool {
        self.svm.predict(&self.pick(row))
    }

    pub fn probability(&self, row: &[f64]) -> f64 {
        self.svm.probability(&self.pick(row))
    }

    /// Number of selected features (the paper's Ds).
    pub fn ds(&self) -> usize {
        self.selected.len()
    }

    /// A place-holder for a task the training data has no labels for (a corpus labelled for
    /// activation only): it always answers no (probability 0). Experiments score only
    /// the tasks a test set has labels for, so it is never scored; `valar train` refuses such
    /// data before it gets here.
    pub fn unlabelled() -> Self {
        TaskModel {
            selected: Vec::new(),
            svm: Svm::Constant { positive: false },
            params: SvmParams { kernel: Kernel::Linear, c: 1.0 },
            inner_uar: f64::NAN,
        }
    }
}

fn params_for(grid: &Grid, c: f64, gamma_scale: f64, k: usize) -> SvmParams {
    SvmParams {
        c,
        kernel: match grid.kernel {
            KernelFamily::Linear => Kernel::Linear,
            KernelFamily::Rbf => Kernel::Rbf { gamma: gamma_scale / k.max(1) as f64 },
        },
    }
}

/// Trains a task model on `rows` (normalised), choosing k, C (and γ) by inner speaker-grouped
/// cross-validation on these rows only.
pub fn train_task(rows: &[Vec<f64>], labels: &[bool], speakers: &[String], grid: &Grid) -> Result<TaskModel, ClassifyError> {
    if rows.is_empty() {
        return Err(ClassifyError::Empty);
    }
    if grid.cs.is_empty() || (grid.kernel == KernelFamily::Rbf && grid.gamma_scales.is_empty()) {
        return Err(ClassifyError::EmptyGrid);
    }
    let d = rows[0].len();
    let ks = if grid.select { k_candidates(d) } else { vec![d] };
    let gammas = if grid.kernel == KernelFamily::Rbf { grid.gamma_scales.clone() } else { vec![1.0] };
    let folds = group_k_folds(speakers, grid.inner_folds);
    let class_ids: Vec<usize> = labels.iter().map(|&b| b as usize).collect();

    // Per inner fold: ANOVA-F ranking from that fold's training part.
    let rankings: Vec<Vec<f64>> = folds
        .iter()
        .map(|f| {
            let tr: Vec<Vec<f64>> = f.train.iter().map(|&i| rows[i].clone()).collect();
            let y: Vec<usize> = f.train.iter().map(|&i| class_ids[i]).collect();
            anova_f(&tr, &y)
        })
        .collect();
    // Every (k, C, γ) setting on every inner fold is an independent fit: run them in parallel,
    // then pick the best mean UAR in the grid's order so the choice does not depend on threads.
    let mut settings = Vec::new();
    for &k in &ks {
        for &c in &grid.cs {
            for &g in &gammas {
                settings.push((k, params_for(grid, c, g, k)));
            }
        }
    }
    let mut best: Option<(f64, usize, SvmParams)> = None;
    if settings.len() > 1 && folds.len() >= 2 {
        use rayon::prelude::*;
        let fits: Vec<(usize, usize)> = (0..settings.len()).flat_map(|s| (0..folds.len()).map(move |f| (s, f))).collect();
        let uars: Vec<f64> = fits
            .par_iter()
            .map(|&(s, fi)| {
                let (k, params) = settings[s];
                let f = &folds[fi];
                let cols = top_k(&rankings[fi], k);
                let tr: Vec<Vec<f64>> = f.train.iter().map(|&i| cols.iter().map(|&c| rows[i][c]).collect()).collect();
                let ytr: Vec<bool> = f.train.iter().map(|&i| labels[i]).collect();
                let svm = Svm::fit(&tr, &ytr, params)?;
                let mut conf = Confusion::default();
                for &i in &f.test {
                    let r: Vec<f64> = cols.iter().map(|&c| rows[i][c]).collect();
                    conf.add(labels[i], svm.predict(&r));
                }
                Ok(conf.uar())
            })
            .collect::<Result<_, ClassifyError>>()?;
        for (s, &(k, params)) in settings.iter().enumerate() {
            let fold_uars = &uars[s * folds.len()..(s + 1) * folds.len()];
            let mean = fold_uars.iter().filter(|u| u.is_finite()).sum::<f64>() / fold_uars.len().max(1) as f64;
            // Ties go to the smaller k and the smaller C (listed first).
            if best.as_ref().is_none_or(|b| mean > b.0 + 1e-12) {
                best = Some((mean, k, params));
            }
        }
    }
    let (inner_uar, k, params) = best.unwrap_or((f64::NAN, ks[ks.len() - 1], params_for(grid, grid.cs[grid.cs.len() / 2], 1.0, d)));
    let scores = anova_f(rows, &class_ids);
    let selected = if grid.select { top_k(&scores, k) } else { (0..d).collect() };
    let svm = Svm::fit(&select_columns(rows, &selected), labels, params)?;
    Ok(TaskModel { selected, svm, params, inner_uar })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_candidates_cover_range() {
        assert_eq!(k_candidates(88), vec![2, 4, 8, 16, 32, 64, 88]);
        assert_eq!(k_candidates(10), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn inner_cv_selects_the_informative_feature() {
        // Feature 3 carries the label, the others are noise; speakers a..f.
        let mut seed = 3u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let (mut rows, mut labels, mut spk) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..120 {
            let y = i % 2 == 0;
            let mut r: Vec<f64> = (0..6).map(|_| rnd() * 2.0).collect();
            r[3] = if y { 1.0 } else { -1.0 } + rnd() * 0.5;
            rows.push(r);
            labels.push(y);
            spk.push(format!("s{}", i % 6));
        }
        let m = train_task(&rows, &labels, &spk, &Grid::default()).unwrap();
        assert!(m.selected.contains(&3), "{:?}", m.selected);
        assert!(m.inner_uar > 0.95, "inner UAR {}", m.inner_uar);
        assert!(m.predict(&[0.0, 0.0, 0.0, 1.2, 0.0, 0.0]));
        assert!(!m.predict(&[0.0, 0.0, 0.0, -1.2, 0.0, 0.0]));
    }
}
