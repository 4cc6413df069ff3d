//! Voice-quality LLDs that need the decided F0: jitter and shimmer from the raw waveform
//! (spec §4.8) and the harmonic features from the 60 ms spectrum (spec §4.10).

use super::dsp::{BATCH, Geometry, MIN_BATCH, quad_from_3pts};
use super::ooura::{F32x8, Rdft};

/// Period-by-period jitter/shimmer analysis, stateful across frames exactly like
/// openSMILE's cPitchJitter: the read position, the samples carried over, the last period
/// and the last outputs all link consecutive frames until an unvoiced frame resets them.
pub(crate) struct JitterAnalyzer {
    fs: f64,
    hop: usize,
    /// Samples of the F0 frame as openSMILE computes it (may be L60 + 1).
    frame_len: usize,
    /// Step between F0 frames in samples as openSMILE computes it.
    step: usize,
    last_idx: usize,
    last_mis: usize,
    last_t0: f32,
    last_jitter: f32,
    last_shimmer: f32,
    cc: Vec<f64>,
    /// Prefix sums of the samples and of their squares from the current period's start.
    prefix: Vec<(f64, f64)>,
    /// The CPU's vector extensions, detected once.
    arch: pulp::Arch,
}

/// Jitter (local) and shimmer (local, dB) of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct JitterShimmer {
    pub jitter: f32,
    pub shimmer_db: f32,
}

impl JitterAnalyzer {
    pub fn new(g: &Geometry) -> Self {
        let t = 1.0 / g.fs;
        let length_sec = g.l60 as f64 * t;
        Self {
            fs: g.fs,
            hop: g.hop,
            frame_len: (length_sec / t).ceil() as usize,
            step: (0.01 / t).ceil() as usize,
            last_idx: 0,
            last_mis: 0,
            last_t0: 0.0,
            last_jitter: 0.0,
            last_shimmer: 0.0,
            cc: Vec::new(),
            prefix: Vec::new(),
            arch: pulp::Arch::new(),
        }
    }

    /// The earliest absolute sample index the next call may read.
    pub fn oldest_needed(&self, next_frame: usize) -> usize {
        self.last_idx.min((next_frame * self.hop).saturating_sub(self.last_mis))
    }

    /// Analyses frame `k` with gated F0 `f0` (Hz). `signal(a, b)` returns samples `a..b`
    /// (clipped at the end of input).
    pub fn analyze<'s>(&mut self, k: usize, f0: f32, signal: impl Fn(usize, usize) -> &'s [f32]) -> JitterShimmer {
        let t = 1.0 / self.fs;
        let start_vidx = k * self.hop;
        let to_read0 = self.step + self.last_mis;
        let mut to_read = to_read0;
        let (mut t0f, mut t0min, mut t0max) = (0i64, 0i64, 0i64);
        let mut tf = 0.0;
        if f0 > 0.0 {
            tf = (1.0 / f0 as f64) / t;
            t0f = tf.round() as i64;
            t0min = ((1.0 - 0.1) * tf).floor() as i64;
            t0max = ((1.0 + 0.1) * tf).ceil() as i64;
            to_read = to_read.max((2 * t0max + 2) as usize);
        }
        let mut max_read = self.last_mis + self.frame_len;
        to_read = to_read.min(max_read);
        if start_vidx as i64 - self.last_mis as i64 != self.last_idx as i64 {
            // Discontinuity (the first frames after the Viterbi delay): restart at the frame.
            self.last_idx = start_vidx;
            to_read = to_read.min(self.frame_len);
            max_read = max_read.min(self.frame_len);
        }
        let _ = max_read;
        let seg = signal(self.last_idx, self.last_idx + to_read);
        let n = seg.len() as i64;

        let mut out = JitterShimmer::default();
        let mut last_period = 0i64;
        if f0 > 0.0 && t0min > 0 {
            let (mut n_periods, mut n_local) = (0.0f32, 0.0f32);
            let (mut avg_period, mut jitter_sum) = (0.0f32, 0.0f32);
            let (mut avg_amp, mut avg_amp_diff) = (0.0f32, 0.0f32);
            let k_len = (t0max - t0min) as usize;
            self.cc.resize(k_len + 1, 0.0);
            let mut start = 0i64;
            while start < n - 2 * t0max - 1 {
                let s = start as usize;
                // Sums over both halves of every lag come from prefix sums; only the lagged
                // product needs a pass per lag.
                let x = &seg[s..s + 2 * t0max as usize];
                prefix_sums(x, &mut self.prefix);
                let (pre, cc) = (&self.prefix[..], &mut self.cc[..]);
                self.arch.dispatch(LagCorrs { x, first: t0min as usize, pre, cc });
                let mut max_i: i64 = -1;
                let mut max = 0.0;
                for i in 1..(k_len as i64 - 1).max(1) {
                    let iu = i as usize;
                    if self.cc[iu - 1] < self.cc[iu] && self.cc[iu] > self.cc[iu + 1] && (max_i == -1 || self.cc[iu] > max) {
                        max_i = i;
                        max = self.cc[iu];
                    }
                }
                if max_i >= 0 {
                    let pp = t0min + max_i;
                    let os = start as usize;
                    start += pp;
                    let p = pp as usize;
                    let s = start as usize;
                    let (a0, a1) = (peak_to_peak(&seg[os..os + p]), peak_to_peak(&seg[s..s + p]));
                    let ad = (a0 - a1).abs();
                    let m = max_i as usize;
                    let (x, cc_i) = quad_from_3pts((m - 1) as f64, self.cc[m - 1], m as f64, self.cc[m], (m + 1) as f64, self.cc[m + 1]);
                    let period = ((t0min as f64 + x).abs() * t) as f32;
                    if cc_i > 0.5 {
                        avg_period += period;
                        n_periods += 1.0;
                        if self.last_t0 > 0.0 {
                            jitter_sum += (self.last_t0 - period).abs();
                            n_local += 1.0;
                        }
                        self.last_t0 = period;
                        avg_amp += (a0 + a1) / 2.0;
                        avg_amp_diff += ad;
                    }
                } else {
                    start += t0f;
                }
                if start < to_read0 as i64 - 1 {
                    last_period = start;
                }
            }
            self.last_mis = (to_read0 as i64 - last_period).max(0) as usize;

            if n_periods > 0.0 && n_local > 0.0 {
                self.last_jitter = (jitter_sum / n_local) / (avg_period / n_periods);
            }
            if n_periods > 0.0 && n_local > 0.0 || n_periods == 0.0 {
                self.last_jitter = self.last_jitter.min(1.0);
                out.jitter = self.last_jitter;
            }
            if n_periods > 0.0 {
                self.last_shimmer = if avg_amp > 0.0 { avg_amp_diff / avg_amp } else { 0.0 };
            }
            self.last_shimmer = self.last_shimmer.min(1.0);
            out.shimmer_db = (20.0 * ((self.last_shimmer + 1.0) as f64).log10()) as f32;
            let _ = tf;
        } else {
            last_period = to_read0 as i64;
            self.last_mis = 0;
            self.last_t0 = 0.0;
            self.last_jitter = 0.0;
            self.last_shimmer = 0.0;
        }
        self.last_idx += last_period as usize;
        out
    }
}

/// Prefix sums of `x` and of its squares into `out`: `out[i]` = sums over `x[..i]`.
fn prefix_sums(x: &[f32], out: &mut Vec<(f64, f64)>) {
    out.clear();
    out.push((0.0, 0.0));
    let (mut p, mut q) = (0.0f64, 0.0f64);
    for &v in x {
        p += v as f64;
        q += v as f64 * v as f64;
        out.push((p, q));
    }
}

/// Lanes of [`lag_corr`]'s lagged product.
const L: usize = 4;

/// Pearson correlation of `x[..tau]` with `x[tau..2 tau]` from the prefix sums `pre` of `x` and
/// of its squares (`pre[i]` = sums over `x[..i]`): one pass over the lagged product. Equal to
/// [`cross_corr`] up to rounding; NaN when a half is constant.
#[inline(always)]
fn lag_corr(x: &[f32], tau: usize, pre: &[(f64, f64)]) -> f64 {
    let mut sxy = [0.0f64; L];
    lagged_chunks(x, tau, 0, &mut sxy);
    lag_corr_from(x, tau, sxy, pre)
}

/// Adds the lagged products of `L`-sample chunks `from..` of `x[..tau]` into `sxy`, lane by lane.
#[inline(always)]
fn lagged_chunks(x: &[f32], tau: usize, from: usize, sxy: &mut [f64; L]) {
    let (a, b) = (&x[..tau], &x[tau..2 * tau]);
    for (ca, cb) in a.chunks_exact(L).zip(b.chunks_exact(L)).skip(from) {
        for l in 0..L {
            sxy[l] += ca[l] as f64 * cb[l] as f64;
        }
    }
}

/// [`lag_corr`] from its chunks' lane sums `sxy`: the tail, then the correlation.
#[inline(always)]
fn lag_corr_from(x: &[f32], tau: usize, sxy: [f64; L], pre: &[(f64, f64)]) -> f64 {
    let (a, b) = (&x[..tau], &x[tau..2 * tau]);
    let tail = tau - tau % L;
    let sxy = sxy.iter().sum::<f64>() + a[tail..].iter().zip(&b[tail..]).map(|(&u, &v)| u as f64 * v as f64).sum::<f64>();
    let n = tau as f64;
    let (sx, sxx) = (pre[tau].0, pre[tau].1);
    let (sy, syy) = (pre[2 * tau].0 - sx, pre[2 * tau].1 - sxx);
    let vx = sxx - sx * sx / n;
    let vy = syy - sy * sy / n;
    if vx <= 0.0 || vy <= 0.0 {
        return f64::NAN;
    }
    (sxy - sx * sy / n) / (vx.sqrt() * vy.sqrt())
}

/// [`lag_corr`] of the lags `first..first + cc.len()` into `cc`, run by [`pulp::Arch::dispatch`]
/// (compiled for the CPU's vector extensions, everything inlined). Four lags' passes go side by
/// side so that their chains of additions overlap; each lag's sums keep [`lag_corr`]'s order,
/// so the values are the same to the bit.
struct LagCorrs<'a> {
    x: &'a [f32],
    first: usize,
    pre: &'a [(f64, f64)],
    cc: &'a mut [f64],
}

impl pulp::WithSimd for LagCorrs<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { x, first, pre, cc } = self;
        let done = cc.len() - cc.len() % 4;
        let mut groups = cc.chunks_exact_mut(4);
        for (g, out) in (&mut groups).enumerate() {
            let taus: [usize; 4] = std::array::from_fn(|j| first + 4 * g + j);
            // The chunks every lag of the group has; the longer lags' last chunk follows.
            let common = taus[0] / L;
            let mut sxy = [[0.0f64; L]; 4];
            let chunks = |from: usize| &x[from..from + common * L].as_chunks::<L>().0[..common];
            let a = chunks(0);
            let b: [&[[f32; L]]; 4] = std::array::from_fn(|j| chunks(taus[j]));
            for c in 0..common {
                let ca = &a[c];
                for (s, b) in sxy.iter_mut().zip(&b) {
                    let cb = &b[c];
                    for l in 0..L {
                        s[l] += ca[l] as f64 * cb[l] as f64;
                    }
                }
            }
            for ((o, s), &tau) in out.iter_mut().zip(&mut sxy).zip(&taus) {
                lagged_chunks(x, tau, common, s);
                *o = lag_corr_from(x, tau, *s, pre);
            }
        }
        for (i, o) in cc.iter_mut().enumerate().skip(done) {
            *o = lag_corr(x, first + i, pre);
        }
    }
}

/// Pearson correlation of two equally long segments (NaN for a constant segment): the
/// two-pass definition [`lag_corr`] is checked against.
#[cfg(test)]
fn cross_corr(x: &[f32], y: &[f32]) -> f64 {
    let n = x.len().min(y.len());
    let mx = x[..n].iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let my = y[..n].iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let (mut cc, mut nx, mut ny) = (0.0, 0.0, 0.0);
    for (&a, &b) in x[..n].iter().zip(&y[..n]) {
        let (a, b) = (a as f64 - mx, b as f64 - my);
        cc += a * b;
        nx += a * a;
        ny += b * b;
    }
    cc / (nx.sqrt() * ny.sqrt())
}

/// max − min over the interior samples 1..len−2 of one period.
fn peak_to_peak(x: &[f32]) -> f32 {
    if x.len() < 2 {
        return 0.0;
    }
    let (mut mx, mut mn) = (x[1], x[1]);
    for &v in &x[1..x.len() - 1] {
        mx = mx.max(v);
        mn = mn.min(v);
    }
    mx - mn
}

const N_PARTIALS: usize = 100;

/// Harmonic LLDs of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Harmonics {
    pub hnr_db: f32,
    pub h1_h2: f32,
    pub h1_a3: f32,
    /// F1–F3 amplitude relative to the fundamental's bin (−201 when unvoiced).
    pub formant_amp: [f32; 3],
}

#[derive(Clone, Copy, Default)]
struct Partial {
    bin: i64,
    freq_interp: f32,
    mag: f32,
    mag_interp: f32,
    level: f32,
}

/// HNR from the autocorrelation of the 60 ms power spectrum, and harmonic levels.
pub(crate) struct HarmonicsAnalyzer {
    freqs: Vec<f64>,
    /// openSMILE's inverse FFT for the ACF: Ooura's, in single precision.
    rdft: Rdft,
    /// The power spectrum in Ooura's layout, then (in place) the ACF.
    acf_buf: Vec<f32>,
    /// The ACF as openSMILE stores it (f32 values).
    acf: Vec<f64>,
    partials: Vec<Partial>,
    /// [`analyze_batch`](Self::analyze_batch)'s power spectra side by side, then their ACFs.
    lanes: Vec<F32x8>,
    acfb: Vec<Vec<f64>>,
}

/// What an unvoiced frame gets: no HNR or harmonic levels, formant amplitudes at openSMILE's floor.
const UNVOICED: Harmonics = Harmonics { hnr_db: 0.0, h1_h2: 0.0, h1_a3: 0.0, formant_amp: [-201.0; 3] };

/// The f32 power spectrum of the magnitudes `mag` (bins 0..=N) in Ooura's layout, as
/// cHarmonics::computeAcf builds it: `put(j, v)` for every position j of the inverse FFT's input
/// (DC, Nyquist, then re/im pairs with zero imaginary parts).
fn power_spectrum(mag: &[f64], mut put: impl FnMut(usize, f32)) {
    let n = mag.len();
    let sq = |m: f64| (m as f32) * (m as f32);
    put(0, sq(mag[0]));
    put(1, sq(mag[n - 1]));
    for (b, &m) in mag[1..n - 1].iter().enumerate() {
        put(2 + 2 * b, sq(m));
        put(3 + 2 * b, 0.0);
    }
}

impl HarmonicsAnalyzer {
    pub fn new(g: &Geometry) -> Self {
        let n = g.bins60();
        Self {
            freqs: (0..n).map(|k| k as f64 * g.df60).collect(),
            rdft: Rdft::new(g.nfft60),
            acf_buf: vec![0.0; g.nfft60],
            acf: vec![0.0; n],
            partials: vec![Partial::default(); N_PARTIALS],
            lanes: vec![F32x8::default(); g.nfft60],
            acfb: vec![vec![0.0; n]; BATCH],
        }
    }

    /// [`analyze`](Self::analyze) of each `(mag, f0, formants)`, appended to `out` in order:
    /// the voiced frames' inverse FFTs run eight side by side, each lane bit for bit the
    /// single transform, so every result is what `analyze` gives.
    pub fn analyze_batch(&mut self, frames: &[(&[f64], f32, [f64; 3])], out: &mut Vec<Harmonics>) {
        let first = out.len();
        // Unvoiced frames keep this; the voiced ones are filled in below.
        out.extend(frames.iter().map(|_| UNVOICED));
        let voiced: Vec<usize> = (0..frames.len()).filter(|&i| frames[i].1 > 0.0).collect();
        for group in voiced.chunks(BATCH) {
            if group.len() < MIN_BATCH {
                for &i in group {
                    let (mag, f0, formants) = frames[i];
                    out[first + i] = self.analyze(mag, f0, formants);
                }
                continue;
            }
            for (k, &i) in group.iter().enumerate() {
                power_spectrum(frames[i].0, |j, v| self.lanes[j].0[k] = v);
            }
            for v in self.lanes.iter_mut() {
                v.0[group.len()..].fill(0.0);
            }
            self.rdft.inverse(&mut self.lanes);
            for (k, &i) in group.iter().enumerate() {
                let n = frames[i].0.len();
                for (a, v) in self.acfb[k].iter_mut().zip(&self.lanes) {
                    *a = (v.0[k].abs() / n as f32) as f64;
                }
            }
            for (k, &i) in group.iter().enumerate() {
                let (mag, f0, formants) = frames[i];
                let hnr_db = self.hnr_of_acf(&self.acfb[k], f0);
                out[first + i] = self.harmonics(mag, f0, formants, hnr_db);
            }
        }
    }

    /// `mag`: 60 ms Gaussian magnitude spectrum; `f0`: gated F0 in Hz; `formants`: F1–F3 (Hz)
    /// of the 20 ms frame with the same index.
    pub fn analyze(&mut self, mag: &[f64], f0: f32, formants: [f64; 3]) -> Harmonics {
        if f0 <= 0.0 {
            return UNVOICED;
        }
        let hnr_db = self.hnr(mag, f0);
        self.harmonics(mag, f0, formants, hnr_db)
    }

    /// The harmonic levels of a voiced frame, with its HNR.
    fn harmonics(&mut self, mag: &[f64], f0: f32, formants: [f64; 3], hnr_db: f32) -> Harmonics {
        self.find_partials(mag, f0);
        let lr = |i: usize| self.partials[i].level;
        let clamp = |v: f32| v.clamp(-201.0, 201.0);
        let amp_idx: Vec<i64> = formants.iter().map(|&fk| self.formant_partial(fk)).collect();
        let h1_a3 = if amp_idx[2] >= 0 { clamp(lr(1) - lr(amp_idx[2] as usize)) } else { clamp(lr(1) - 201.0) };
        let mut formant_amp = [0.0f32; 3];
        for (a, &i) in formant_amp.iter_mut().zip(&amp_idx) {
            *a = if i >= 0 { lr(i as usize) } else { 0.0 };
        }
        Harmonics { hnr_db, h1_h2: clamp(lr(1) - lr(2)), h1_a3, formant_amp }
    }

    fn hnr(&mut self, mag: &[f64], f0: f32) -> f32 {
        // As cHarmonics::computeAcf: the f32 power spectrum in Ooura's layout (DC, Nyquist,
        // then re/im pairs), Ooura's single-precision inverse rdft, |·| / bins in f32. Any
        // other FFT puts last-bit noise into the ACF, and at 48 kHz that decides near-ties
        // between ACF peaks (and so HNR) on a few frames in a thousand.
        let n = mag.len();
        let buf = &mut self.acf_buf;
        power_spectrum(mag, |j, v| buf[j] = v);
        self.rdft.inverse(buf);
        for (a, &v) in self.acf.iter_mut().zip(buf.iter()) {
            *a = (v.abs() / n as f32) as f64;
        }
        self.hnr_of_acf(&self.acf, f0)
    }

    /// HNR (dB) from the frame's ACF (as openSMILE stores it: f32 values, `n` of them).
    fn hnr_of_acf(&self, acf: &[f64], f0: f32) -> f32 {
        let n = acf.len();
        let fs = self.freqs[n - 1] * 2.0;
        let lag = (fs / f0 as f64).floor() as usize;
        if lag == 0 {
            return 0.0;
        }
        let tau = closest_peak(acf, lag);
        if tau == 0 {
            return 0.0;
        }
        let a = acf;
        // a[0] − a[τ] of two f32 values, in f32 as the C does; the ratio in f64.
        let den = (a[0] as f32 - a[tau] as f32) as f64;
        let h = if den == 0.0 { 1e11 } else { a[tau] / den };
        let db = if h > 1e11 {
            10.0 * 1e11f64.log10()
        } else if h < 1e-9 {
            10.0 * 1e-9f64.log10()
        } else {
            10.0 * h.log10()
        };
        db as f32
    }

    /// Nearest bin to `f` scanning from `start`: the first bin above `f` or the one before it
    /// (0 when no bin lies above `f`). Bins are uniform, so the scan's answer is computed.
    fn freq_to_bin(&self, f: f32, start: usize) -> usize {
        let f = f as f64;
        let n = self.freqs.len();
        let lo = start.max(1);
        let df = self.freqs[1];
        // First index with freqs[b] > f, then respect the scan's starting point.
        let mut b = ((f / df).floor().max(0.0) as usize + 1).min(n);
        while b > 0 && self.freqs[b - 1] > f {
            b -= 1;
        }
        while b < n && self.freqs[b] <= f {
            b += 1;
        }
        let b = b.max(lo);
        if b >= n {
            return 0;
        }
        if self.freqs[b] - f > f - self.freqs[b - 1] { b - 1 } else { b }
    }

    fn find_partials(&mut self, mag: &[f64], f0: f32) {
        let n = mag.len();
        let m = |i: usize| mag[i] as f32;
        let is_peak = |i: i64| -> bool {
            if i < 0 || i as usize >= n {
                return false;
            }
            let i = i as usize;
            if i + 1 < n { if i > 0 { m(i) > m(i - 1) && m(i) > m(i + 1) } else { m(0) > m(1) } } else { i > 0 && m(i) > m(i - 1) }
        };
        let mut last_bin = self.freq_to_bin(0.5 * f0, 1);
        let first_bin = self.freq_to_bin(0.5 * f0, last_bin);
        for i in 0..N_PARTIALS {
            let cand = self.freq_to_bin((i + 1) as f32 * f0, last_bin);
            let mut peak: i64 = -1;
            if is_peak(cand as i64) {
                peak = cand as i64;
            } else {
                let lo = self.freq_to_bin((i as f32 + 0.5) * f0, last_bin) as i64;
                let hi = self.freq_to_bin((i as f32 + 1.5) * f0, cand) as i64;
                let (mut l, mut r) = (cand as i64 - 1, cand as i64 + 1);
                while (l >= lo || r <= hi) && peak == -1 {
                    if r <= hi {
                        if is_peak(r) {
                            peak = r;
                            break;
                        }
                        r += 1;
                    }
                    if l >= lo {
                        if is_peak(l) {
                            peak = l;
                            break;
                        }
                        l -= 1;
                    }
                }
            }
            let p = &mut self.partials[i];
            if peak >= first_bin as i64 && peak < n as i64 - 1 {
                let q = peak as usize;
                let (fi, mi) =
                    quad_from_3pts(self.freqs[q - 1], m(q - 1) as f64, self.freqs[q], m(q) as f64, self.freqs[q + 1], m(q + 1) as f64);
                *p = Partial { bin: peak, freq_interp: fi as f32, mag: m(q), mag_interp: mi as f32, level: -201.0 };
            } else {
                *p = Partial { bin: cand as i64, ..Default::default() };
                p.level = -201.0;
            }
            last_bin = cand;
        }
        // Levels in dB relative to the fundamental's raw bin; duplicate bins are cleared.
        let ref_mag = self.partials[0].mag;
        let have_ref = ref_mag != 0.0;
        let ref_log = if have_ref { ref_mag.log10() } else { 0.0 };
        self.partials[0].level = 0.0;
        for i in 1..N_PARTIALS {
            let level = if have_ref {
                let mi = self.partials[i].mag_interp;
                if mi > 0.0 { ((20.0 * ((mi as f64).log10() - ref_log as f64)) as f32).max(-200.0) } else { -200.0 }
            } else {
                -201.0
            };
            self.partials[i].level = level;
            if self.partials[i].bin == self.partials[i - 1].bin {
                self.partials[i] = Partial { bin: 0, level: -201.0, ..Default::default() };
            }
        }
    }

    /// The partial with the largest raw magnitude within ±20 % of formant frequency `fk`.
    fn formant_partial(&self, fk: f64) -> i64 {
        let lo = 0.8f32 * fk as f32;
        let hi = 1.2f32 * fk as f32;
        let mut best = -1i64;
        let mut best_mag = 0.0f32;
        for (h, p) in self.partials.iter().enumerate() {
            if p.freq_interp >= lo && p.freq_interp <= hi && p.mag > best_mag {
                best = h as i64;
                best_mag = p.mag;
            }
        }
        best
    }
}

fn closest_peak(x: &[f64], idx: usize) -> usize {
    let n = x.len();
    let is_peak = |i: usize| -> bool {
        if i >= n {
            return false;
        }
        if i + 1 < n { if i > 0 { x[i] > x[i - 1] && x[i] > x[i + 1] } else { x[0] > x[1] } } else { i > 0 && x[i] > x[i - 1] }
    };
    if is_peak(idx) {
        return idx;
    }
    let idx_i = idx as i64;
    let mut o = 1i64;
    while idx_i - o > 0 || idx_i + o < n as i64 - 1 {
        if idx_i - o > 0 && is_peak((idx_i - o) as usize) {
            return (idx_i - o) as usize;
        }
        if idx_i + o < n as i64 - 1 && is_peak((idx_i + o) as usize) {
            return (idx_i + o) as usize;
        }
        o += 1;
    }
    let xi = x[idx.min(n - 1)];
    if x[0] > xi && x[n - 1] <= xi {
        0
    } else if x[0] <= xi && x[n - 1] > xi {
        n - 1
    } else if x[0] > xi && x[n - 1] > xi {
        if idx < n / 2 { 0 } else { n - 1 }
    } else {
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_bin_lookup_equals_the_scan() {
        let h = HarmonicsAnalyzer::new(&Geometry::new(16_000));
        let scan = |f: f32, start: usize| -> usize {
            let f = f as f64;
            for b in start.max(1)..h.freqs.len() {
                if h.freqs[b] > f {
                    return if h.freqs[b] - f > f - h.freqs[b - 1] { b - 1 } else { b };
                }
            }
            0
        };
        for f in [0.0f32, 7.8, 15.625, 23.4375, 100.0, 199.99, 1234.5, 7999.9, 8000.0, 9000.0] {
            for start in [0usize, 1, 5, 40, 512, 600] {
                assert_eq!(h.freq_to_bin(f, start), scan(f, start), "f {f} start {start}");
            }
        }
    }

    fn prefix_of(x: &[f32]) -> Vec<(f64, f64)> {
        let mut pre = Vec::new();
        prefix_sums(x, &mut pre);
        pre
    }

    #[test]
    fn correlation_of_identical_periods_is_one() {
        let x: Vec<f32> = (0..50).map(|i| (i as f32 * 0.3).sin()).collect();
        assert!((cross_corr(&x, &x) - 1.0).abs() < 1e-12);
        assert!(cross_corr(&[1.0; 4], &[1.0; 4]).is_nan());
        // The prefix-sum form agrees with the two-pass one.
        let x: Vec<f32> = (0..400).map(|i| ((i as f32) * 0.07).sin() + 0.3 * ((i * 7919 % 97) as f32 / 97.0)).collect();
        let pre = prefix_of(&x);
        for tau in [37usize, 90, 150, 200] {
            let want = cross_corr(&x[..tau], &x[tau..2 * tau]);
            assert!((lag_corr(&x, tau, &pre) - want).abs() < 1e-12, "lag {tau}");
        }
        assert!(
            lag_corr(
                &[0.5; 8],
                4,
                &[(0.0, 0.0), (0.5, 0.25), (1.0, 0.5), (1.5, 0.75), (2.0, 1.0), (2.5, 1.25), (3.0, 1.5), (3.5, 1.75), (4.0, 2.0)]
            )
            .is_nan()
        );
    }

    #[test]
    fn lags_side_by_side_equal_one_lag_at_a_time() {
        let x: Vec<f32> = (0..700).map(|i| ((i as f32) * 0.05).sin() + 0.2 * ((i * 7919 % 89) as f32 / 89.0)).collect();
        let pre = prefix_of(&x);
        // Groups of four, a remainder, lags below one chunk and lags not a multiple of it.
        for (first, count) in [(1usize, 3usize), (2, 9), (37, 12), (90, 19), (301, 46)] {
            let last = first + count - 1;
            let mut cc = vec![0.0; count];
            pulp::Arch::new().dispatch(LagCorrs { x: &x[..2 * last], first, pre: &pre, cc: &mut cc });
            for (i, got) in cc.iter().enumerate() {
                let want = lag_corr(&x[..2 * (first + i)], first + i, &pre);
                assert_eq!(got.to_bits(), want.to_bits(), "lag {}", first + i);
            }
        }
    }

    #[test]
    fn h1_h2_uses_second_and_third_partials() {
        // Spec §4.10: a 200 Hz tone with partials 1, 0.5, 0.1 yields ≈ 14 dB.
        let g = Geometry::new(16_000);
        let mut fft = super::super::dsp::FramedFft::new(super::super::dsp::gaussian(g.l60, 0.4), g.nfft60);
        let frame: Vec<f32> = (0..g.l60)
            .map(|n| {
                let t = n as f64 / 16_000.0;
                let w = 2.0 * std::f64::consts::PI * 200.0 * t;
                (0.3 * (w.sin() + 0.5 * (2.0 * w).sin() + 0.1 * (3.0 * w).sin())) as f32
            })
            .collect();
        fft.run(&frame);
        let mut mag = Vec::new();
        fft.magnitudes(&mut mag);
        let mut ha = HarmonicsAnalyzer::new(&g);
        let h = ha.analyze(&mag, 200.0, [0.0; 3]);
        assert!((h.h1_h2 - 13.98).abs() < 0.2, "H1-H2 {}", h.h1_h2);
        // HNR: clearly harmonic for the tone, clearly not for noise at the same "F0".
        let noise = crate::synth::noise(16_000, 0.06, 0.3, 9);
        fft.run(&noise[..g.l60]);
        let mut nmag = Vec::new();
        fft.magnitudes(&mut nmag);
        let hn = ha.analyze(&nmag, 200.0, [0.0; 3]);
        assert!(h.hnr_db > 10.0 && hn.hnr_db < 3.0, "HNR tone {} noise {}", h.hnr_db, hn.hnr_db);
    }
}
