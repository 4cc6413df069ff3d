//! Normalisation and univariate feature scoring, on plain row-major `Vec<Vec<f64>>` data.

use serde::{Deserialize, Serialize};

/// Per-feature z-normalisation fitted on training data only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Normalizer {
    /// Fits means and standard deviations (population); constant features get std 1.
    pub fn fit(rows: &[Vec<f64>]) -> Self {
        let d = rows.first().map(|r| r.len()).unwrap_or(0);
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        for r in rows {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v / n;
            }
        }
        let mut std = vec![0.0; d];
        for r in rows {
            for ((s, v), m) in std.iter_mut().zip(r).zip(&mean) {
                *s += (v - m).powi(2) / n;
            }
        }
        for s in std.iter_mut() {
            *s = s.sqrt();
            // NaN (a non-finite column) counts as no spread too.
            if s.is_nan() || *s <= 1e-12 {
                *s = 1.0;
            }
        }
        Self { mean, std }
    }

    /// The "average group" of `rows` split by `groups` (e.g. corpora): the mean of the groups'
    /// means and the root mean square of their standard deviations (population), so a row
    /// standardised by it lies as far out as it would in a typical group standardised by its own
    /// statistics. Constant features get std 1.
    pub fn average_of_groups(rows: &[Vec<f64>], groups: &[String]) -> Self {
        let d = rows.first().map(|r| r.len()).unwrap_or(0);
        let stats = per_group_stats(rows, groups);
        let n = stats.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        let mut var = vec![0.0; d];
        for (m, v) in &stats {
            for j in 0..d {
                mean[j] += m[j] / n;
                var[j] += v[j] / n;
            }
        }
        let std = var.iter().map(|v| if v.is_nan() || *v <= 1e-24 { 1.0 } else { v.sqrt() }).collect();
        Self { mean, std }
    }

    pub fn dims(&self) -> usize {
        self.mean.len()
    }

    pub fn transform_row(&self, r: &[f64]) -> Vec<f64> {
        r.iter().zip(&self.mean).zip(&self.std).map(|((v, m), s)| (v - m) / s).collect()
    }

    pub fn transform(&self, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        rows.iter().map(|r| self.transform_row(r)).collect()
    }
}

/// Standardises each group (e.g. speaker) with its own statistics. Uses no labels, so it may
/// be applied to test speakers too (Eyben et al. 2016's per-speaker standardisation).
pub fn normalize_per_group(rows: &[Vec<f64>], groups: &[String]) -> Vec<Vec<f64>> {
    per_group(rows, groups, |sub| Normalizer::fit(sub).transform(sub))
}

/// Batch adaptation: standardises `rows` by their own statistics and maps them onto
/// `target`'s (mean + std · z), so a batch recorded elsewhere lands where the training data lay.
pub fn adapt_to(rows: &[Vec<f64>], target: &Normalizer) -> Vec<Vec<f64>> {
    let own = Normalizer::fit(rows);
    rows.iter()
        .map(|r| own.transform_row(r).iter().zip(target.mean.iter().zip(&target.std)).map(|(z, (m, s))| m + s * z).collect())
        .collect()
}

/// Each group's means and population variances (raw: no floor for constant features).
fn per_group_stats(rows: &[Vec<f64>], groups: &[String]) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut names: Vec<&String> = groups.iter().collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|g| {
            let sub: Vec<&Vec<f64>> = rows.iter().zip(groups).filter(|(_, h)| *h == g).map(|(r, _)| r).collect();
            let n = sub.len() as f64;
            let d = sub[0].len();
            let mean: Vec<f64> = (0..d).map(|j| sub.iter().map(|r| r[j]).sum::<f64>() / n).collect();
            let var = (0..d).map(|j| sub.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n).collect();
            (mean, var)
        })
        .collect()
}

/// `f` applied to each group's rows on their own, its results (one per row) in `rows`' order.
pub fn per_group<T>(rows: &[Vec<f64>], groups: &[String], f: impl Fn(&[Vec<f64>]) -> Vec<T>) -> Vec<T> {
    let mut out: Vec<Option<T>> = (0..rows.len()).map(|_| None).collect();
    let mut names: Vec<&String> = groups.iter().collect();
    names.sort();
    names.dedup();
    for g in names {
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| &groups[i] == g).collect();
        let sub: Vec<Vec<f64>> = idx.iter().map(|&i| rows[i].clone()).collect();
        for (&i, r) in idx.iter().zip(f(&sub)) {
            out[i] = Some(r);
        }
    }
    out.into_iter().flatten().collect()
}

/// One-way ANOVA F statistic of every feature for the given class labels.
/// Features constant within all classes but differing between them get +∞; fully constant
/// features get 0.
pub fn anova_f(rows: &[Vec<f64>], labels: &[usize]) -> Vec<f64> {
    let d = rows.first().map(|r| r.len()).unwrap_or(0);
    let n_classes = labels.iter().copied().max().map(|m| m + 1).unwrap_or(0);
    let n = rows.len();
    (0..d)
        .map(|j| {
            let mut sum = vec![0.0; n_classes];
            let mut cnt = vec![0usize; n_classes];
            for (r, &c) in rows.iter().zip(labels) {
                sum[c] += r[j];
                cnt[c] += 1;
            }
            let k = cnt.iter().filter(|&&c| c > 0).count();
            if k < 2 || n <= k {
                return 0.0;
            }
            let grand = sum.iter().sum::<f64>() / n as f64;
            let ss_between: f64 =
                (0..n_classes).filter(|&c| cnt[c] > 0).map(|c| cnt[c] as f64 * (sum[c] / cnt[c] as f64 - grand).powi(2)).sum();
            let ss_within: f64 = rows.iter().zip(labels).map(|(r, &c)| (r[j] - sum[c] / cnt[c] as f64).powi(2)).sum();
            let df_b = (k - 1) as f64;
            let df_w = (n - k) as f64;
            if ss_within <= 0.0 {
                return if ss_between > 0.0 { f64::INFINITY } else { 0.0 };
            }
            (ss_between / df_b) / (ss_within / df_w)
        })
        .collect()
}

/// Indices of the `k` largest scores (ties: lower index first), in ascending index order.
pub fn top_k(scores: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(k.min(scores.len()));
    idx.sort_unstable();
    idx
}

/// Keeps the columns `cols` of every row.
pub fn select_columns(rows: &[Vec<f64>], cols: &[usize]) -> Vec<Vec<f64>> {
    rows.iter().map(|r| cols.iter().map(|&c| r[c]).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_group_has_the_mean_of_the_means_and_the_rms_of_the_spreads() {
        // Group a: 1, 3 (mean 2, sd 1) and 5, 5 constant; group b: 10, 10, 16 (mean 12, var 8)
        // and 0, 0, 3 (mean 1, var 2).
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.0], vec![10.0, 0.0], vec![10.0, 0.0], vec![16.0, 3.0]];
        let groups: Vec<String> = ["a", "a", "b", "b", "b"].iter().map(|s| s.to_string()).collect();
        let n = Normalizer::average_of_groups(&rows, &groups);
        assert_eq!(n.mean, vec![7.0, 3.0]);
        assert!((n.std[0] - (4.5f64).sqrt()).abs() < 1e-12, "{:?}", n.std);
        assert!((n.std[1] - 1.0).abs() < 1e-12, "{:?}", n.std);
        // Unlike the pooled normaliser, whose spread holds the distance between the groups.
        assert!(Normalizer::fit(&rows).std[0] > 5.0);
        // All constant: std 1.
        let flat = Normalizer::average_of_groups(&[vec![2.0], vec![2.0]], &groups[..2]);
        assert_eq!(flat.std, vec![1.0]);
    }

    #[test]
    fn adaptation_maps_a_batch_onto_the_training_statistics() {
        let target = Normalizer { mean: vec![10.0, -1.0], std: vec![2.0, 0.5] };
        // Batch mean (2, 4), population std (1, 2).
        let batch = vec![vec![1.0, 2.0], vec![3.0, 6.0]];
        let a = adapt_to(&batch, &target);
        assert_eq!(a, vec![vec![8.0, -1.5], vec![12.0, -0.5]]);
        let back = Normalizer::fit(&a);
        assert_eq!((back.mean, back.std), (target.mean, target.std));
    }

    #[test]
    fn anova_matches_hand_computation() {
        // Feature 0: class 0 = {1, 2, 3}, class 1 = {5, 6, 7}. Grand mean 4.
        // SSB = 3·(2−4)² + 3·(6−4)² = 24 (df 1); SSW = 2 + 2 = 4 (df 4) → F = 24 / 1 = 24.
        // Feature 1: identical distributions → F = 0.
        let rows = vec![vec![1.0, 1.0], vec![2.0, 2.0], vec![3.0, 3.0], vec![5.0, 1.0], vec![6.0, 2.0], vec![7.0, 3.0]];
        let f = anova_f(&rows, &[0, 0, 0, 1, 1, 1]);
        assert!((f[0] - 24.0).abs() < 1e-12, "{f:?}");
        assert!(f[1].abs() < 1e-12);
        // Three classes: {1,2}, {4,5}, {7,9}: means 1.5, 4.5, 8; grand 14/3.
        // SSB = 2(1.5−14/3)² + 2(4.5−14/3)² + 2(8−14/3)² = 42.3333…; SSW = .5+.5+2 = 3.
        // F = (42.333/2) / (3/3) = 21.1667.
        let rows: Vec<Vec<f64>> = [1.0, 2.0, 4.0, 5.0, 7.0, 9.0].iter().map(|&v| vec![v]).collect();
        let f = anova_f(&rows, &[0, 0, 1, 1, 2, 2]);
        assert!((f[0] - 127.0 / 6.0).abs() < 1e-9, "{f:?}");
    }

    #[test]
    fn top_k_prefers_high_scores() {
        assert_eq!(top_k(&[0.5, 3.0, 1.0, f64::INFINITY], 2), vec![1, 3]);
    }

    #[test]
    fn normalizer_centres_and_scales() {
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        let n = Normalizer::fit(&rows);
        assert_eq!(n.transform(&rows), vec![vec![-1.0, 0.0], vec![1.0, 0.0]]);
    }

    #[test]
    fn per_group_normalisation_is_within_group() {
        let rows = vec![vec![1.0], vec![3.0], vec![10.0], vec![30.0]];
        let g: Vec<String> = ["a", "a", "b", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(normalize_per_group(&rows, &g), vec![vec![-1.0], vec![1.0], vec![-1.0], vec![1.0]]);
    }
}
