//! F0: octave-scale spectrum → sub-harmonic summation → six candidates → incremental Viterbi
//! smoothing (egemaps-spec §4.7). The quirks openSMILE's numbers depend on are kept and marked.

use super::dsp::{BATCH, Geometry, quad_from_3pts};

pub(crate) const N_CAND: usize = 6;
const N_STATES: usize = N_CAND + 1;
const UNVOICED: usize = N_CAND;
const VOICING_CUTOFF: f64 = 0.70;
const MIN_PITCH: f32 = 55.0;
const MAX_PITCH: f32 = 1000.0;
const N_HARMONICS: usize = 15;
const COMPRESSION: f32 = 0.85;
/// Frames the Viterbi keeps undecided at most (openSMILE `bufferLength`).
pub(crate) const VITERBI_BUFFER: usize = 40;

/// F0 candidates of one frame (frequency in Hz, voicing 0..1; 0 = empty slot).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Candidates {
    pub freq: [f32; N_CAND],
    pub voicing: [f32; N_CAND],
}

/// Octave-scale spectrum and SHS candidate picking for the 60 ms Gaussian spectrum.
pub(crate) struct ShsAnalyzer {
    /// The natural spline through the linear bins on their log2 frequency axis, with every
    /// quantity that depends on the abscissae alone computed once.
    spline: Spline,
    aud_weight: Vec<f64>,
    shifts: Vec<usize>,
    fmin_t: f32,
    fstep_t: f32,
    // Scratch.
    y: Vec<f64>,
    y2: Vec<f64>,
    u: Vec<f64>,
    z: Vec<f32>,
    ss: Vec<f32>,
    /// Peak bits of [`enhance_peaks`].
    peaks: Vec<u64>,
    /// [`analyze_batch`](Self::analyze_batch)'s frames side by side: y, y″ and the spline's
    /// forward-pass terms per bin, one lane per frame, and each frame's octave spectrum.
    yb: Vec<[f64; BATCH]>,
    y2b: Vec<[f64; BATCH]>,
    ub: Vec<[f64; BATCH]>,
    zb: Vec<Vec<f32>>,
    ssb: Vec<Vec<f32>>,
    /// The CPU's vector extensions, detected once.
    arch: pulp::Arch,
}

impl ShsAnalyzer {
    pub fn new(g: &Geometry) -> Self {
        let k = g.bins60();
        // openSMILE stores the FFT level's frame duration as f32.
        let frame_sec = g.fft_sec60() as f32;
        let df = 1.0 / frame_sec as f64;
        let mut src_x = vec![0.0; k];
        for (i, x) in src_x.iter_mut().enumerate().skip(1) {
            *x = (i as f64 * df).log2();
        }
        src_x[0] = 2.0 * src_x[1] - src_x[2];
        let min_f = 25.0f64;
        let max_f = df * (k - 1) as f64;
        let (fmin_t, fmax_t) = (min_f.log2(), max_f.log2());
        let dstep = (fmax_t - fmin_t) / (k - 1) as f64;
        let target_x: Vec<f64> = (0..k).map(|i| fmin_t + i as f64 * dstep).collect();
        let interval: Vec<usize> = target_x
            .iter()
            .map(|&v| {
                // The first source abscissa ≥ v (they ascend): a binary search, not a scan.
                let first = src_x.partition_point(|&u| u < v);
                let hi = if first < k { first } else { k - 1 }.max(1);
                hi - 1
            })
            .collect();
        let n_oct = (max_f / min_f).ln() / 2f64.ln();
        let ppo = k as f64 / n_oct;
        let s = ppo * (65.0f64 / 50.0).log2() - 1.0;
        let aud_weight = (0..k).map(|i| 0.5 + (3.0 * (i as f64 + 1.0 - s) / ppo).atan() / std::f64::consts::PI).collect();
        // The SHS component reads these from level metadata stored as f32.
        let ppo_f32 = ppo as f32;
        let shifts = (2..=N_HARMONICS).map(|h| (ppo_f32 as f64 * (h as f64).log2()).floor() as usize).collect();
        let fmin_t32 = fmin_t as f32;
        let fmax_t32 = fmax_t as f32;
        Self {
            spline: Spline::new(&src_x, &interval, &target_x),
            aud_weight,
            shifts,
            fmin_t: fmin_t32,
            fstep_t: (fmax_t32 - fmin_t32) / (k - 1) as f32,
            y: vec![0.0; k],
            peaks: Vec::new(),
            y2: vec![0.0; k],
            u: vec![0.0; k],
            z: vec![0.0; k],
            ss: vec![0.0; k],
            yb: vec![[0.0; BATCH]; k],
            y2b: vec![[0.0; BATCH]; k],
            ub: vec![[0.0; BATCH]; k],
            zb: vec![vec![0.0; k]; BATCH],
            ssb: vec![vec![0.0; k]; BATCH],
            arch: pulp::Arch::new(),
        }
    }

    /// Candidates of one frame from its 60 ms magnitude spectrum.
    pub fn analyze(&mut self, mag: &[f64]) -> Candidates {
        // The same scalar arithmetic compiled for the CPU's widest vectors (bit-identical).
        self.arch.dispatch(ShsFrame { shs: self, mag })
    }

    #[inline(always)]
    fn analyze_here(&mut self, mag: &[f64]) -> Candidates {
        let n = mag.len();
        enhanced(mag, &mut self.y, &mut self.peaks);
        self.spline.second_derivatives(&self.y, &mut self.y2, &mut self.u);
        for (i, e) in self.spline.targets.iter().enumerate().take(n) {
            self.z[i] = weighted(e.eval(&self.y, &self.y2), self.aud_weight[i]);
        }
        subharmonic_sum(&self.z, &mut self.ss, &self.shifts);
        self.pick_candidates(&self.ss, mean_of(&self.ss))
    }

    /// [`analyze`](Self::analyze) of up to [`BATCH`] frames at once, appended to `out`: their
    /// splines run side by side (the spline's recurrences are chains of divisions, so eight
    /// independent chains take little longer than one), each frame's arithmetic exactly that of
    /// `analyze`, so the candidates are bit for bit the same.
    pub fn analyze_batch(&mut self, mags: &[&[f64]], out: &mut Vec<Candidates>) {
        assert!(mags.len() <= BATCH, "at most {BATCH} frames per batch");
        self.arch.dispatch(ShsBatch { shs: self, mags, out })
    }

    #[inline(always)]
    fn analyze_batch_here(&mut self, mags: &[&[f64]], out: &mut Vec<Candidates>) {
        let b = mags.len();
        if b == 0 {
            return;
        }
        for (k, mag) in mags.iter().enumerate() {
            enhanced(mag, &mut self.y, &mut self.peaks);
            for (row, &v) in self.yb.iter_mut().zip(&self.y) {
                row[k] = v;
            }
        }
        for row in &mut self.yb {
            row[b..].fill(0.0);
        }
        self.spline.second_derivatives_lanes(&self.yb, &mut self.y2b, &mut self.ub);
        let n = mags.first().map_or(0, |m| m.len());
        for (i, e) in self.spline.targets.iter().enumerate().take(n) {
            let v = e.eval_lanes(&self.yb, &self.y2b);
            // Weighted side by side (a select per lane, no branch), then stored per frame.
            let w = self.aud_weight[i];
            let v: [f32; BATCH] = std::array::from_fn(|k| weighted(v[k], w));
            for (z, &v) in self.zb.iter_mut().zip(&v).take(b) {
                z[i] = v;
            }
        }
        for (z, ss) in self.zb[..b].iter().zip(&mut self.ssb) {
            subharmonic_sum(z, ss, &self.shifts);
        }
        // The frames' means side by side: each a chain of additions in bin order, as in
        // `mean_of`, the chains overlapping.
        // A short batch's missing frames read the first frame (their means are not used).
        let ssb = &self.ssb[..b];
        let lanes: [&[f32]; BATCH] = std::array::from_fn(|k| &ssb[k.min(b - 1)][..n]);
        let mut mean: [f64; BATCH] = std::array::from_fn(|k| lanes[k][0] as f64);
        for i in 1..n - 1 {
            for (m, lane) in mean.iter_mut().zip(&lanes) {
                *m += lane[i] as f64;
            }
        }
        for (m, lane) in mean.iter_mut().zip(&lanes) {
            *m = (*m + lane[n - 1] as f64) / n as f64;
        }
        for (ss, &m) in ssb.iter().zip(&mean) {
            out.push(self.pick_candidates(ss, m));
        }
    }

    /// Candidates from the subharmonic sum `ss`, whose mean is `mean` ([`mean_of`]).
    fn pick_candidates(&self, ss: &[f32], mean: f64) -> Candidates {
        let n = ss.len();
        // Greedy insertion of peaks, best score first (pitchShs.cpp, greedyPeakAlgo).
        let mut idx = [0usize; N_CAND];
        let mut score = [0.0f32; N_CAND];
        let mut n_cand = 0usize;
        // Peaks in bin order, eight bins at a time: which of them are peaks as a bit mask
        // (without a branch per bin, whose direction is a coin toss), then each peak inserted.
        let mut insert = |i: usize| {
            // Full and every score at least this one's (they descend, and a peak's is > 0):
            // no slot takes it, which the search below would find after six comparisons.
            if score[N_CAND - 1] != 0.0 && score[N_CAND - 1] >= ss[i] {
                return;
            }
            if let Some(j) = (0..N_CAND).find(|&j| score[j] == 0.0 || score[j] < ss[i]) {
                for jj in (j + 1..N_CAND).rev() {
                    score[jj] = score[jj - 1];
                    idx[jj] = idx[jj - 1];
                }
                idx[j] = i;
                score[j] = ss[i];
                n_cand = (n_cand + 1).min(N_CAND);
            }
        };
        let is_peak = |w: &[f32]| (w[0] < w[1]) & (w[1] > w[2]);
        let mut i = 1;
        while i + 8 < n {
            let (w, _) = ss[i - 1..].split_first_chunk::<10>().expect("i + 9 <= n");
            let mut mask = 0u32;
            for l in 0..8 {
                mask |= (is_peak(&w[l..l + 3]) as u32) << l;
            }
            while mask != 0 {
                insert(i + mask.trailing_zeros() as usize);
                mask &= mask - 1;
            }
            i += 8;
        }
        for i in i..n - 1 {
            if is_peak(&ss[i - 1..=i + 1]) {
                insert(i);
            }
        }
        let mut c = Candidates::default();
        let mut scores = [0.0f32; N_CAND];
        for s in 0..n_cand {
            let j = idx[s];
            let jf = j as f32;
            let x1 = (jf * self.fstep_t + self.fmin_t) as f64;
            let x2 = ((jf + 1.0) * self.fstep_t + self.fmin_t) as f64;
            let x0 = ((jf - 1.0) * self.fstep_t + self.fmin_t) as f64;
            let (fx, sc) = quad_from_3pts(x0, ss[j - 1] as f64, x1, ss[j] as f64, x2, ss[j + 1] as f64);
            c.freq[s] = (fx * 2f64.ln()).exp() as f32;
            scores[s] = sc as f32;
            c.voicing[s] = if sc > 0.0 && sc > mean { (1.0 - mean / sc) as f32 } else { 0.0 };
        }
        // Remove out-of-range candidates (pitchBase.cpp, including its slot bookkeeping).
        let mut n_left = n_cand as i64;
        let mut i = 0i64;
        while (i as usize) < N_CAND && n_left > 0 {
            let iu = i as usize;
            if c.freq[iu] > MAX_PITCH || c.freq[iu] < MIN_PITCH {
                let orig = c.freq[iu];
                for j in iu + 1..N_CAND {
                    c.freq[j - 1] = c.freq[j];
                    c.voicing[j - 1] = c.voicing[j];
                    scores[j - 1] = scores[j];
                }
                c.freq[N_CAND - 1] = 0.0;
                c.voicing[N_CAND - 1] = 0.0;
                scores[N_CAND - 1] = 0.0;
                if orig > 0.0 {
                    n_left -= 1;
                    i -= 1;
                }
            }
            i += 1;
        }
        // Best score to slot 0.
        let mut best = 0;
        for s in 1..N_CAND {
            if scores[s] > scores[best] {
                best = s;
            }
        }
        if best > 0 {
            c.freq.swap(0, best);
            c.voicing.swap(0, best);
        }
        c
    }
}

/// One frame's SHS analysis, run by [`pulp::Arch::dispatch`] (everything it calls inlined).
struct ShsFrame<'a> {
    shs: &'a mut ShsAnalyzer,
    mag: &'a [f64],
}

impl pulp::WithSimd for ShsFrame<'_> {
    type Output = Candidates;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Candidates {
        self.shs.analyze_here(self.mag)
    }
}

/// A batch's SHS analysis, run by [`pulp::Arch::dispatch`] (everything it calls inlined).
struct ShsBatch<'a, 'b> {
    shs: &'a mut ShsAnalyzer,
    mags: &'a [&'b [f64]],
    out: &'a mut Vec<Candidates>,
}

impl pulp::WithSimd for ShsBatch<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        self.shs.analyze_batch_here(self.mags, self.out)
    }
}

/// The magnitudes as openSMILE's SHS reads them (f32 values), peaks enhanced and smoothed, into `y`.
#[inline(always)]
fn enhanced(mag: &[f64], y: &mut [f64], peaks: &mut Vec<u64>) {
    for (y, &m) in y.iter_mut().zip(mag) {
        *y = m as f32 as f64;
    }
    enhance_peaks(y, peaks);
    smooth(y);
}

/// One octave-scale bin: the spline's value (in f32) weighted by the auditory weight, or 0 where
/// the spline dips to or below zero.
#[inline(always)]
fn weighted(spline: f64, aud_weight: f64) -> f32 {
    let v = spline as f32;
    if v > 0.0 { (v as f64 * aud_weight) as f32 } else { 0.0 }
}

/// The mean of a subharmonic sum, added up in bin order.
#[inline(always)]
fn mean_of(ss: &[f32]) -> f64 {
    let n = ss.len();
    let mut mean = ss[0] as f64;
    for &v in &ss[1..n - 1] {
        mean += v as f64;
    }
    (mean + ss[n - 1] as f64) / n as f64
}

/// The subharmonic sum of the octave spectrum `z` into `ss`: harmonics compressed by
/// COMPRESSION each, averaged, negative sums cleared.
#[inline(always)]
fn subharmonic_sum(z: &[f32], ss: &mut [f32], shifts: &[usize]) {
    let n = z.len();
    ss.copy_from_slice(z);
    let mut scale = COMPRESSION;
    for &shift in shifts {
        for j in shift..n {
            ss[j - shift] += z[j] * scale;
        }
        scale *= COMPRESSION;
    }
    for v in ss.iter_mut() {
        *v /= N_HARMONICS as f32;
        if *v < 0.0 {
            *v = 0.0;
        }
    }
}

/// Zeroes the valleys between spectral peaks (smileDsp_specEnhanceSHS, incl. its one-peak QUIRK).
/// openSMILE lists the peaks, then clears bins p + 3 ..= q − 3 between consecutive peaks p < q.
/// Those are exactly the bins between the first and the last peak with no peak within two bins,
/// so here the peaks are a bit set (`bits`, one bit per bin, found 64 bins at a time without a
/// branch or a store per bin) and the cleared bins its complement, widened by two each way.
#[inline(always)]
fn enhance_peaks(a: &mut [f64], bits: &mut Vec<u64>) {
    let n = a.len();
    if n < 2 {
        return;
    }
    let words = n.div_ceil(64);
    bits.clear();
    bits.resize(words, 0);
    // Interior bins: above the left neighbour and not below the right one.
    for (w, word) in bits.iter_mut().enumerate() {
        let lo = (w * 64).max(1);
        let hi = (w * 64 + 64).min(n - 1);
        let mut m = 0u64;
        for i in lo..hi {
            m |= (((a[i] > a[i - 1]) & (a[i] >= a[i + 1])) as u64) << (i - w * 64);
        }
        *word = m;
    }
    // Bin 0 is a peak when it is above bin 1, the last bin when it is above the one before.
    bits[0] |= (a[0] > a[1]) as u64;
    bits[(n - 1) / 64] |= ((a[n - 1] > a[n - 2]) as u64) << ((n - 1) % 64);
    let count: u32 = bits.iter().map(|w| w.count_ones()).sum();
    if count == 1 {
        // openSMILE reads the (zeroed) second slot here: everything from bin 3 up is cleared.
        for v in a.iter_mut().skip(3) {
            *v = 0.0;
        }
        return;
    }
    if count == 0 {
        return;
    }
    let first = bits.iter().position(|&w| w != 0).map_or(0, |w| w * 64 + bits[w].trailing_zeros() as usize);
    let last = bits.iter().rposition(|&w| w != 0).map_or(0, |w| w * 64 + 63 - bits[w].leading_zeros() as usize);
    // Bins within two of a peak, word by word (the shifts carry across word boundaries).
    let near = |w: usize| {
        let (here, prev, next) = (bits[w], if w > 0 { bits[w - 1] } else { 0 }, bits.get(w + 1).copied().unwrap_or(0));
        here | here << 1 | here << 2 | here >> 1 | here >> 2 | prev >> 63 | prev >> 62 | next << 63 | next << 62
    };
    for w in first / 64..=last / 64 {
        let keep = near(w);
        let (lo, hi) = ((w * 64).max(first + 1), (w * 64 + 64).min(last));
        for (i, v) in a.iter_mut().enumerate().take(hi).skip(lo) {
            if (keep >> (i - w * 64)) & 1 == 0 {
                *v = 0.0;
            }
        }
    }
}

/// openSMILE's peak list and valley clearing as written ([`enhance_peaks`] must equal it).
#[cfg(test)]
fn enhance_peaks_by_list(a: &mut [f64]) {
    let n = a.len();
    if n < 2 {
        return;
    }
    let mut peaks = Vec::new();
    if a[0] > a[1] {
        peaks.push(0);
    }
    for i in 1..n - 1 {
        if a[i] > a[i - 1] && a[i] >= a[i + 1] {
            peaks.push(i);
        }
    }
    if a[n - 1] > a[n - 2] {
        peaks.push(n - 1);
    }
    if peaks.len() == 1 {
        for v in a.iter_mut().skip(3) {
            *v = 0.0;
        }
    } else {
        for w in peaks.windows(2) {
            let (lo, hi) = (w[0] + 3, w[1].saturating_sub(2));
            if lo < hi {
                a[lo..hi].fill(0.0);
            }
        }
    }
}

/// (a[i-1] + 2a[i] + a[i+1]) / 4 with a[-1] = 0, the last bin unchanged.
#[inline(always)]
fn smooth(a: &mut [f64]) {
    let mut prev = 0.0;
    for i in 0..a.len().saturating_sub(1) {
        let ai = a[i];
        a[i] = (prev + 2.0 * ai + a[i + 1]) / 4.0;
        prev = ai;
    }
}

/// A natural cubic spline on fixed abscissae, evaluated at fixed targets. Everything that
/// depends on the abscissae alone is computed once; the per-frame arithmetic is exactly that of
/// [`natural_spline`] and [`spline_eval`] (same operations in the same order), so results are
/// bit-identical to them.
struct Spline {
    /// Per interior point i: sig, p = sig·c[i−1] + 2, and c = (sig − 1)/p (the forward pass's
    /// y2 before back-substitution), and x[i+1] − x[i−1].
    sig: Vec<f64>,
    p: Vec<f64>,
    c: Vec<f64>,
    span: Vec<f64>,
    /// x[i+1] − x[i].
    dx: Vec<f64>,
    targets: Vec<SplineTarget>,
}

/// One evaluation point: interval `lo..lo+1`, weights a, b, a³ − a, b³ − b and h².
struct SplineTarget {
    lo: usize,
    a: f64,
    b: f64,
    ca: f64,
    cb: f64,
    h2: f64,
}

impl SplineTarget {
    #[inline(always)]
    fn eval(&self, y: &[f64], y2: &[f64]) -> f64 {
        let (lo, hi) = (self.lo, self.lo + 1);
        self.a * y[lo] + self.b * y[hi] + (self.ca * y2[lo] + self.cb * y2[hi]) * self.h2 / 6.0
    }

    /// [`eval`](Self::eval) of every lane, each with `eval`'s arithmetic.
    #[inline(always)]
    fn eval_lanes(&self, y: &[[f64; BATCH]], y2: &[[f64; BATCH]]) -> [f64; BATCH] {
        let (lo, hi) = (self.lo, self.lo + 1);
        let (ylo, yhi, y2lo, y2hi) = (&y[lo], &y[hi], &y2[lo], &y2[hi]);
        std::array::from_fn(|k| self.a * ylo[k] + self.b * yhi[k] + (self.ca * y2lo[k] + self.cb * y2hi[k]) * self.h2 / 6.0)
    }
}

impl Spline {
    fn new(x: &[f64], interval: &[usize], targets: &[f64]) -> Self {
        let n = x.len();
        let (mut sig, mut p, mut c, mut span) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for i in 1..n - 1 {
            sig[i] = (x[i] - x[i - 1]) / (x[i + 1] - x[i - 1]);
            p[i] = sig[i] * c[i - 1] + 2.0;
            c[i] = (sig[i] - 1.0) / p[i];
            span[i] = x[i + 1] - x[i - 1];
        }
        let dx = (0..n).map(|i| if i + 1 < n { x[i + 1] - x[i] } else { 0.0 }).collect();
        let targets = interval
            .iter()
            .zip(targets)
            .map(|(&j, &v)| {
                let h = x[j + 1] - x[j];
                let a = (x[j + 1] - v) / h;
                let b = (v - x[j]) / h;
                SplineTarget { lo: j, a, b, ca: a * a * a - a, cb: b * b * b - b, h2: h * h }
            })
            .collect();
        Self { sig, p, c, span, dx, targets }
    }

    /// Second derivatives of the natural spline through the abscissae and `y`.
    #[inline(always)]
    fn second_derivatives(&self, y: &[f64], y2: &mut [f64], u: &mut [f64]) {
        let n = y.len();
        y2[0] = 0.0;
        u[0] = 0.0;
        // Each slope (y[i+1] − y[i]) / dx[i] serves two points: computed once, the same value.
        let mut left = (y[1] - y[0]) / self.dx[0];
        for i in 1..n - 1 {
            y2[i] = self.c[i];
            let right = (y[i + 1] - y[i]) / self.dx[i];
            let d = right - left;
            u[i] = (6.0 * d / self.span[i] - self.sig[i] * u[i - 1]) / self.p[i];
            left = right;
        }
        y2[n - 1] = 0.0;
        for k in (0..n - 1).rev() {
            y2[k] = y2[k] * y2[k + 1] + u[k];
        }
    }

    /// [`second_derivatives`](Self::second_derivatives) of every lane (one frame each), each
    /// with its arithmetic in its order.
    #[inline(always)]
    fn second_derivatives_lanes(&self, y: &[[f64; BATCH]], y2: &mut [[f64; BATCH]], u: &mut [[f64; BATCH]]) {
        let n = y.len();
        y2[0] = [0.0; BATCH];
        u[0] = [0.0; BATCH];
        let dx0 = self.dx[0];
        let mut left: [f64; BATCH] = std::array::from_fn(|k| (y[1][k] - y[0][k]) / dx0);
        for i in 1..n - 1 {
            y2[i] = [self.c[i]; BATCH];
            let (dx, span, sig, p) = (self.dx[i], self.span[i], self.sig[i], self.p[i]);
            let (here, next, prev) = (&y[i], &y[i + 1], u[i - 1]);
            let right: [f64; BATCH] = std::array::from_fn(|k| (next[k] - here[k]) / dx);
            u[i] = std::array::from_fn(|k| (6.0 * (right[k] - left[k]) / span - sig * prev[k]) / p);
            left = right;
        }
        y2[n - 1] = [0.0; BATCH];
        for k in (0..n - 1).rev() {
            let next = y2[k + 1];
            let (y2k, uk) = (&mut y2[k], &u[k]);
            *y2k = std::array::from_fn(|l| y2k[l] * next[l] + uk[l]);
        }
    }
}

/// Second derivatives of the natural cubic spline through (x, y): the textbook form that
/// [`Spline`] must reproduce bit for bit.
#[cfg(test)]
fn natural_spline(x: &[f64], y: &[f64], y2: &mut [f64], u: &mut [f64]) {
    let n = x.len();
    y2[0] = 0.0;
    u[0] = 0.0;
    for i in 1..n - 1 {
        let sig = (x[i] - x[i - 1]) / (x[i + 1] - x[i - 1]);
        let p = sig * y2[i - 1] + 2.0;
        y2[i] = (sig - 1.0) / p;
        let d = (y[i + 1] - y[i]) / (x[i + 1] - x[i]) - (y[i] - y[i - 1]) / (x[i] - x[i - 1]);
        u[i] = (6.0 * d / (x[i + 1] - x[i - 1]) - sig * u[i - 1]) / p;
    }
    y2[n - 1] = 0.0;
    for k in (0..n - 1).rev() {
        y2[k] = y2[k] * y2[k + 1] + u[k];
    }
}

#[cfg(test)]
fn spline_eval(x: &[f64], y: &[f64], y2: &[f64], j: usize, v: f64) -> f64 {
    let (lo, hi) = (j, j + 1);
    let h = x[hi] - x[lo];
    let a = (x[hi] - v) / h;
    let b = (v - x[lo]) / h;
    a * y[lo] + b * y[hi] + ((a * a * a - a) * y2[lo] + (b * b * b - b) * y2[hi]) * (h * h) / 6.0
}

/// Frequency-range penalty of the Viterbi local cost.
fn range_weight(f: f32) -> f64 {
    let f = f as f64;
    if f > 0.0 && f < 100.0 {
        -(1.0 / 100.0) * f + 1.0
    } else if (100.0..350.0).contains(&f) {
        0.0
    } else if (350.0..600.0).contains(&f) {
        (f - 350.0) / 250.0
    } else if f >= 600.0 {
        1.2
    } else {
        2.0
    }
}

const W_LOCAL: f64 = 2.0;
const W_TVV: f64 = 10.0;
/// QUIRK: openSMILE's weight setter copies wTvv into wTvvd (configured 5).
const W_TVVD: f64 = W_TVV;
const W_TVUV: f64 = 10.0;
const W_THR: f64 = 4.0;
const W_RANGE: f64 = 1.0;

/// Incremental Viterbi over the candidate lattice with openSMILE's lagged decisions
/// (pitchSmootherViterbi.cpp). Decided frames come out in order, as F0 in Hz (0 = unvoiced).
pub(crate) struct PitchViterbi {
    frames: std::collections::VecDeque<Candidates>,
    /// Index of the first frame still in `frames`.
    first_frame: usize,
    path_cost: [f64; N_STATES],
    /// Survivor state sequence of each state, ring buffers of VITERBI_BUFFER entries.
    paths: [[u8; VITERBI_BUFFER]; N_STATES],
    path_idx: usize,
    /// Last decided frame + 1 (openSMILE's convIdx + 1).
    decided: usize,
    best: std::collections::VecDeque<u8>,
    /// The previous frame's candidates (transition costs compare against them).
    prev: Option<Candidates>,
    /// QUIRK: one global "last change" shared by all path evaluations.
    last_change: f64,
}

impl Default for PitchViterbi {
    fn default() -> Self {
        Self {
            frames: Default::default(),
            first_frame: 0,
            path_cost: [0.0; N_STATES],
            paths: [[0; VITERBI_BUFFER]; N_STATES],
            path_idx: 0,
            decided: 0,
            best: Default::default(),
            prev: None,
            last_change: 1.0,
        }
    }
}

impl PitchViterbi {
    fn local_cost(s: usize, c: &Candidates) -> f64 {
        if s < N_CAND {
            let pv = (c.voicing[s] as f64).clamp(0.01, 1.0);
            let thr = if pv < VOICING_CUTOFF { W_THR } else { 0.0 };
            (-pv.ln() + thr) * W_LOCAL + range_weight(c.freq[s]) * W_RANGE
        } else if c.voicing.iter().any(|&v| v as f64 >= VOICING_CUTOFF) {
            W_LOCAL * W_THR
        } else {
            0.0
        }
    }

    fn transition(&mut self, cur: usize, prev: usize, a: &Candidates, b: &Candidates) -> f64 {
        if cur < N_CAND && prev < N_CAND {
            let f0 = a.freq[prev];
            let f1 = b.freq[cur];
            if f0 == 0.0 || f1 == 0.0 {
                return 999.0;
            }
            let r = ((f1 / f0) as f64).ln();
            let x = W_TVV * r.abs() + W_TVVD * (r - self.last_change).abs();
            self.last_change = r;
            x
        } else if cur == UNVOICED && prev == UNVOICED {
            // QUIRK: the intended wTuu branch is unreachable in openSMILE.
            1.0
        } else {
            self.last_change = 0.0;
            W_TVUV
        }
    }

    /// Adds one frame; returns how many frames are now decided in total.
    pub fn push(&mut self, c: Candidates) -> usize {
        let t = self.path_idx;
        if t == 0 {
            for s in 0..N_STATES {
                self.path_cost[s] = Self::local_cost(s, &c);
                self.paths[s][0] = s as u8;
            }
        } else {
            let prev = self.prev.unwrap_or(c);
            let mut new_cost = [0.0; N_STATES];
            let mut new_paths = self.paths;
            for i in 0..N_STATES {
                let mut min_state = 0;
                let mut min_cost = self.transition(i, 0, &prev, &c) + self.path_cost[0];
                for j in 1..N_STATES {
                    let v = self.transition(i, j, &prev, &c) + self.path_cost[j];
                    if v < min_cost {
                        min_cost = v;
                        min_state = j;
                    }
                }
                new_cost[i] = min_cost + Self::local_cost(i, &c);
                new_paths[i] = self.paths[min_state];
                new_paths[i][t % VITERBI_BUFFER] = i as u8;
            }
            self.path_cost = new_cost;
            self.paths = new_paths;
        }
        self.frames.push_back(c);
        self.prev = Some(c);
        self.path_idx += 1;
        if self.path_idx - self.decided >= VITERBI_BUFFER {
            // Forced decision (openSMILE: pathIdx - convIdx > buflen) from the cheapest survivor;
            // once the lag reaches the buffer it stays there.
            let s = self.cheapest();
            self.best.push_back(self.paths[s][self.decided % VITERBI_BUFFER]);
            self.decided += 1;
        } else {
            while self.decided < self.path_idx {
                let n = self.decided % VITERBI_BUFFER;
                let x = self.paths[0][n];
                if (1..N_STATES).all(|s| self.paths[s][n] == x) {
                    self.best.push_back(x);
                    self.decided += 1;
                } else {
                    break;
                }
            }
        }
        self.decided
    }

    fn cheapest(&self) -> usize {
        let mut m = 0;
        for s in 1..N_STATES {
            if self.path_cost[s] < self.path_cost[m] {
                m = s;
            }
        }
        m
    }

    /// End of input: decides every remaining frame from the cheapest survivor. Returns R, the
    /// number of frames that were still undecided (spec §4.7.3).
    pub fn flush(&mut self) -> usize {
        let r = self.path_idx - self.decided;
        let s = self.cheapest();
        while self.decided < self.path_idx {
            self.best.push_back(self.paths[s][self.decided % VITERBI_BUFFER]);
            self.decided += 1;
        }
        r
    }

    /// Pops the next decided frame as (frame index, F0 in Hz, its candidates).
    pub fn pop_decided(&mut self) -> Option<(usize, f32)> {
        let state = self.best.pop_front()? as usize;
        let c = self.frames.pop_front()?;
        let idx = self.first_frame;
        self.first_frame += 1;
        let f0 = if state < N_CAND { c.freq[state] } else { 0.0 };
        Some((idx, f0))
    }

    /// Frames pushed so far.
    pub fn frames_seen(&self) -> usize {
        self.path_idx
    }
}

/// openSMILE's semitone conversion (F0finalLog, computed in f32).
pub(crate) fn semitones(f0: f32) -> f32 {
    if f0 > 29.136 {
        12.0f32 * (f0 / 27.5f32).ln() / 2f32.ln()
    } else if f0 > 0.0 {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shs_shifts_match_appendix_a() {
        let a = ShsAnalyzer::new(&Geometry::new(16_000));
        assert_eq!(a.shifts, vec![61, 97, 123, 143, 159, 173, 184, 195, 204, 213, 220, 228, 234, 240]);
    }

    #[test]
    fn one_peak_quirk_clears_from_bin_three() {
        let mut a = vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        enhance_peaks(&mut a, &mut Vec::new());
        assert_eq!(a, vec![0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn peak_buffer_reused_across_frames_gives_a_fresh_buffers_result() {
        // Peaks at 2 and 9 (the valley 5..=6 cleared), then a frame whose bin 0 is a peak: the
        // stale first slot of the reused buffer must not leak into it.
        let first = [0.0, 1.0, 5.0, 4.0, 3.0, 2.0, 1.0, 1.5, 2.0, 6.0, 1.0, 0.5];
        let second = [9.0, 1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.2, 0.3, 4.0, 1.0, 0.5];
        let mut reused = Vec::new();
        let mut a = first;
        enhance_peaks(&mut a, &mut reused);
        assert_eq!(a, [0.0, 1.0, 5.0, 4.0, 3.0, 0.0, 0.0, 1.5, 2.0, 6.0, 1.0, 0.5]);
        let (mut b, mut fresh) = (second, second);
        enhance_peaks(&mut b, &mut reused);
        enhance_peaks(&mut fresh, &mut Vec::new());
        assert_eq!(b, fresh);
        // Peaks at 0 and 9: bins 3..=6 cleared.
        assert_eq!(b, [9.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.2, 0.3, 4.0, 1.0, 0.5]);
    }

    proptest::proptest! {
        /// The bit-set valley clearing equals openSMILE's peak list, plateaus, one-peak and
        /// no-peak spectra and word boundaries (lengths around multiples of 64) included.
        #[test]
        fn valleys_by_bit_set_equal_opensmiles_peak_list(
            v in proptest::collection::vec(0u8..6, 0..300),
            reused in proptest::collection::vec(proptest::num::u64::ANY, 0..8),
        ) {
            let a: Vec<f64> = v.iter().map(|&x| x as f64 * 0.5).collect();
            let (mut by_bits, mut by_list) = (a.clone(), a);
            enhance_peaks(&mut by_bits, &mut reused.clone());
            enhance_peaks_by_list(&mut by_list);
            proptest::prop_assert_eq!(by_bits, by_list);
        }
    }

    #[test]
    fn valleys_across_a_word_boundary() {
        // Peaks at 10, 64 and 130 (bins 61..=63, 65..=66 and 127..=129 stay near them).
        let mut a: Vec<f64> = (0..140).map(|i| 1.0 + [10, 64, 130].contains(&i) as u8 as f64).collect();
        a[0] = 0.5;
        let mut want = a.clone();
        enhance_peaks_by_list(&mut want);
        enhance_peaks(&mut a, &mut Vec::new());
        assert_eq!(a, want);
        assert!(a[13..62].iter().all(|&v| v == 0.0) && a[62..67].iter().all(|&v| v > 0.0) && a[67..128].iter().all(|&v| v == 0.0));
    }

    /// The precomputed spline repeats the textbook arithmetic bit for bit on the real axis.
    #[test]
    fn precomputed_spline_is_bit_identical() {
        for rate in [8_000u32, 11_025, 16_000, 44_100] {
            let a = ShsAnalyzer::new(&Geometry::new(rate));
            let k = a.y.len();
            // The source axis: log2 of each bin's frequency, bin 0 extrapolated (as in `new`).
            let df = 1.0 / (Geometry::new(rate).fft_sec60() as f32 as f64);
            let mut x: Vec<f64> = (0..k).map(|i| (i as f64 * df).log2()).collect();
            x[0] = 2.0 * x[1] - x[2];
            let y: Vec<f64> = (0..k).map(|i| ((i * 7919) % 101) as f64 * 0.013 + (i as f64 * 0.05).sin()).collect();
            let (mut y2a, mut ua, mut y2b, mut ub) = (vec![0.0; k], vec![0.0; k], vec![0.0; k], vec![0.0; k]);
            natural_spline(&x, &y, &mut y2a, &mut ua);
            a.spline.second_derivatives(&y, &mut y2b, &mut ub);
            assert_eq!(y2a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), y2b.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            // Evaluations against the textbook formula at the analyser's own targets.
            let fmin = 25f64.log2();
            let fmax = (df * (k - 1) as f64).log2();
            for (i, t) in a.spline.targets.iter().enumerate() {
                let v = fmin + i as f64 * ((fmax - fmin) / (k - 1) as f64);
                assert_eq!(t.eval(&y, &y2b).to_bits(), spline_eval(&x, &y, &y2b, t.lo, v).to_bits(), "{rate} Hz target {i}");
            }
        }
    }

    #[test]
    fn spline_interpolates_cubic_interior_exactly_at_knots() {
        let x: Vec<f64> = (0..10).map(|i| i as f64 * 0.5).collect();
        let y: Vec<f64> = x.iter().map(|v| v.sin()).collect();
        let (mut y2, mut u) = (vec![0.0; 10], vec![0.0; 10]);
        natural_spline(&x, &y, &mut y2, &mut u);
        for j in 0..9 {
            assert!((spline_eval(&x, &y, &y2, j, x[j]) - y[j]).abs() < 1e-12);
        }
        assert!((spline_eval(&x, &y, &y2, 4, 2.25) - 2.25f64.sin()).abs() < 2e-3);
    }

    #[test]
    fn steady_200hz_tone_gives_biased_shs_peak() {
        // Spec §7.9: a steady 200 Hz tone comes out at 34.375 semitones (true 34.350).
        let g = Geometry::new(16_000);
        let mut fft = super::super::dsp::FramedFft::new(super::super::dsp::gaussian(g.l60, 0.4), g.nfft60);
        let frame: Vec<f32> = (0..g.l60).map(|n| (0.5 * (2.0 * std::f64::consts::PI * 200.0 * n as f64 / 16_000.0).sin()) as f32).collect();
        fft.run(&frame);
        let mut mag = Vec::new();
        fft.magnitudes(&mut mag);
        let c = ShsAnalyzer::new(&g).analyze(&mag);
        let st = semitones(c.freq[0]);
        assert!((st - 34.375).abs() < 0.01, "F0 {} Hz = {st} st", c.freq[0]);
        assert!(c.voicing[0] > 0.7);
    }

    /// A batch's candidates are each frame's own, bit for bit, whatever the batch size: voiced
    /// frames (harmonic tones at different F0s, with noise) and noise alone, at 8, 16 and 44.1 kHz.
    #[test]
    fn batched_candidates_equal_single_frame_candidates() {
        for rate in [8_000u32, 16_000, 44_100] {
            let g = Geometry::new(rate);
            let mut fft = super::super::dsp::OouraFramedFft::new(super::super::dsp::gaussian(g.l60, 0.4), g.nfft60);
            let mut noise = 1u64;
            let mags: Vec<Vec<f64>> = (0..11)
                .map(|k| {
                    let f0 = 90.0 + 37.0 * k as f64;
                    let voiced = k % 4 != 3;
                    let frame: Vec<f32> = (0..g.l60)
                        .map(|n| {
                            noise = noise.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                            let e = ((noise >> 40) as f64 / 16_777_216.0 - 0.5) * 0.05;
                            let t = n as f64 / rate as f64;
                            let h: f64 = (1..6).map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64).sum();
                            ((if voiced { 0.3 * h } else { 0.0 }) + e) as f32
                        })
                        .collect();
                    fft.run(&frame);
                    let mut mag = Vec::new();
                    fft.magnitudes(&mut mag);
                    mag
                })
                .collect();
            let mut one = ShsAnalyzer::new(&g);
            let single: Vec<Candidates> = mags.iter().map(|m| one.analyze(m)).collect();
            assert!(single.iter().filter(|c| c.voicing[0] > 0.5).count() >= 6, "{rate} Hz: the tones are voiced");
            for size in [1, 3, 8] {
                let mut batched = ShsAnalyzer::new(&g);
                let mut got = Vec::new();
                for chunk in mags.chunks(size) {
                    let views: Vec<&[f64]> = chunk.iter().map(Vec::as_slice).collect();
                    batched.analyze_batch(&views, &mut got);
                }
                assert_eq!(got, single, "{rate} Hz, batches of {size}");
            }
        }
    }
}
