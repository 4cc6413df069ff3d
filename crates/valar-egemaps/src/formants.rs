//! Formants F1–F3 (frequency and bandwidth) from LPC roots of a band-limited, resampled
//! 20 ms frame (egemaps-spec §4.9), with openSMILE's resampler and sign quirks.

use realfft::num_complex::Complex;

use super::dsp::{Geometry, OouraFramedFft, cround, hamming};

const LPC_ORDER: usize = 11;
/// Outputs of the resampler computed side by side.
const LANES: usize = 8;
/// openSMILE converts with exactly 11 kHz whatever the rounding of the resampled length.
const TARGET_FS: f64 = 11_000.0;
const MIN_F: f64 = 50.0;
const MAX_F: f64 = 5450.0;
pub(crate) const N_FORMANTS: usize = 5;

/// LPC coefficients a_1..a_p of one frame.
pub(crate) type Lpc = [f64; LPC_ORDER];

/// Formant frequencies and bandwidths of one frame (0 = missing).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Formants {
    pub freq: [f64; N_FORMANTS],
    pub bw: [f64; N_FORMANTS],
}

pub(crate) struct FormantAnalyzer {
    /// Output samples of the inverse DFT.
    n_out: usize,
    /// Highest bin used + 1 (bins 1..b_max).
    b_max: usize,
    nfft: usize,
    /// The Hamming-windowed 20 ms frame's spectrum, in openSMILE's f32 arithmetic.
    fft: OouraFramedFft,
    /// cos and sin tables of the inverse DFT, shared by every analyser of one sample rate.
    tables: std::sync::Arc<(Vec<f32>, Vec<f32>)>,
    y: Vec<f32>,
    /// The CPU's vector extensions, detected once.
    arch: pulp::Arch,
}

impl FormantAnalyzer {
    pub fn new(g: &Geometry) -> Self {
        let n_out = cround(g.l20 as f64 * TARGET_FS / g.fs);
        let nu = g.nfft20 as f64 * n_out as f64 / g.l20 as f64;
        let mut k_max = g.nfft20.min(n_out);
        if k_max & 1 == 1 {
            k_max -= 1;
        }
        let b_max = k_max / 2;
        // Tables laid out [bin][output], outputs padded to a multiple of 8 so that eight
        // neighbouring outputs sit side by side in one vector.
        let stride = n_out.div_ceil(LANES) * LANES;
        let tables = shared_tables(g.fs as u32, || {
            // Laid out [block of LANES outputs][bin][lane]: the resampler then reads each table
            // front to back, LANES values at a time.
            let mut cos = vec![0.0f32; stride * b_max];
            let mut sin = vec![0.0f32; stride * b_max];
            for i in 0..n_out {
                let (blk, lane) = (i / LANES, i % LANES);
                for b in 1..b_max {
                    let arg = 2.0 * std::f64::consts::PI * (b * i) as f64 / nu;
                    // openSMILE keeps these tables in f32.
                    let k = (blk * b_max + b) * LANES + lane;
                    cos[k] = arg.cos() as f32;
                    sin[k] = arg.sin() as f32;
                }
            }
            (cos, sin)
        });
        Self {
            n_out,
            b_max,
            nfft: g.nfft20,
            fft: OouraFramedFft::new(hamming(g.l20), g.nfft20),
            tables,
            y: vec![0.0f32; stride],
            arch: pulp::Arch::new(),
        }
    }

    /// openSMILE's 20 ms spectrum of `frame` (Hamming window and Ooura's FFT in f32), kept
    /// for [`magnitudes`](Self::magnitudes) and [`lpc_of_transformed`](Self::lpc_of_transformed):
    /// the spectral LLDs and the formant resampler read the same transform, as in openSMILE.
    pub fn transform(&mut self, frame: &[f32]) {
        self.fft.run(frame);
    }

    /// |X_k| (k = 0..=nfft/2) of the last [`transform`](Self::transform), `sqrt(re² + im²)` in
    /// f32 as openSMILE's cFFTmagphase computes it.
    pub fn magnitudes(&self, out: &mut Vec<f64>) {
        self.fft.magnitudes(out);
    }

    /// LPC coefficients of the last [`transform`](Self::transform)ed 20 ms frame, which depend
    /// on that frame alone; [`formants_from_lpc`] turns them into formants, frame after frame.
    ///
    /// Formant roots are chaotic (spec §8.2), so this stage copies openSMILE's arithmetic: the
    /// windowing, the FFT (Ooura's, in f32), tables, inverse-DFT sums, autocorrelation and
    /// Levinson–Durbin all in f32, in openSMILE's order of operations.
    pub fn lpc_of_transformed(&mut self) -> Lpc {
        self.lpc_of(None)
    }

    /// Up to [`BATCH`](super::dsp::BATCH) frames' transforms at once, each bit for bit what
    /// [`transform`](Self::transform) gives it; read with [`batch_magnitudes`](Self::batch_magnitudes)
    /// and [`lpc_of_batch`](Self::lpc_of_batch).
    pub fn transform_batch(&mut self, frames: &[&[f32]]) {
        self.fft.run_batch(frames);
    }

    /// [`magnitudes`](Self::magnitudes) of frame `k` of the last batch.
    pub fn batch_magnitudes(&self, k: usize, out: &mut Vec<f64>) {
        self.fft.batch_magnitudes(k, out);
    }

    /// [`lpc_of_transformed`](Self::lpc_of_transformed) of frame `k` of the last batch.
    pub fn lpc_of_batch(&mut self, k: usize) -> Lpc {
        self.lpc_of(Some(k))
    }

    /// LPC of the last transform (`None`) or of frame `k` of the last batch.
    fn lpc_of(&mut self, batch: Option<usize>) -> Lpc {
        let spectrum = match batch {
            None => self.fft.spectrum(),
            Some(k) => self.fft.batch_spectrum(k),
        };
        let half = (self.nfft / 2) as f32;
        let dc = spectrum[0];
        let (cos, sin) = (&self.tables.0, &self.tables.1);
        // QUIRK: DC is not halved; bins 1..B-1 only. Ooura's layout holds bin b's cosine sum at
        // 2b and its sine sum at 2b + 1, which is what openSMILE's resampler multiplies. Each
        // output is accumulated in f32 in openSMILE's order (DC, then cos and sin term of every
        // bin); eight outputs advance together, which changes nothing in any one sum.
        let per_block = self.b_max * LANES;
        // Bins 1..B-1 as (cosine sum, sine sum) pairs, read beside each block's table rows.
        let (bins, _) = spectrum[2..2 * self.b_max].as_chunks::<2>();
        let y = &mut self.y;
        // The same scalar arithmetic, compiled for the widest vectors the CPU has (AVX where
        // present): each lane's sum keeps its order, so the result is identical everywhere.
        self.arch.dispatch(Resample { y, cos, sin, per_block, bins, dc, half });
        lpc(&self.y[..self.n_out])
    }
}

/// The resampler's arguments, run by [`pulp::Arch::dispatch`] in a function compiled for the
/// CPU's vector extensions (everything it calls is inlined into that function).
struct Resample<'a> {
    y: &'a mut [f32],
    cos: &'a [f32],
    sin: &'a [f32],
    per_block: usize,
    bins: &'a [[f32; 2]],
    dc: f32,
    half: f32,
}

impl pulp::WithSimd for Resample<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        resample(self.y, self.cos, self.sin, self.per_block, self.bins, self.dc, self.half);
    }
}

/// openSMILE's DFT resampler: output i = (DC + Σ_b re_b·cos_bi + im_b·sin_bi) / half, bins from 1,
/// accumulated in f32 in that order; `LANES` outputs advance together, four such blocks at once
/// so that their chains of additions overlap (each lane's sum keeps its own order).
#[inline(always)]
fn resample(y: &mut [f32], cos: &[f32], sin: &[f32], per_block: usize, bins: &[[f32; 2]], dc: f32, half: f32) {
    let n = bins.len();
    // Block g's rows of bins 1.. as fixed-size rows (no bounds checks).
    fn rows(t: &[f32], g: usize, per_block: usize, n: usize) -> &[[f32; LANES]] {
        &t[g * per_block + LANES..(g + 1) * per_block].as_chunks::<LANES>().0[..n]
    }
    let rows = |t, g| rows(t, g, per_block, n);
    let mut y = y.chunks_exact_mut(4 * LANES);
    let mut c = cos.chunks_exact(4 * per_block);
    let mut s = sin.chunks_exact(4 * per_block);
    for ((y, c), s) in (&mut y).zip(&mut c).zip(&mut s) {
        let (c0, c1, c2, c3) = (rows(c, 0), rows(c, 1), rows(c, 2), rows(c, 3));
        let (s0, s1, s2, s3) = (rows(s, 0), rows(s, 1), rows(s, 2), rows(s, 3));
        let mut acc = [[dc; LANES]; 4];
        for (b, &[re, im]) in bins.iter().enumerate() {
            // Each lane's two updates per bin in openSMILE's order: cos term, then sin term.
            accumulate(&mut acc[0], re, &c0[b], im, &s0[b]);
            accumulate(&mut acc[1], re, &c1[b], im, &s1[b]);
            accumulate(&mut acc[2], re, &c2[b], im, &s2[b]);
            accumulate(&mut acc[3], re, &c3[b], im, &s3[b]);
        }
        for (y, a) in y.iter_mut().zip(acc.as_flattened()) {
            *y = a / half;
        }
    }
    let (y, c, s) = (y.into_remainder(), c.remainder(), s.remainder());
    for ((y, c), s) in y.chunks_exact_mut(LANES).zip(c.chunks_exact(per_block)).zip(s.chunks_exact(per_block)) {
        let (c0, s0) = (rows(c, 0), rows(s, 0));
        let mut acc = [dc; LANES];
        for (b, &[re, im]) in bins.iter().enumerate() {
            accumulate(&mut acc, re, &c0[b], im, &s0[b]);
        }
        for (y, a) in y.iter_mut().zip(&acc) {
            *y = a / half;
        }
    }
}

/// acc += re·cos, then acc += im·sin, lane by lane.
#[inline(always)]
fn accumulate(acc: &mut [f32; LANES], re: f32, cos: &[f32; LANES], im: f32, sin: &[f32; LANES]) {
    for l in 0..LANES {
        acc[l] += re * cos[l];
    }
    for l in 0..LANES {
        acc[l] += im * sin[l];
    }
}

/// The resampler's tables for sample rate `fs`, built by `make` the first time they are asked
/// for (they cost more than analysing a short file).
fn shared_tables(fs: u32, make: impl FnOnce() -> (Vec<f32>, Vec<f32>)) -> std::sync::Arc<(Vec<f32>, Vec<f32>)> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Tables = Arc<(Vec<f32>, Vec<f32>)>;
    static CACHE: OnceLock<Mutex<HashMap<u32, Tables>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock only means another thread panicked while inserting: the map is intact.
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(fs).or_insert_with(|| Arc::new(make())).clone()
}

/// LPC coefficients a_1..a_p of A(z) = 1 + Σ a_i z^-i by the autocorrelation method
/// (openSMILE's smileDsp_autoCorr + smileDsp_calcLpcAcf, in f32).
fn lpc(y: &[f32]) -> [f64; LPC_ORDER] {
    let n = y.len();
    // r[m] = Σ_{i ≥ m} y[i]·y[i − m], each summed in f32 in order of i; all lags advance
    // together, so their twelve chains of additions overlap.
    let mut r = [0.0f32; LPC_ORDER + 1];
    for (i, &yi) in y.iter().enumerate().take(LPC_ORDER) {
        for m in 0..=i {
            r[m] += yi * y[i - m];
        }
    }
    for i in LPC_ORDER..n {
        let (yi, back) = (y[i], &y[i - LPC_ORDER..=i]);
        for (m, rm) in r.iter_mut().enumerate() {
            *rm += yi * back[LPC_ORDER - m];
        }
    }
    let mut a = [0.0f32; LPC_ORDER];
    if r[0] == 0.0 {
        return [0.0; LPC_ORDER];
    }
    let mut e = r[0];
    for m in 1..=LPC_ORDER {
        let mut sum = r[m];
        for i in 1..m {
            sum += a[i - 1] * r[m - i];
        }
        let k = (-1.0f32 / e) * sum;
        a[m - 1] = k;
        for i in 1..=m / 2 {
            let x = a[i - 1];
            a[i - 1] += k * a[m - i - 1];
            if i < m / 2 || m & 1 == 1 {
                a[m - i - 1] += k * x;
            }
        }
        e *= 1.0 - k * k;
        if e == 0.0 {
            for v in a.iter_mut().skip(m) {
                *v = 0.0;
            }
            break;
        }
    }
    a.map(|v| v as f64)
}

/// Formants from LPC coefficients; `start` seeds the root finder and receives the roots.
pub(crate) fn formants_from_lpc(a: &[f64; LPC_ORDER], start: &mut Option<Vec<Complex<f64>>>) -> Formants {
    let mut out = Formants::default();
    if a.iter().all(|&v| v == 0.0) {
        return out;
    }
    // QUIRK (sign): openSMILE solves x^11 − a1 x^10 − … − a11, not the textbook A(z) polynomial.
    let mut coeffs = [0.0; LPC_ORDER + 1]; // highest power first
    coeffs[0] = 1.0;
    for i in 0..LPC_ORDER {
        coeffs[i + 1] = -a[i];
    }
    let roots = polynomial_roots(&coeffs, start.as_deref());
    *start = Some(roots.clone());
    let mut n = 0;
    let mut found: Vec<(f64, f64)> = Vec::with_capacity(N_FORMANTS);
    for mut r in roots {
        if r.norm_sqr() > 1.0 {
            r = Complex::new(1.0, 0.0) / r.conj();
        }
        if r.im < 0.0 {
            continue;
        }
        let f = r.im.atan2(r.re).abs() * TARGET_FS / (2.0 * std::f64::consts::PI);
        if (MIN_F..=MAX_F).contains(&f) {
            found.push((f, -r.norm().ln() * TARGET_FS / std::f64::consts::PI));
            n += 1;
            if n >= N_FORMANTS {
                break;
            }
        }
    }
    found.sort_by(|x, y| x.0.total_cmp(&y.0));
    for (i, (f, bw)) in found.into_iter().enumerate() {
        out.freq[i] = f;
        out.bw[i] = bw;
    }
    out
}

/// All complex roots of a real polynomial (coefficients highest power first, leading 1), by
/// the Aberth–Ehrlich iteration from `start` (e.g. the previous frame's roots; consecutive
/// frames have similar roots, so a few iterations suffice) or from points on a circle.
fn polynomial_roots(c: &[f64], start: Option<&[Complex<f64>]>) -> Vec<Complex<f64>> {
    let deg = c.len() - 1;
    let one = Complex::new(1.0, 0.0);
    let mut z: Vec<Complex<f64>> = match start {
        Some(s) if s.len() == deg && s.iter().all(|r| r.re.is_finite() && r.im.is_finite()) => s.to_vec(),
        _ => (0..deg).map(|k| Complex::from_polar(0.9, 2.0 * std::f64::consts::PI * (k as f64 + 0.25) / deg as f64 + 0.4)).collect(),
    };
    // Distinct starting points (Aberth needs them).
    for k in 1..deg {
        for j in 0..k {
            if (z[k] - z[j]).norm_sqr() < 1e-20 {
                z[k] += Complex::new(1e-6 * (k as f64 + 1.0), 1e-6);
            }
        }
    }
    // Gauss–Seidel order: root k's update reads the roots before it as already updated this
    // round. What it reads of itself and of the roots after it is as the round began, so those
    // parts — every root's p(z_k)/p'(z_k) and the reciprocals 1/(z_k − z_j), j > k — are computed
    // first, side by side, and only the reciprocals of updated roots wait for them. Each value is
    // computed as before and summed in the same order, so the roots are the same to the bit as
    // with one root after the other.
    let zero = Complex::new(0.0, 0.0);
    let mut done = vec![false; deg];
    let mut p = vec![zero; deg];
    let mut dp = vec![zero; deg];
    // ahead[k * deg + j], j > k: 1/(z_k − z_j) as the round began (None where z_k = z_j).
    let mut ahead: Vec<Option<Complex<f64>>> = vec![None; deg * deg];
    // 1/d, skipped where two roots coincide.
    let reciprocal = |d: Complex<f64>| (d.norm_sqr() > 0.0).then(|| one / d);
    // The roots still moving (a root whose step fell below the tolerance stays where it is).
    let mut live: Vec<usize> = (0..deg).collect();
    for _ in 0..80 {
        live.retain(|&k| !done[k]);
        values_and_slopes(c, &z, &live, &mut p, &mut dp);
        for &k in &live {
            for j in k + 1..deg {
                ahead[k * deg + j] = reciprocal(z[k] - z[j]);
            }
        }
        let mut max_step = 0.0f64;
        for &k in &live {
            if p[k].norm_sqr() == 0.0 {
                done[k] = true;
                continue;
            }
            let ratio = p[k] / dp[k];
            let mut sum = zero;
            for j in 0..k {
                if let Some(r) = reciprocal(z[k] - z[j]) {
                    sum += r;
                }
            }
            for r in ahead[k * deg + k + 1..(k + 1) * deg].iter().flatten() {
                sum += r;
            }
            let step = ratio / (one - ratio * sum);
            if step.re.is_finite() && step.im.is_finite() {
                z[k] -= step;
                let rel = step.norm_sqr() / (1.0 + z[k].norm_sqr());
                done[k] = rel < 1e-26;
                max_step = max_step.max(rel);
            }
        }
        if max_step < 1e-26 {
            break;
        }
    }
    // Two Newton steps per root, each kept only where it lowers |p|; the roots side by side.
    let mut polishing: Vec<usize> = (0..deg).collect();
    let mut next = vec![zero; deg];
    let mut p_next = vec![zero; deg];
    for _ in 0..2 {
        values_and_slopes(c, &z, &polishing, &mut p, &mut dp);
        polishing.retain(|&k| dp[k].norm_sqr() != 0.0);
        for &k in &polishing {
            next[k] = z[k] - p[k] / dp[k];
        }
        values(c, &next, &polishing, &mut p_next);
        polishing.retain(|&k| p_next[k].norm_sqr() < p[k].norm_sqr());
        for &k in &polishing {
            z[k] = next[k];
        }
    }
    z
}

/// p(z_k) and p'(z_k) of the points `of` (Horner, coefficients highest power first), side by
/// side: each point's arithmetic is the scalar Horner recurrence's.
#[inline(always)]
fn values_and_slopes(c: &[f64], z: &[Complex<f64>], of: &[usize], p: &mut [Complex<f64>], dp: &mut [Complex<f64>]) {
    for &k in of {
        p[k] = Complex::new(c[0], 0.0);
        dp[k] = Complex::new(0.0, 0.0);
    }
    for &ci in &c[1..] {
        for &k in of {
            dp[k] = dp[k] * z[k] + p[k];
            p[k] = p[k] * z[k] + ci;
        }
    }
}

/// p(z_k) of the points `of`, as [`values_and_slopes`] computes it.
#[inline(always)]
fn values(c: &[f64], z: &[Complex<f64>], of: &[usize], p: &mut [Complex<f64>]) {
    for &k in of {
        p[k] = Complex::new(c[0], 0.0);
    }
    for &ci in &c[1..] {
        for &k in of {
            p[k] = p[k] * z[k] + ci;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_of_known_polynomial() {
        // (x-0.5)(x+0.25)(x^2 - 2·0.9cos(0.3)x + 0.81)
        let a = Complex::from_polar(0.9, 0.3);
        let c2 = [1.0, -2.0 * a.re, a.norm_sqr()];
        let lin = [1.0, -0.5 + 0.25, -0.125];
        let mut c = [0.0; 5];
        for (i, x) in lin.iter().enumerate() {
            for (j, y) in c2.iter().enumerate() {
                c[i + j] += x * y;
            }
        }
        let roots = polynomial_roots(&c, None);
        for want in [Complex::new(0.5, 0.0), Complex::new(-0.25, 0.0), a, a.conj()] {
            assert!(roots.iter().any(|r| (r - want).norm() < 1e-10), "missing root {want}");
        }
        // Warm start from slightly wrong roots converges to the same roots.
        let nudged: Vec<Complex<f64>> = roots.iter().map(|r| r * 1.01).collect();
        let again = polynomial_roots(&c, Some(&nudged));
        for want in [Complex::new(0.5, 0.0), Complex::new(-0.25, 0.0), a, a.conj()] {
            assert!(again.iter().any(|r| (r - want).norm() < 1e-10), "warm start missed {want}");
        }
    }

    /// Textbook Levinson–Durbin in f64, for reference.
    fn levinson_f64(y: &[f32]) -> Vec<f64> {
        let n = y.len();
        let r: Vec<f64> = (0..=LPC_ORDER).map(|m| (m..n).map(|i| y[i] as f64 * y[i - m] as f64).sum()).collect();
        let mut a = vec![0.0; LPC_ORDER + 1];
        let mut e = r[0];
        for m in 1..=LPC_ORDER {
            let k = -(r[m] + (1..m).map(|i| a[i] * r[m - i]).sum::<f64>()) / e;
            let prev = a.clone();
            a[m] = k;
            for i in 1..m {
                a[i] = prev[i] + k * prev[m - i];
            }
            e *= 1.0 - k * k;
        }
        a[1..].to_vec()
    }

    #[test]
    fn f32_levinson_agrees_with_f64_and_recovers_an_ar2_process() {
        // y[n] = 1.3 y[n-1] − 0.8 y[n-2] + e[n] over openSMILE's 220-sample frame.
        let mut y = vec![0.0f32; 220];
        let mut seed = 12345u64;
        for n in 2..y.len() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let e = ((seed >> 11) as f64 / (1u64 << 53) as f64) as f32 - 0.5;
            y[n] = 1.3 * y[n - 1] - 0.8 * y[n - 2] + e;
        }
        let a = lpc(&y);
        let reference = levinson_f64(&y);
        for (x, r) in a.iter().zip(&reference) {
            assert!((x - r).abs() < 1e-4, "f32 {a:?}\nf64 {reference:?}");
        }
        assert!((a[0] + 1.3).abs() < 0.15 && (a[1] - 0.8).abs() < 0.15, "{a:?}");
    }
}
