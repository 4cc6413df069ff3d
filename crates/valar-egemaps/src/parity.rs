//! Agreement with openSMILE: the per-feature tolerances of egemaps-spec §9.4 and a report of
//! how a set of valar results compares with openSMILE's for the same files.

use super::{FEATURE_NAMES, LLD_NAMES, N_FEATURES, N_LLD};

/// A value passes when it is within `abs` of the reference or within `rel` of its magnitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub abs: f64,
    pub rel: f64,
}

/// The functional tolerance for feature `name`: egemaps-spec §9.4's relative tolerance, with
/// an absolute floor at the precision of the underlying LLD for values that are essentially
/// zero (the F0 spread of a steady tone, slopes of a flat contour, the stddevNorm of a nearly
/// constant one), where f32 rounding alone exceeds any relative bound.
pub fn tolerance(name: &str) -> Tolerance {
    let t = |abs: f64, rel: f64| Tolerance { abs, rel };
    let sd = name.ends_with("stddevNorm");
    let slope_stat = name.contains("Slope");
    let base = name.split('_').next().unwrap_or(name);
    if name == "equivalentSoundLevel_dBp" {
        return t(1e-4, 0.0);
    }
    if name == "loudnessPeaksPerSec" || name.contains("Segment") {
        return t(1e-6, 1e-6);
    }
    if is_formant_dependent(name) {
        return match base {
            b if b.contains("amplitudeLogRelF0") || b == "logRelF0-H1-A3" => t(if sd { 1e-4 } else { 1e-3 }, 5e-3),
            b if b.contains("frequency") => t(1e-4, if sd { 2e-2 } else { 5e-3 }),
            _ => t(1e-4, if sd { 5e-2 } else { 1e-2 }),
        };
    }
    // Floors: stddevNorm is dimensionless (1e-4); F0 in semitones (1e-3 st, slopes 0.01 st/s);
    // loudness slopes 1e-4 units/s; spectral slopes 5e-5 dB/Hz (0.05 dB per kHz: a pure
    // tone leaves most bins of a slope band as leakage near the f32 resolution).
    let floor = |unit: f64| if sd { 1e-4 } else { unit };
    match base {
        "loudness" if slope_stat => t(1e-4, 1e-3),
        "loudness" if name.contains("percentile") || name.contains("pctl") => t(floor(1e-6), 1e-3),
        "loudness" => t(floor(1e-6), 1e-4),
        b if b.starts_with("alphaRatio") || b.starts_with("hammarbergIndex") => {
            if sd {
                t(1e-4, 1e-3)
            } else {
                t(1e-3, 0.0)
            }
        }
        b if b.starts_with("slope") => t(floor(5e-5), 1e-4),
        b if b.starts_with("spectralFlux") => t(floor(1e-7), 1e-4),
        b if b.starts_with("mfcc") => {
            if sd {
                t(1e-4, 1e-3)
            } else {
                t(2e-3, 0.0)
            }
        }
        b if b.starts_with("F0semitone") => t(if slope_stat { 1e-2 } else { floor(1e-3) }, 1e-4),
        "jitterLocal" | "shimmerLocaldB" | "logRelF0-H1-H2" => t(floor(1e-6), 1e-3),
        "HNRdBACF" => t(floor(1e-3), 1e-4),
        _ => t(floor(1e-9), 1e-4),
    }
}

/// Whether a functional depends on the LPC formants (F1–F3 frequency, bandwidth and
/// amplitude, and H1–A3); spec §9.4 gives these their own tolerances. Formant roots are chaotic
/// (spec §8.2): a last-bit difference in the spectrum moves roots in ill-conditioned frames,
/// which is why valar's formant path repeats openSMILE's f32 arithmetic, FFT included.
pub fn is_formant_dependent(name: &str) -> bool {
    name.starts_with("F1") || name.starts_with("F2") || name.starts_with("F3") || name.contains("H1-A3")
}

impl Tolerance {
    pub fn passes(&self, ours: f64, reference: f64) -> bool {
        if ours.is_nan() && reference.is_nan() {
            return true;
        }
        let d = (ours - reference).abs();
        d <= self.abs || d <= self.rel * reference.abs()
    }
}

/// Agreement statistics of one feature over many files.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureParity {
    pub name: &'static str,
    pub n: usize,
    pub median_abs_err: f64,
    pub max_abs_err: f64,
    pub median_rel_err: f64,
    pub within_tolerance: f64,
    pub pearson_r: f64,
}

/// Compares paired rows (valar, openSMILE) of 88 values each.
pub fn compare(pairs: &[([f64; N_FEATURES], [f64; N_FEATURES])]) -> Vec<FeatureParity> {
    (0..N_FEATURES)
        .map(|i| {
            let name = FEATURE_NAMES[i];
            let tol = tolerance(name);
            let xs: Vec<(f64, f64)> = pairs.iter().map(|(a, b)| (a[i], b[i])).filter(|(a, b)| a.is_finite() && b.is_finite()).collect();
            let mut abs: Vec<f64> = xs.iter().map(|(a, b)| (a - b).abs()).collect();
            let mut rel: Vec<f64> = xs.iter().map(|(a, b)| (a - b).abs() / b.abs().max(1e-12)).collect();
            abs.sort_by(f64::total_cmp);
            rel.sort_by(f64::total_cmp);
            let pass = xs.iter().filter(|(a, b)| tol.passes(*a, *b)).count();
            let med = |v: &[f64]| if v.is_empty() { f64::NAN } else { v[v.len() / 2] };
            FeatureParity {
                name,
                n: xs.len(),
                median_abs_err: med(&abs),
                max_abs_err: abs.last().copied().unwrap_or(f64::NAN),
                median_rel_err: med(&rel),
                within_tolerance: if xs.is_empty() { f64::NAN } else { pass as f64 / xs.len() as f64 },
                pearson_r: pearson(&xs),
            }
        })
        .collect()
}

/// Pearson correlation (1 when both sides are constant and equal).
pub fn pearson(xs: &[(f64, f64)]) -> f64 {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return f64::NAN;
    }
    let (ma, mb) = (xs.iter().map(|p| p.0).sum::<f64>() / n, xs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b) in xs {
        sab += (a - ma) * (b - mb);
        saa += (a - ma).powi(2);
        sbb += (b - mb).powi(2);
    }
    if saa == 0.0 && sbb == 0.0 {
        return if (ma - mb).abs() < 1e-12 { 1.0 } else { 0.0 };
    }
    sab / (saa.sqrt() * sbb.sqrt())
}

/// The per-frame tolerance of LLD `name` (egemaps-spec §9.4) and the share of frames that must
/// meet it: all but rounding accidents (99 %) for the deterministic LLDs, 99.5 % for F0 (the
/// spec's voicing agreement), and the spec's own shares for the chaotic formant LLDs.
pub fn lld_tolerance(name: &str) -> (Tolerance, f64) {
    let t = |abs: f64, rel: f64| Tolerance { abs, rel };
    let base = name.split('_').next().unwrap_or(name);
    match base {
        "Loudness" => (t(1e-6, 1e-4), 0.99),
        "spectralFlux" => (t(1e-7, 1e-4), 0.99),
        "alphaRatio" | "hammarbergIndex" => (t(1e-3, 0.0), 0.99),
        b if b.starts_with("slope") => (t(1e-6, 0.0), 0.99),
        b if b.starts_with("mfcc") => (t(2e-3, 0.0), 0.99),
        "F0semitoneFrom27.5Hz" => (t(1e-3, 0.0), 0.995),
        "jitterLocal" => (t(1e-5, 0.0), 0.99),
        "shimmerLocaldB" | "HNRdBACF" => (t(1e-3, 0.0), 0.99),
        "logRelF0-H1-H2" => (t(1e-2, 0.0), 0.99),
        b if b.contains("amplitudeLogRelF0") || b == "logRelF0-H1-A3" => (t(0.1, 0.0), 0.97),
        b if b.contains("frequency") => (t(3.0, 0.0), 0.95),
        b if b.contains("bandwidth") => (t(10.0, 0.0), 0.90),
        _ => (t(1e-6, 1e-4), 0.99),
    }
}

/// Frame-by-frame agreement of one LLD over many files.
#[derive(Debug, Clone, PartialEq)]
pub struct LldParity {
    pub name: &'static str,
    /// Frames compared (files whose row counts differ contribute none; see `files_mismatched`).
    pub frames: usize,
    pub within_tolerance: f64,
    /// The share §9.4 asks for.
    pub required: f64,
    pub max_abs_err: f64,
    /// Files whose number of LLD rows differs from openSMILE's.
    pub files_mismatched: usize,
}

impl LldParity {
    pub fn passes(&self) -> bool {
        self.files_mismatched == 0 && self.within_tolerance >= self.required
    }
}

/// One file's LLD rows (one array of the 25 LLDs per frame).
pub type LldRows = Vec<[f64; N_LLD]>;

/// Compares the LLD tables (valar, openSMILE) of many files, frame by frame.
pub fn compare_lld(files: &[(LldRows, LldRows)]) -> Vec<LldParity> {
    let mismatched = files.iter().filter(|(a, b)| a.len() != b.len()).count();
    (0..N_LLD)
        .map(|i| {
            let name = LLD_NAMES[i];
            let (tol, required) = lld_tolerance(name);
            let (mut frames, mut pass, mut max_abs) = (0usize, 0usize, 0.0f64);
            for (a, b) in files.iter().filter(|(a, b)| a.len() == b.len()) {
                for (ra, rb) in a.iter().zip(b) {
                    frames += 1;
                    if tol.passes(ra[i], rb[i]) {
                        pass += 1;
                    }
                    if ra[i].is_finite() && rb[i].is_finite() {
                        max_abs = max_abs.max((ra[i] - rb[i]).abs());
                    }
                }
            }
            LldParity {
                name,
                frames,
                within_tolerance: if frames == 0 { f64::NAN } else { pass as f64 / frames as f64 },
                required,
                max_abs_err: max_abs,
                files_mismatched: mismatched,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_follow_spec() {
        assert_eq!(tolerance("equivalentSoundLevel_dBp"), Tolerance { abs: 1e-4, rel: 0.0 });
        assert_eq!(tolerance("F1bandwidth_sma3nz_stddevNorm").rel, 5e-2);
        assert_eq!(tolerance("mfcc2_sma3_amean").abs, 2e-3);
        assert!(tolerance("F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2").passes(1.16e-4, 1.144e-4), "near-zero F0 spread");
        assert!(!tolerance("F0semitoneFrom27.5Hz_sma3nz_amean").passes(30.01, 30.0));
        assert!(is_formant_dependent("F2bandwidth_sma3nz_amean") && is_formant_dependent("logRelF0-H1-A3_sma3nz_amean"));
        assert!(!is_formant_dependent("F0semitoneFrom27.5Hz_sma3nz_amean"));
        assert!(tolerance("loudness_sma3_amean").passes(1.00005, 1.0));
        assert!(!tolerance("loudness_sma3_amean").passes(1.0002, 1.0));
    }

    #[test]
    fn lld_tolerances_follow_spec() {
        assert_eq!(lld_tolerance("F2frequency_sma3nz"), (Tolerance { abs: 3.0, rel: 0.0 }, 0.95));
        assert_eq!(lld_tolerance("F0semitoneFrom27.5Hz_sma3nz").1, 0.995);
        let a = vec![[1.0; N_LLD]; 10];
        let mut b = a.clone();
        b[3][0] = 1.01; // loudness off by 1 % in one frame of ten
        let r = compare_lld(&[(a.clone(), b)]);
        assert_eq!((r[0].frames, r[0].within_tolerance), (10, 0.9));
        assert!(!r[0].passes() && r[1].passes());
        let r = compare_lld(&[(a.clone(), a[..9].to_vec())]);
        assert_eq!((r[0].files_mismatched, r[0].frames), (1, 0));
        assert!(!r[0].passes());
    }

    #[test]
    fn pearson_of_linear_relation() {
        let xs: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 2.0 * i as f64 + 1.0)).collect();
        assert!((pearson(&xs) - 1.0).abs() < 1e-12);
    }
}
