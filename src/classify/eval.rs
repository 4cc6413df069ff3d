//! Leave-one-speaker-out folds, confusion matrices, UAR and a paired test across folds.

use serde::{Deserialize, Serialize};

/// One leave-one-speaker-out fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    pub test_speaker: String,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// One fold per distinct speaker (sorted by speaker id).
pub fn loso_folds(speakers: &[String]) -> Vec<Fold> {
    let mut ids: Vec<&String> = speakers.iter().collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|s| Fold {
            test_speaker: s.clone(),
            train: (0..speakers.len()).filter(|&i| &speakers[i] != s).collect(),
            test: (0..speakers.len()).filter(|&i| &speakers[i] == s).collect(),
        })
        .collect()
}

/// `k` folds that keep each speaker's samples together (for inner cross-validation).
pub fn group_k_folds(speakers: &[String], k: usize) -> Vec<Fold> {
    let mut ids: Vec<&String> = speakers.iter().collect();
    ids.sort();
    ids.dedup();
    let k = k.clamp(2, ids.len().max(2));
    (0..k)
        .map(|f| {
            let in_fold = |s: &String| ids.iter().position(|x| *x == s).map(|p| p % k == f).unwrap_or(false);
            Fold {
                test_speaker: format!("group{f}"),
                train: (0..speakers.len()).filter(|&i| !in_fold(&speakers[i])).collect(),
                test: (0..speakers.len()).filter(|&i| in_fold(&speakers[i])).collect(),
            }
        })
        .filter(|f| !f.test.is_empty() && !f.train.is_empty())
        .collect()
}

/// Binary confusion matrix: `m[truth][prediction]`, index 1 = positive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub m: [[usize; 2]; 2],
}

impl Confusion {
    pub fn add(&mut self, truth: bool, predicted: bool) {
        self.m[truth as usize][predicted as usize] += 1;
    }

    pub fn merge(&mut self, other: &Confusion) {
        for t in 0..2 {
            for p in 0..2 {
                self.m[t][p] += other.m[t][p];
            }
        }
    }

    /// Unweighted average recall over the classes present.
    pub fn uar(&self) -> f64 {
        let recalls: Vec<f64> = (0..2)
            .filter(|&t| self.m[t][0] + self.m[t][1] > 0)
            .map(|t| self.m[t][t] as f64 / (self.m[t][0] + self.m[t][1]) as f64)
            .collect();
        if recalls.is_empty() { f64::NAN } else { recalls.iter().sum::<f64>() / recalls.len() as f64 }
    }

    pub fn total(&self) -> usize {
        self.m.iter().flatten().sum()
    }
}

/// Two-sided paired sign-flip permutation test of mean(a − b) = 0. Exact for up to 20 pairs,
/// otherwise 200 000 seeded random sign flips.
pub fn paired_permutation_p(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    if n == 0 {
        return f64::NAN;
    }
    let observed = d.iter().sum::<f64>().abs();
    let eps = 1e-12 * (1.0 + observed);
    let mut extreme = 0u64;
    let total;
    if n <= 20 {
        total = 1u64 << n;
        for mask in 0..total {
            let s: f64 = d.iter().enumerate().map(|(i, v)| if mask >> i & 1 == 1 { -v } else { *v }).sum();
            if s.abs() >= observed - eps {
                extreme += 1;
            }
        }
    } else {
        total = 200_000;
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..total {
            let mut s = 0.0;
            for v in &d {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s += if seed & 1 == 1 { -v } else { *v };
            }
            if s.abs() >= observed - eps {
                extreme += 1;
            }
        }
    }
    extreme as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loso_never_shares_a_speaker() {
        let spk: Vec<String> = ["a", "b", "a", "c", "b", "c", "c"].iter().map(|s| s.to_string()).collect();
        let folds = loso_folds(&spk);
        assert_eq!(folds.len(), 3);
        for f in &folds {
            assert!(f.test.iter().all(|&i| spk[i] == f.test_speaker));
            assert!(f.train.iter().all(|&i| spk[i] != f.test_speaker));
            assert_eq!(f.train.len() + f.test.len(), spk.len());
        }
        for f in group_k_folds(&spk, 2) {
            for &i in &f.test {
                assert!(f.train.iter().all(|&j| spk[j] != spk[i]));
            }
        }
    }

    #[test]
    fn uar_from_known_confusion() {
        // truth negative: 8 right, 2 wrong (recall .8); truth positive: 3 right, 7 wrong (.3).
        let c = Confusion { m: [[8, 2], [7, 3]] };
        assert!((c.uar() - 0.55).abs() < 1e-12);
        assert_eq!(c.total(), 20);
    }

    #[test]
    fn permutation_test_exact_values() {
        // All five differences positive: only the all-plus and all-minus flips are as extreme.
        let p = paired_permutation_p(&[1.0; 5], &[0.0; 5]);
        assert!((p - 2.0 / 32.0).abs() < 1e-12);
        assert_eq!(paired_permutation_p(&[1.0, 2.0], &[1.0, 2.0]), 1.0);
    }
}
