//! What of the 88 functionals a model reads: all of them, or only what a recording's level
//! does not move (docs/experiments.md, "Features a microphone's gain moves").

use std::sync::LazyLock;

use crate::egemaps::FEATURE_NAMES;

/// The functionals a model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFeatures {
    /// All 88 as extracted.
    #[default]
    All,
    /// The loudness contour's shape relative to its mean instead of its absolute level; the
    /// level-only functionals (loudness mean, spectral-flux means, equivalent sound level) held
    /// constant, so neither the normaliser nor the SVMs can read a microphone's gain.
    LevelFree,
}

impl crate::choice::Choice for InputFeatures {
    const WHAT: &'static str = "input features";
    const ALL: &'static [(&'static str, Self)] = &[("all", Self::All), ("level-free", Self::LevelFree)];
}
crate::choice_traits!(InputFeatures);

/// The loudness mean, which the shape functionals are divided by.
const LOUDNESS_MEAN: &str = "loudness_sma3_amean";
/// The loudness contour's functionals other than its mean and `stddevNorm` (percentiles, range,
/// slopes) scale with the level (loudness goes as the amplitude to the power 0.6): divided by
/// the loudness mean, they keep the contour's shape and lose its level.
fn is_loudness_shape(name: &str) -> bool {
    name.starts_with("loudness_sma3_") && name != LOUDNESS_MEAN && !name.ends_with("stddevNorm")
}
/// Functionals that mostly measure the level: held at 0.
const LEVEL_ONLY: [&str; 4] =
    ["spectralFlux_sma3_amean", "spectralFluxV_sma3nz_amean", "spectralFluxUV_sma3nz_amean", "equivalentSoundLevel_dBp"];

struct Columns {
    mean: usize,
    shape: Vec<usize>,
    level_only: Vec<usize>,
}

/// Column of a functional by name; the names above are eGeMAPSv02's (a unit test checks them).
fn column(name: &str) -> usize {
    FEATURE_NAMES.iter().position(|n| *n == name).unwrap_or(usize::MAX)
}

static COLUMNS: LazyLock<Columns> = LazyLock::new(|| Columns {
    mean: column(LOUDNESS_MEAN),
    shape: (0..FEATURE_NAMES.len()).filter(|&j| is_loudness_shape(FEATURE_NAMES[j])).collect(),
    level_only: LEVEL_ONLY.iter().map(|n| column(n)).collect(),
});

impl InputFeatures {
    /// `row` (88 functionals) as the model reads it, in place. Level-free: the shape
    /// functionals divided by the loudness mean (0 where there is no loudness), the mean set
    /// to 1 and the level-only functionals to 0. Idempotent: a row already read this way (or
    /// one shifted by a calibration computed on such rows, which keeps the mean at 1) passes
    /// through unchanged. A row of another width is left as it is.
    pub fn apply_row(self, row: &mut [f64]) {
        let c = &*COLUMNS;
        if self == Self::All || row.len() != FEATURE_NAMES.len() {
            return;
        }
        let mean = row[c.mean];
        for &j in &c.shape {
            row[j] = if mean.abs() > 1e-9 { row[j] / mean } else { 0.0 };
        }
        row[c.mean] = 1.0;
        for &j in &c.level_only {
            row[j] = 0.0;
        }
    }

    /// `rows` as the model reads them ([`Self::apply_row`]).
    pub fn apply(self, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        rows.iter()
            .map(|r| {
                let mut r = r.clone();
                self.apply_row(&mut r);
                r
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_are_egemaps_functionals() {
        let c = &*COLUMNS;
        assert!(c.mean < 88);
        assert!(c.shape.iter().chain(&c.level_only).all(|&j| j < 88));
        assert_eq!(c.shape.len(), 8, "percentiles 20/50/80, range, rising and falling slopes' means and deviations");
        assert_eq!(c.level_only.len(), 4);
    }

    #[test]
    fn a_level_free_row_does_not_move_with_the_gain_and_reading_it_twice_changes_nothing() {
        let c = &*COLUMNS;
        let row: Vec<f64> = (0..88).map(|j| 1.0 + j as f64 * 0.1).collect();
        // The same recording 12 dB quieter: loudness × 0.25^0.6, flux × 0.25, level − 12 dB.
        let g = 0.25f64.powf(0.6);
        let mut quiet = row.clone();
        for &j in std::iter::once(&c.mean).chain(&c.shape) {
            quiet[j] *= g;
        }
        quiet[c.level_only[0]] *= 0.25;
        quiet[c.level_only[3]] -= 12.0;
        let (mut a, mut b) = (row.clone(), quiet);
        InputFeatures::LevelFree.apply_row(&mut a);
        InputFeatures::LevelFree.apply_row(&mut b);
        for j in 0..88 {
            assert!((a[j] - b[j]).abs() < 1e-12, "column {j}: {} vs {}", a[j], b[j]);
        }
        // By hand: percentile 20 over the mean, the mean 1, the level 0, the rest untouched.
        assert!((a[c.shape[0]] - row[c.shape[0]] / row[c.mean]).abs() < 1e-12);
        assert_eq!((a[c.mean], a[c.level_only[3]]), (1.0, 0.0));
        assert_eq!(a[0], row[0]);
        let mut twice = a.clone();
        InputFeatures::LevelFree.apply_row(&mut twice);
        assert_eq!(twice, a);
        // Silence: no loudness, no ratios.
        let mut silent = vec![0.0; 88];
        InputFeatures::LevelFree.apply_row(&mut silent);
        assert!(silent.iter().all(|v| v.is_finite()));
        // All: untouched.
        let mut all = row.clone();
        InputFeatures::All.apply_row(&mut all);
        assert_eq!(all, row);
    }
}
