//! LLDs of the 20 ms Hamming stream: loudness, MFCC 1–4, alpha ratio, Hammarberg index,
//! spectral slopes and spectral flux (egemaps-spec §4.1–§4.6).

use super::dsp::{Geometry, cround};

/// openSMILE's mel scale: 1127·ln(1 + f/700).
fn mel(f: f64) -> f64 {
    1127.0 * (1.0 + f / 700.0).ln()
}

fn mel_inv(m: f64) -> f64 {
    700.0 * ((m / 1127.0).exp() - 1.0)
}

const N_BANDS: usize = 26;
/// (1e-7 as f32)², the spectral floor of the alpha/Hammarberg/slope component.
const SPEC_FLOOR: f64 = 1e-7f32 as f64 * 1e-7f32 as f64;

/// The 26-band mel filterbank shared by loudness and MFCC: each bin feeds at most two bands.
struct MelBank {
    /// (bin, lower band, its weight, upper band, its weight); missing band = usize::MAX.
    taps: Vec<(usize, usize, f64, usize, f64)>,
    /// Equal-loudness weight at each band centre.
    loud_weight: [f64; N_BANDS],
}

impl MelBank {
    fn new(g: &Geometry) -> Self {
        let df = g.df20;
        // openSMILE's `Fs/2` is that of the bin spacing: `Nfft·Δf/2`.
        let half = g.nfft20 as f64 * df / 2.0;
        let mut lo = 20.0;
        let mut hi = 8000.0f64;
        if hi > half {
            hi = half;
        }
        if lo < 0.0 || lo > half || lo > hi {
            lo = 0.0;
        }
        let (mlo, mhi) = (mel(lo), mel(hi));
        let c: Vec<f64> = (0..N_BANDS + 2).map(|m| mlo + m as f64 * (mhi - mlo) / (N_BANDS + 1) as f64).collect();
        let n_lo = cround(lo / df);
        let n_hi = cround(hi / df);
        let mut taps = Vec::new();
        for k in (n_lo + 1)..n_hi.min(g.bins20()) {
            let mu = mel(k as f64 * df);
            let Some(j) = (0..=N_BANDS).find(|&j| c[j + 1] >= mu) else { continue };
            let phi = (c[j + 1] - mu) / (c[j + 1] - c[j]);
            let lower = if j >= 1 { j - 1 } else { usize::MAX };
            let upper = if j < N_BANDS { j } else { usize::MAX };
            taps.push((k, lower, phi, upper, 1.0 - phi));
        }
        let mut loud_weight = [0.0; N_BANDS];
        for (b, w) in loud_weight.iter_mut().enumerate() {
            *w = equal_loudness_weight(mel_inv(c[b + 1]));
        }
        Self { taps, loud_weight }
    }

    fn bands(&self, power: &[f64], out: &mut [f64; N_BANDS]) {
        out.fill(0.0);
        for &(k, lo, wl, hi, wh) in &self.taps {
            let p = power[k];
            if lo != usize::MAX {
                out[lo] += wl * p;
            }
            if hi != usize::MAX {
                out[hi] += wh * p;
            }
        }
    }
}

/// Hermansky's equal-loudness curve as openSMILE writes it (w⁷ in the denominator, QUIRK).
fn equal_loudness_weight(f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f;
    let w2 = w * w;
    let c = w2 + 6_300_000.0;
    1e32 * ((w2 + 56.8e6) * w2 * w2) / (c * c * (w2 + 0.38e9) * (w2 * w2 * w2 * w + 1.7e31))
}

/// Band edges and weights of a spectral-slope band (spec §4.4 step 2).
#[derive(Debug, Clone, Copy, PartialEq)]
struct SlopeBand {
    i_lo: usize,
    w_lo: f64,
    i_hi: usize,
    w_hi: f64,
}

fn slope_band(lo: f64, hi: f64, df: f64, n_bins: usize) -> SlopeBand {
    let f = |i: usize| i as f64 * df;
    let i = (0..n_bins).find(|&i| f(i) > lo).unwrap_or(n_bins);
    let mut w_lo = if i > 0 && i < n_bins { (f(i) - lo) / (f(i) - f(i - 1)) } else { 1.0 };
    let i_lo = i.saturating_sub(1).min(n_bins - 1);
    let i = (0..n_bins).find(|&i| f(i) >= hi).unwrap_or(n_bins);
    let mut w_hi = if i > 0 && i < n_bins { (hi - f(i - 1)) / (f(i) - f(i - 1)) } else { 1.0 };
    let i_hi = if i < n_bins && f(i) == hi { i } else { i.saturating_sub(1) }.min(n_bins - 1);
    if w_lo == 0.0 {
        w_lo = 1.0;
    }
    if w_hi == 0.0 {
        w_hi = 1.0;
    }
    SlopeBand { i_lo, w_lo, i_hi, w_hi }
}

/// The ten spectral LLDs of one 20 ms frame, in LLD-table order.
pub(crate) const N_SPECTRAL: usize = 10;
pub(crate) const LOUDNESS: usize = 0;
pub(crate) const ALPHA: usize = 1;
pub(crate) const HAMMARBERG: usize = 2;
pub(crate) const SLOPE0_500: usize = 3;
pub(crate) const SLOPE500_1500: usize = 4;
pub(crate) const FLUX: usize = 5;
pub(crate) const MFCC1: usize = 6;

pub(crate) struct SpectralAnalyzer {
    mel: MelBank,
    df: f64,
    slopes: [SlopeBand; 2],
    /// Last bin below 5 kHz (flux range), inclusive.
    flux_hi: usize,
    /// DCT-II basis with √(2/26) and the sine lifter folded in, for MFCC 1–4.
    dct: [[f64; N_BANDS]; 4],
    power: Vec<f64>,
    log_power: Vec<f64>,
    prev_mag: Vec<f64>,
    has_prev: bool,
}

impl SpectralAnalyzer {
    pub fn new(g: &Geometry) -> Self {
        let df = g.df20;
        let n_bins = g.bins20();
        let flux_hi = (0..n_bins).take_while(|&k| (k as f64) * df < 5000.0).last().unwrap_or(0);
        let mut dct = [[0.0; N_BANDS]; 4];
        let norm = (2.0 / N_BANDS as f64).sqrt();
        for (i, row) in dct.iter_mut().enumerate() {
            let c = (i + 1) as f64;
            let lifter = 1.0 + 11.0 * (std::f64::consts::PI * c / 22.0).sin();
            for (b, v) in row.iter_mut().enumerate() {
                *v = norm * lifter * (std::f64::consts::PI * c * (b as f64 + 0.5) / N_BANDS as f64).cos();
            }
        }
        Self {
            mel: MelBank::new(g),
            df,
            slopes: [slope_band(0.0, 500.0, df, n_bins), slope_band(500.0, 1500.0, df, n_bins)],
            flux_hi,
            dct,
            power: vec![0.0; n_bins],
            log_power: vec![0.0; n_bins],
            prev_mag: vec![0.0; n_bins],
            has_prev: false,
        }
    }

    /// Makes `mag` the previous frame's spectrum (for the flux of the next one), as if that
    /// frame had just been analysed: a run of frames can then start anywhere in a recording.
    pub fn follow(&mut self, mag: &[f64]) {
        self.prev_mag.copy_from_slice(mag);
        self.has_prev = true;
    }

    /// Computes the ten LLDs from the 20 ms magnitude spectrum.
    pub fn analyze(&mut self, mag: &[f64], out: &mut [f64; N_SPECTRAL]) {
        for (p, &m) in self.power.iter_mut().zip(mag) {
            *p = m * m;
        }
        let mut bands = [0.0; N_BANDS];
        self.mel.bands(&self.power, &mut bands);

        // Loudness: floored band power, equal-loudness weight, cube-root-like compression.
        let exp = 0.33f32 as f64;
        let mut loud = 0.0;
        for (b, &e) in bands.iter().enumerate() {
            loud += (e.max(9.3e-10f32 as f64) * self.mel.loud_weight[b]).powf(exp);
        }
        out[LOUDNESS] = loud / N_BANDS as f64;

        // MFCC: HTK scaling to 16-bit units, floor 1.0, log, liftered DCT.
        let scale = 32767.0 * 32767.0;
        let mut logmel = [0.0; N_BANDS];
        for (l, &e) in logmel.iter_mut().zip(&bands) {
            *l = (e * scale).max(1.0).ln();
        }
        for (i, row) in self.dct.iter().enumerate() {
            out[MFCC1 + i] = row.iter().zip(&logmel).map(|(a, b)| a * b).sum();
        }

        out[ALPHA] = self.alpha_ratio();
        out[HAMMARBERG] = self.hammarberg();
        // Only the slopes read the log power: bins above the 1500 Hz band's last are not needed.
        let used = (self.slopes[0].i_hi.max(self.slopes[1].i_hi) + 1).min(self.log_power.len());
        for (k, lp) in self.log_power[..used].iter_mut().enumerate() {
            let p = self.power[k];
            *lp = if p > SPEC_FLOOR { 10.0 * p.log10() } else { 10.0 * SPEC_FLOOR.log10() };
        }
        out[SLOPE0_500] = self.slope(self.slopes[0]);
        out[SLOPE500_1500] = self.slope(self.slopes[1]);

        out[FLUX] = if self.has_prev {
            let sum: f64 = (0..=self.flux_hi).map(|k| (mag[k] - self.prev_mag[k]).powi(2)).sum();
            (sum / (self.flux_hi + 1) as f64).sqrt()
        } else {
            0.0
        };
        self.prev_mag.copy_from_slice(mag);
        self.has_prev = true;
    }

    fn alpha_ratio(&self) -> f64 {
        // openSMILE accumulates these band sums in f32.
        let (mut low, mut high) = (0.0f32, 0.0f32);
        for (k, &p) in self.power.iter().enumerate() {
            let f = k as f64 * self.df;
            if f < 1000.0 {
                low += p as f32;
            } else if f <= 5000.0 {
                high += p as f32;
            } else {
                break;
            }
        }
        let (low, high) = (low as f64, high as f64);
        if low > 0.0 { if high <= SPEC_FLOOR { 10.0 * (SPEC_FLOOR / low).log10() } else { 10.0 * (high / low).log10() } } else { 0.0 }
    }

    fn hammarberg(&self) -> f64 {
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for (k, &p) in self.power.iter().enumerate() {
            let f = k as f64 * self.df;
            if f < 2000.0 {
                lo = lo.max(p);
            } else if f <= 5000.0 {
                hi = hi.max(p);
            } else {
                break;
            }
        }
        if hi > 0.0 { if lo <= SPEC_FLOOR { 10.0 * (SPEC_FLOOR / hi).log10() } else { 10.0 * (lo / hi).log10() } } else { 0.0 }
    }

    /// Weighted linear regression of dB power over frequency with openSMILE's N = points − 1.
    fn slope(&self, band: SlopeBand) -> f64 {
        let (mut sf, mut sff, mut sfl, mut sl) = (0.0, 0.0, 0.0, 0.0);
        for k in band.i_lo..=band.i_hi {
            let w = if k == band.i_lo {
                band.w_lo
            } else if k == band.i_hi {
                band.w_hi
            } else {
                1.0
            };
            let f = k as f64 * self.df;
            let l = self.log_power[k];
            sf += w * f;
            sff += (w * f) * (w * f);
            sfl += w * f * l;
            sl += w * l;
        }
        let n = (band.i_hi - band.i_lo) as f64;
        let den = n * sff - sf * sf;
        if den == 0.0 { 0.0 } else { (n * sfl - sf * sl) / den }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_band_centres_match_appendix_a() {
        let g = Geometry::new(16_000);
        let (lo, hi) = (mel(20.0), mel(8000.0));
        let centre = |b: usize| mel_inv(lo + (b + 1) as f64 * (hi - lo) / 27.0);
        assert!((centre(0) - 89.6).abs() < 0.05);
        assert!((centre(25) - 7233.0).abs() < 0.5);
        let bank = MelBank::new(&g);
        assert_eq!(bank.taps.first().map(|t| t.0), Some(2));
        assert_eq!(bank.taps.last().map(|t| t.0), Some(255));
    }

    #[test]
    fn slope_bands_match_spec() {
        let b = slope_band(0.0, 500.0, 31.25, 257);
        assert_eq!((b.i_lo, b.w_lo, b.i_hi, b.w_hi), (0, 1.0, 16, 1.0));
        let b = slope_band(500.0, 1500.0, 31.25, 257);
        assert_eq!((b.i_lo, b.i_hi), (16, 48));
        let b = slope_band(0.0, 500.0, 44_100.0 / 1024.0, 513);
        assert_eq!((b.i_lo, b.i_hi), (0, 11));
        assert!((b.w_hi - 0.609).abs() < 1e-3);
    }

    #[test]
    fn silence_gives_opensmile_constants() {
        let g = Geometry::new(16_000);
        let mut a = SpectralAnalyzer::new(&g);
        let mut out = [0.0; N_SPECTRAL];
        a.analyze(&vec![0.0; g.bins20()], &mut out);
        assert!((out[LOUDNESS] - 0.001034).abs() < 2e-6, "loudness {}", out[LOUDNESS]);
        assert!((out[SLOPE0_500] - 0.112).abs() < 1e-9);
        assert!((out[SLOPE500_1500] - 0.076364).abs() < 1e-6);
        assert_eq!(out[ALPHA], 0.0);
        assert_eq!(out[HAMMARBERG], 0.0);
        assert_eq!(&out[MFCC1..], &[0.0; 4]);
    }

    #[test]
    fn mfcc_lifter_factors() {
        let lifter = |i: f64| 1.0 + 11.0 * (std::f64::consts::PI * i / 22.0).sin();
        for (i, want) in [2.56546, 4.09906, 5.56957, 6.94705].iter().enumerate() {
            assert!((lifter((i + 1) as f64) - want).abs() < 1e-5);
        }
    }
}
