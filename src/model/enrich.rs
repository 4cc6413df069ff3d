//! Enrichment targets: for each in-context sample, the mean activation/valence labels of its K
//! cosine-nearest out-of-context samples in a shared embedding (paper §2.2.3).

/// Per in-context sample: mean neighbour label per dimension (+1/−1 scale) and a mask that is
/// 1 where at least one neighbour had that label.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighbourLabels {
    pub target: Vec<[f32; 2]>,
    pub mask: Vec<[f32; 2]>,
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 { 0.0 } else { ab / (aa.sqrt() * bb.sqrt()) }
}

/// `inside`: embeddings of the in-context samples; `outside`: of the out-of-context samples
/// with their labels (activation, valence; None = unknown, ignored when averaging).
pub fn neighbour_labels(inside: &[Vec<f64>], outside: &[Vec<f64>], labels: &[[Option<bool>; 2]], k: usize) -> NeighbourLabels {
    let k = k.max(1).min(outside.len());
    let mut target = Vec::with_capacity(inside.len());
    let mut mask = Vec::with_capacity(inside.len());
    for e in inside {
        let mut sims: Vec<(f64, usize)> = outside.iter().enumerate().map(|(j, o)| (cosine(e, o), j)).collect();
        // Most similar first; ties broken by index for determinism.
        sims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut t = [0.0f32; 2];
        let mut m = [0.0f32; 2];
        for dim in 0..2 {
            let known: Vec<f32> = sims[..k].iter().filter_map(|&(_, j)| labels[j][dim].map(|b| if b { 1.0 } else { -1.0 })).collect();
            if !known.is_empty() {
                t[dim] = known.iter().sum::<f32>() / known.len() as f32;
                m[dim] = 1.0;
            }
        }
        target.push(t);
        mask.push(m);
    }
    NeighbourLabels { target, mask }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_labels_on_a_toy_set() {
        let outside = vec![vec![1.0, 0.0], vec![0.9, 0.1], vec![0.0, 1.0], vec![-1.0, 0.0]];
        let labels = [[Some(true), Some(true)], [Some(true), None], [Some(false), Some(false)], [Some(false), Some(false)]];
        let inside = vec![vec![2.0, 0.1], vec![0.1, 3.0]];
        let nl = neighbour_labels(&inside, &outside, &labels, 2);
        // First: nearest are 0 and 1 → activation (1+1)/2 = 1, valence only from 0 → 1.
        assert_eq!(nl.target[0], [1.0, 1.0]);
        assert_eq!(nl.mask[0], [1.0, 1.0]);
        // Second: nearest are 2 (cos≈1) and 1 (cos≈0.14) → activation (−1+1)/2 = 0, valence −1 (1 unknown).
        assert_eq!(nl.target[1], [0.0, -1.0]);
        let none = neighbour_labels(&inside, &outside, &[[None, None]; 4], 2);
        assert_eq!(none.mask[0], [0.0, 0.0]);
    }
}
