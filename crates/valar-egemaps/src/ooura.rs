//! Takuya Ooura's split-radix real FFT (`rdft` of fftsg.c, forward direction) in single
//! precision, with the original's order of operations.
//!
//! openSMILE runs this FFT in f32 ahead of its formant resampler, and LPC roots amplify
//! last-bit differences in that spectrum (egemaps-spec §8.2): with any other FFT, 1–8 % of the
//! formant functionals of real speech land outside tolerance. The formant path therefore sees
//! exactly the spectrum openSMILE sees. The butterflies below follow fftsg.c line by line
//! (split-radix, decimation in frequency); the bit reversal is a plain permutation and is
//! written anew. Ooura's licence: "You may use, copy, modify and distribute this code for any
//! purpose (include commercial use) and without fee" (Copyright Takuya Ooura, 1996–2001,
//! <http://www.kurims.kyoto-u.ac.jp/~ooura/fft.html>).

use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// What the butterflies compute with: one f32, or [`F32x8`], eight independent transforms
/// side by side. Every operation is lane-wise IEEE single precision, so each lane rounds
/// exactly as the scalar transform does.
pub(crate) trait Lane:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Neg<Output = Self> + AddAssign + SubAssign
{
    /// The same value in every lane.
    fn splat(v: f32) -> Self;
}

impl Lane for f32 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
}

/// Eight frames' values at one position of their buffers: [`Rdft::forward`] on a buffer of
/// these transforms eight frames at once (the compiler turns each operation into vector
/// instructions), lane `k` bit for bit what the scalar transform gives frame `k`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(align(32))]
pub(crate) struct F32x8(pub [f32; 8]);

macro_rules! lanewise {
    ($trait:ident, $f:ident, $op:tt, $assign:ident, $fa:ident) => {
        impl $trait for F32x8 {
            type Output = Self;
            #[inline(always)]
            fn $f(self, o: Self) -> Self {
                F32x8(std::array::from_fn(|i| self.0[i] $op o.0[i]))
            }
        }
        impl $assign for F32x8 {
            #[inline(always)]
            fn $fa(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
    };
}
lanewise!(Add, add, +, AddAssign, add_assign);
lanewise!(Sub, sub, -, SubAssign, sub_assign);

impl Mul for F32x8 {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F32x8(std::array::from_fn(|i| self.0[i] * o.0[i]))
    }
}

impl Neg for F32x8 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        F32x8(self.0.map(|v| -v))
    }
}

impl Lane for F32x8 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        F32x8([v; 8])
    }
}

/// A planned forward real FFT of a power-of-two length.
pub(crate) struct Rdft {
    n: usize,
    /// Twiddle table of the complex FFT (Ooura's `w[0..nw]`).
    w: Vec<f32>,
    /// Table of the real-to-complex post-processing (Ooura's `w[nw..nw + nc]`).
    c: Vec<f32>,
    /// Complex-element bit-reversal pairs (i, j) with i < j.
    swaps: Vec<(usize, usize)>,
}

impl Rdft {
    /// `n` must be a power of two ≥ 4.
    pub fn new(n: usize) -> Self {
        assert!(n >= 4 && n.is_power_of_two(), "Ooura's rdft needs a power of two ≥ 4, got {n}");
        let w = make_wt(n >> 2);
        let c = make_ct(n >> 2);
        let half = n / 2;
        let bits = half.trailing_zeros();
        let swaps = (0..half)
            .filter_map(|i| {
                let j = if bits == 0 { 0 } else { i.reverse_bits() >> (usize::BITS - bits) };
                (i < j).then_some((i, j))
            })
            .collect();
        Self { n, w, c, swaps }
    }

    /// In place: `a` (length n) becomes `a[2k] = Σ x_j cos(2πjk/n)`, `a[2k+1] = Σ x_j sin(2πjk/n)`
    /// for 0 < k < n/2, `a[0]` the DC and `a[1]` the Nyquist term (Ooura's layout; the sine
    /// slot is −Im of the usual e^{−iωt} DFT).
    pub fn forward<T: Lane>(&self, a: &mut [T]) {
        let n = self.n;
        let a = &mut a[..n];
        self.cftfsub(a);
        if n > 4 {
            rftfsub(n, a, self.c.len(), &self.c);
        }
        let xi = a[0] - a[1];
        a[0] += a[1];
        a[1] = xi;
    }

    /// In place, Ooura's inverse (`rdft(n, -1, …)`, without the 2/n scale): from the layout
    /// [`forward`](Self::forward) writes, `a[j] = (R₀ + R_{n/2}·(−1)^j)/2 +
    /// Σ_{0<k<n/2} (R_k cos(2πjk/n) + I_k sin(2πjk/n))`. Lengths of at least 64 (the 60 ms
    /// frame's FFT is ≥ 512 points at every supported rate).
    pub fn inverse<T: Lane>(&self, a: &mut [T]) {
        let n = self.n;
        assert!(n >= 64, "the inverse is ported for lengths ≥ 64, got {n}");
        let a = &mut a[..n];
        a[1] = T::splat(0.5) * (a[0] - a[1]);
        a[0] -= a[1];
        rftbsub(n, a, self.c.len(), &self.c);
        self.cftbsub(a);
    }

    /// Inverse complex FFT of n/2 interleaved points (Ooura's `cftbsub`, n > 32).
    fn cftbsub<T: Lane>(&self, a: &mut [T]) {
        let (n, w, nw) = (self.n, &self.w[..], self.w.len());
        cftb1st(n, a, &w[nw - (n >> 2)..]);
        if n > 512 {
            cftrec4(n, a, nw, w);
        } else if n > 128 {
            cftleaf(n, 1, a, nw, w);
        } else {
            cftfx41(n, a, nw, w);
        }
        // Ooura's `bitrv2conj`: the same permutation as `bitrv2`, every element conjugated
        // (negation is exact, so the order of the two does not matter).
        self.bit_reverse(a);
        for v in a.iter_mut().skip(1).step_by(2) {
            *v = -*v;
        }
    }

    /// Complex FFT of n/2 interleaved points (Ooura's `cftfsub`).
    fn cftfsub<T: Lane>(&self, a: &mut [T]) {
        let (n, w, nw) = (self.n, &self.w[..], self.w.len());
        if n > 8 {
            if n > 32 {
                cftf1st(n, a, &w[nw - (n >> 2)..]);
                if n > 512 {
                    cftrec4(n, a, nw, w);
                } else if n > 128 {
                    cftleaf(n, 1, a, nw, w);
                } else {
                    cftfx41(n, a, nw, w);
                }
            } else if n == 32 {
                cftf161(a, &w[nw - 8..]);
            } else {
                cftf081(a, w);
            }
            self.bit_reverse(a);
        } else if n == 8 {
            cftf040(a);
        } else {
            cftx020(a);
        }
    }

    fn bit_reverse<T: Lane>(&self, a: &mut [T]) {
        for &(i, j) in &self.swaps {
            a.swap(2 * i, 2 * j);
            a.swap(2 * i + 1, 2 * j + 1);
        }
    }
}

/// Ooura's `makewt`: cos/sin table of the complex FFT, computed as he does (a single-precision
/// angle step, double-precision trigonometry rounded to single).
fn make_wt(nw: usize) -> Vec<f32> {
    let mut w = vec![0.0f32; nw.max(2)];
    if nw <= 2 {
        return w;
    }
    let mut nwh = nw >> 1;
    let delta = (1.0f64.atan() as f32) / nwh as f32;
    let cos = |x: f32| (x as f64).cos();
    let sin = |x: f32| (x as f64).sin();
    let wn4r = cos(delta * nwh as f32) as f32;
    w[0] = 1.0;
    w[1] = wn4r;
    if nwh == 4 {
        w[2] = cos(delta * 2.0) as f32;
        w[3] = sin(delta * 2.0) as f32;
    } else if nwh > 4 {
        w[2] = (0.5 / cos(delta * 2.0)) as f32;
        w[3] = (0.5 / cos(delta * 6.0)) as f32;
        for j in (4..nwh).step_by(4) {
            let jf = j as f32;
            w[j] = cos(delta * jf) as f32;
            w[j + 1] = sin(delta * jf) as f32;
            w[j + 2] = cos(3.0 * delta * jf) as f32;
            w[j + 3] = (-sin(3.0 * delta * jf)) as f32;
        }
    }
    let mut nw0 = 0;
    while nwh > 2 {
        let nw1 = nw0 + nwh;
        nwh >>= 1;
        w[nw1] = 1.0;
        w[nw1 + 1] = wn4r;
        if nwh == 4 {
            w[nw1 + 2] = w[nw0 + 4];
            w[nw1 + 3] = w[nw0 + 5];
        } else if nwh > 4 {
            w[nw1 + 2] = 0.5 / w[nw0 + 4];
            w[nw1 + 3] = 0.5 / w[nw0 + 6];
            for j in (4..nwh).step_by(4) {
                w[nw1 + j] = w[nw0 + 2 * j];
                w[nw1 + j + 1] = w[nw0 + 2 * j + 1];
                w[nw1 + j + 2] = w[nw0 + 2 * j + 2];
                w[nw1 + j + 3] = w[nw0 + 2 * j + 3];
            }
        }
        nw0 = nw1;
    }
    w
}

/// Ooura's `makect`: the table of the real-FFT post-processing.
fn make_ct(nc: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; nc.max(1)];
    if nc <= 1 {
        return c;
    }
    let nch = nc >> 1;
    let delta = (1.0f64.atan() as f32) / nch as f32;
    c[0] = ((delta * nch as f32) as f64).cos() as f32;
    c[nch] = 0.5 * c[0];
    for j in 1..nch {
        let x = (delta * j as f32) as f64;
        c[j] = (0.5 * x.cos()) as f32;
        c[nc - j] = (0.5 * x.sin()) as f32;
    }
    c
}
// Ooura's butterflies, statement for statement as in fftsg.c (same variables, same order of
// operations), so that they round exactly as the C does; compare them side by side.

fn cftf1st<T: Lane>(n: usize, a: &mut [T], w: &[f32]) {
    let mut j: usize;
    let mut j0: usize;
    let mut j1: usize;
    let mut j2: usize;
    let mut j3: usize;
    let mut k: usize;

    let mut wk1r: T;
    let mut wk1i: T;
    let mut wk3r: T;
    let mut wk3i: T;
    let mut wd1r: T;
    let mut wd1i: T;
    let mut wd3r: T;
    let mut wd3i: T;
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;
    let mut x2r: T;
    let mut x2i: T;
    let mut x3r: T;
    let mut x3i: T;
    let mut y0r: T;
    let mut y0i: T;
    let mut y1r: T;
    let mut y1i: T;
    let mut y2r: T;
    let mut y2i: T;
    let mut y3r: T;
    let mut y3i: T;

    let mh: usize = n >> 3;
    let m: usize = 2 * mh;
    j1 = m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[0] + a[j2];
    x0i = a[1] + a[j2 + 1];
    x1r = a[0] - a[j2];
    x1i = a[1] - a[j2 + 1];
    x2r = a[j1] + a[j3];
    x2i = a[j1 + 1] + a[j3 + 1];
    x3r = a[j1] - a[j3];
    x3i = a[j1 + 1] - a[j3 + 1];
    a[0] = x0r + x2r;
    a[1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    a[j2] = x1r - x3i;
    a[j2 + 1] = x1i + x3r;
    a[j3] = x1r + x3i;
    a[j3 + 1] = x1i - x3r;
    let wn4r: T = T::splat(w[1]);
    let csc1: T = T::splat(w[2]);
    let csc3: T = T::splat(w[3]);
    wd1r = T::splat(1.0);
    wd1i = T::splat(0.0);
    wd3r = T::splat(1.0);
    wd3i = T::splat(0.0);
    k = 0;
    j = 2;
    while j < mh - 2 {
        k += 4;
        wk1r = csc1 * (wd1r + T::splat(w[k]));
        wk1i = csc1 * (wd1i + T::splat(w[k + 1]));
        wk3r = csc3 * (wd3r + T::splat(w[k + 2]));
        wk3i = csc3 * (wd3i + T::splat(w[k + 3]));
        wd1r = T::splat(w[k]);
        wd1i = T::splat(w[k + 1]);
        wd3r = T::splat(w[k + 2]);
        wd3i = T::splat(w[k + 3]);
        j1 = j + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j] + a[j2];
        x0i = a[j + 1] + a[j2 + 1];
        x1r = a[j] - a[j2];
        x1i = a[j + 1] - a[j2 + 1];
        y0r = a[j + 2] + a[j2 + 2];
        y0i = a[j + 3] + a[j2 + 3];
        y1r = a[j + 2] - a[j2 + 2];
        y1i = a[j + 3] - a[j2 + 3];
        x2r = a[j1] + a[j3];
        x2i = a[j1 + 1] + a[j3 + 1];
        x3r = a[j1] - a[j3];
        x3i = a[j1 + 1] - a[j3 + 1];
        y2r = a[j1 + 2] + a[j3 + 2];
        y2i = a[j1 + 3] + a[j3 + 3];
        y3r = a[j1 + 2] - a[j3 + 2];
        y3i = a[j1 + 3] - a[j3 + 3];
        a[j] = x0r + x2r;
        a[j + 1] = x0i + x2i;
        a[j + 2] = y0r + y2r;
        a[j + 3] = y0i + y2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        a[j1 + 2] = y0r - y2r;
        a[j1 + 3] = y0i - y2i;
        x0r = x1r - x3i;
        x0i = x1i + x3r;
        a[j2] = wk1r * x0r - wk1i * x0i;
        a[j2 + 1] = wk1r * x0i + wk1i * x0r;
        x0r = y1r - y3i;
        x0i = y1i + y3r;
        a[j2 + 2] = wd1r * x0r - wd1i * x0i;
        a[j2 + 3] = wd1r * x0i + wd1i * x0r;
        x0r = x1r + x3i;
        x0i = x1i - x3r;
        a[j3] = wk3r * x0r + wk3i * x0i;
        a[j3 + 1] = wk3r * x0i - wk3i * x0r;
        x0r = y1r + y3i;
        x0i = y1i - y3r;
        a[j3 + 2] = wd3r * x0r + wd3i * x0i;
        a[j3 + 3] = wd3r * x0i - wd3i * x0r;
        j0 = m - j;
        j1 = j0 + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j0] + a[j2];
        x0i = a[j0 + 1] + a[j2 + 1];
        x1r = a[j0] - a[j2];
        x1i = a[j0 + 1] - a[j2 + 1];
        y0r = a[j0 - 2] + a[j2 - 2];
        y0i = a[j0 - 1] + a[j2 - 1];
        y1r = a[j0 - 2] - a[j2 - 2];
        y1i = a[j0 - 1] - a[j2 - 1];
        x2r = a[j1] + a[j3];
        x2i = a[j1 + 1] + a[j3 + 1];
        x3r = a[j1] - a[j3];
        x3i = a[j1 + 1] - a[j3 + 1];
        y2r = a[j1 - 2] + a[j3 - 2];
        y2i = a[j1 - 1] + a[j3 - 1];
        y3r = a[j1 - 2] - a[j3 - 2];
        y3i = a[j1 - 1] - a[j3 - 1];
        a[j0] = x0r + x2r;
        a[j0 + 1] = x0i + x2i;
        a[j0 - 2] = y0r + y2r;
        a[j0 - 1] = y0i + y2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        a[j1 - 2] = y0r - y2r;
        a[j1 - 1] = y0i - y2i;
        x0r = x1r - x3i;
        x0i = x1i + x3r;
        a[j2] = wk1i * x0r - wk1r * x0i;
        a[j2 + 1] = wk1i * x0i + wk1r * x0r;
        x0r = y1r - y3i;
        x0i = y1i + y3r;
        a[j2 - 2] = wd1i * x0r - wd1r * x0i;
        a[j2 - 1] = wd1i * x0i + wd1r * x0r;
        x0r = x1r + x3i;
        x0i = x1i - x3r;
        a[j3] = wk3i * x0r + wk3r * x0i;
        a[j3 + 1] = wk3i * x0i - wk3r * x0r;
        x0r = y1r + y3i;
        x0i = y1i - y3r;
        a[j3 - 2] = wd3i * x0r + wd3r * x0i;
        a[j3 - 1] = wd3i * x0i - wd3r * x0r;
        j += 4;
    }
    wk1r = csc1 * (wd1r + wn4r);
    wk1i = csc1 * (wd1i + wn4r);
    wk3r = csc3 * (wd3r - wn4r);
    wk3i = csc3 * (wd3i - wn4r);
    j0 = mh;
    j1 = j0 + m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[j0 - 2] + a[j2 - 2];
    x0i = a[j0 - 1] + a[j2 - 1];
    x1r = a[j0 - 2] - a[j2 - 2];
    x1i = a[j0 - 1] - a[j2 - 1];
    x2r = a[j1 - 2] + a[j3 - 2];
    x2i = a[j1 - 1] + a[j3 - 1];
    x3r = a[j1 - 2] - a[j3 - 2];
    x3i = a[j1 - 1] - a[j3 - 1];
    a[j0 - 2] = x0r + x2r;
    a[j0 - 1] = x0i + x2i;
    a[j1 - 2] = x0r - x2r;
    a[j1 - 1] = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    a[j2 - 2] = wk1r * x0r - wk1i * x0i;
    a[j2 - 1] = wk1r * x0i + wk1i * x0r;
    x0r = x1r + x3i;
    x0i = x1i - x3r;
    a[j3 - 2] = wk3r * x0r + wk3i * x0i;
    a[j3 - 1] = wk3r * x0i - wk3i * x0r;
    x0r = a[j0] + a[j2];
    x0i = a[j0 + 1] + a[j2 + 1];
    x1r = a[j0] - a[j2];
    x1i = a[j0 + 1] - a[j2 + 1];
    x2r = a[j1] + a[j3];
    x2i = a[j1 + 1] + a[j3 + 1];
    x3r = a[j1] - a[j3];
    x3i = a[j1 + 1] - a[j3 + 1];
    a[j0] = x0r + x2r;
    a[j0 + 1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    a[j2] = wn4r * (x0r - x0i);
    a[j2 + 1] = wn4r * (x0i + x0r);
    x0r = x1r + x3i;
    x0i = x1i - x3r;
    a[j3] = -wn4r * (x0r + x0i);
    a[j3 + 1] = -wn4r * (x0i - x0r);
    x0r = a[j0 + 2] + a[j2 + 2];
    x0i = a[j0 + 3] + a[j2 + 3];
    x1r = a[j0 + 2] - a[j2 + 2];
    x1i = a[j0 + 3] - a[j2 + 3];
    x2r = a[j1 + 2] + a[j3 + 2];
    x2i = a[j1 + 3] + a[j3 + 3];
    x3r = a[j1 + 2] - a[j3 + 2];
    x3i = a[j1 + 3] - a[j3 + 3];
    a[j0 + 2] = x0r + x2r;
    a[j0 + 3] = x0i + x2i;
    a[j1 + 2] = x0r - x2r;
    a[j1 + 3] = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    a[j2 + 2] = wk1i * x0r - wk1r * x0i;
    a[j2 + 3] = wk1i * x0i + wk1r * x0r;
    x0r = x1r + x3i;
    x0i = x1i - x3r;
    a[j3 + 2] = wk3i * x0r + wk3r * x0i;
    a[j3 + 3] = wk3i * x0i - wk3r * x0r;
}

fn cftb1st<T: Lane>(n: usize, a: &mut [T], w: &[f32]) {
    let mut j: usize;
    let mut j0: usize;
    let mut j1: usize;
    let mut j2: usize;
    let mut j3: usize;
    let mut k: usize;

    let mut wk1r: T;
    let mut wk1i: T;
    let mut wk3r: T;
    let mut wk3i: T;
    let mut wd1r: T;
    let mut wd1i: T;
    let mut wd3r: T;
    let mut wd3i: T;
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;
    let mut x2r: T;
    let mut x2i: T;
    let mut x3r: T;
    let mut x3i: T;
    let mut y0r: T;
    let mut y0i: T;
    let mut y1r: T;
    let mut y1i: T;
    let mut y2r: T;
    let mut y2i: T;
    let mut y3r: T;
    let mut y3i: T;

    let mh: usize = n >> 3;
    let m: usize = 2 * mh;
    j1 = m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[0] + a[j2];
    x0i = -a[1] - a[j2 + 1];
    x1r = a[0] - a[j2];
    x1i = -a[1] + a[j2 + 1];
    x2r = a[j1] + a[j3];
    x2i = a[j1 + 1] + a[j3 + 1];
    x3r = a[j1] - a[j3];
    x3i = a[j1 + 1] - a[j3 + 1];
    a[0] = x0r + x2r;
    a[1] = x0i - x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i + x2i;
    a[j2] = x1r + x3i;
    a[j2 + 1] = x1i + x3r;
    a[j3] = x1r - x3i;
    a[j3 + 1] = x1i - x3r;
    let wn4r: T = T::splat(w[1]);
    let csc1: T = T::splat(w[2]);
    let csc3: T = T::splat(w[3]);
    wd1r = T::splat(1.0);
    wd1i = T::splat(0.0);
    wd3r = T::splat(1.0);
    wd3i = T::splat(0.0);
    k = 0;
    j = 2;
    while j < mh - 2 {
        k += 4;
        wk1r = csc1 * (wd1r + T::splat(w[k]));
        wk1i = csc1 * (wd1i + T::splat(w[k + 1]));
        wk3r = csc3 * (wd3r + T::splat(w[k + 2]));
        wk3i = csc3 * (wd3i + T::splat(w[k + 3]));
        wd1r = T::splat(w[k]);
        wd1i = T::splat(w[k + 1]);
        wd3r = T::splat(w[k + 2]);
        wd3i = T::splat(w[k + 3]);
        j1 = j + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j] + a[j2];
        x0i = -a[j + 1] - a[j2 + 1];
        x1r = a[j] - a[j2];
        x1i = -a[j + 1] + a[j2 + 1];
        y0r = a[j + 2] + a[j2 + 2];
        y0i = -a[j + 3] - a[j2 + 3];
        y1r = a[j + 2] - a[j2 + 2];
        y1i = -a[j + 3] + a[j2 + 3];
        x2r = a[j1] + a[j3];
        x2i = a[j1 + 1] + a[j3 + 1];
        x3r = a[j1] - a[j3];
        x3i = a[j1 + 1] - a[j3 + 1];
        y2r = a[j1 + 2] + a[j3 + 2];
        y2i = a[j1 + 3] + a[j3 + 3];
        y3r = a[j1 + 2] - a[j3 + 2];
        y3i = a[j1 + 3] - a[j3 + 3];
        a[j] = x0r + x2r;
        a[j + 1] = x0i - x2i;
        a[j + 2] = y0r + y2r;
        a[j + 3] = y0i - y2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i + x2i;
        a[j1 + 2] = y0r - y2r;
        a[j1 + 3] = y0i + y2i;
        x0r = x1r + x3i;
        x0i = x1i + x3r;
        a[j2] = wk1r * x0r - wk1i * x0i;
        a[j2 + 1] = wk1r * x0i + wk1i * x0r;
        x0r = y1r + y3i;
        x0i = y1i + y3r;
        a[j2 + 2] = wd1r * x0r - wd1i * x0i;
        a[j2 + 3] = wd1r * x0i + wd1i * x0r;
        x0r = x1r - x3i;
        x0i = x1i - x3r;
        a[j3] = wk3r * x0r + wk3i * x0i;
        a[j3 + 1] = wk3r * x0i - wk3i * x0r;
        x0r = y1r - y3i;
        x0i = y1i - y3r;
        a[j3 + 2] = wd3r * x0r + wd3i * x0i;
        a[j3 + 3] = wd3r * x0i - wd3i * x0r;
        j0 = m - j;
        j1 = j0 + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j0] + a[j2];
        x0i = -a[j0 + 1] - a[j2 + 1];
        x1r = a[j0] - a[j2];
        x1i = -a[j0 + 1] + a[j2 + 1];
        y0r = a[j0 - 2] + a[j2 - 2];
        y0i = -a[j0 - 1] - a[j2 - 1];
        y1r = a[j0 - 2] - a[j2 - 2];
        y1i = -a[j0 - 1] + a[j2 - 1];
        x2r = a[j1] + a[j3];
        x2i = a[j1 + 1] + a[j3 + 1];
        x3r = a[j1] - a[j3];
        x3i = a[j1 + 1] - a[j3 + 1];
        y2r = a[j1 - 2] + a[j3 - 2];
        y2i = a[j1 - 1] + a[j3 - 1];
        y3r = a[j1 - 2] - a[j3 - 2];
        y3i = a[j1 - 1] - a[j3 - 1];
        a[j0] = x0r + x2r;
        a[j0 + 1] = x0i - x2i;
        a[j0 - 2] = y0r + y2r;
        a[j0 - 1] = y0i - y2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i + x2i;
        a[j1 - 2] = y0r - y2r;
        a[j1 - 1] = y0i + y2i;
        x0r = x1r + x3i;
        x0i = x1i + x3r;
        a[j2] = wk1i * x0r - wk1r * x0i;
        a[j2 + 1] = wk1i * x0i + wk1r * x0r;
        x0r = y1r + y3i;
        x0i = y1i + y3r;
        a[j2 - 2] = wd1i * x0r - wd1r * x0i;
        a[j2 - 1] = wd1i * x0i + wd1r * x0r;
        x0r = x1r - x3i;
        x0i = x1i - x3r;
        a[j3] = wk3i * x0r + wk3r * x0i;
        a[j3 + 1] = wk3i * x0i - wk3r * x0r;
        x0r = y1r - y3i;
        x0i = y1i - y3r;
        a[j3 - 2] = wd3i * x0r + wd3r * x0i;
        a[j3 - 1] = wd3i * x0i - wd3r * x0r;
        j += 4;
    }
    wk1r = csc1 * (wd1r + wn4r);
    wk1i = csc1 * (wd1i + wn4r);
    wk3r = csc3 * (wd3r - wn4r);
    wk3i = csc3 * (wd3i - wn4r);
    j0 = mh;
    j1 = j0 + m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[j0 - 2] + a[j2 - 2];
    x0i = -a[j0 - 1] - a[j2 - 1];
    x1r = a[j0 - 2] - a[j2 - 2];
    x1i = -a[j0 - 1] + a[j2 - 1];
    x2r = a[j1 - 2] + a[j3 - 2];
    x2i = a[j1 - 1] + a[j3 - 1];
    x3r = a[j1 - 2] - a[j3 - 2];
    x3i = a[j1 - 1] - a[j3 - 1];
    a[j0 - 2] = x0r + x2r;
    a[j0 - 1] = x0i - x2i;
    a[j1 - 2] = x0r - x2r;
    a[j1 - 1] = x0i + x2i;
    x0r = x1r + x3i;
    x0i = x1i + x3r;
    a[j2 - 2] = wk1r * x0r - wk1i * x0i;
    a[j2 - 1] = wk1r * x0i + wk1i * x0r;
    x0r = x1r - x3i;
    x0i = x1i - x3r;
    a[j3 - 2] = wk3r * x0r + wk3i * x0i;
    a[j3 - 1] = wk3r * x0i - wk3i * x0r;
    x0r = a[j0] + a[j2];
    x0i = -a[j0 + 1] - a[j2 + 1];
    x1r = a[j0] - a[j2];
    x1i = -a[j0 + 1] + a[j2 + 1];
    x2r = a[j1] + a[j3];
    x2i = a[j1 + 1] + a[j3 + 1];
    x3r = a[j1] - a[j3];
    x3i = a[j1 + 1] - a[j3 + 1];
    a[j0] = x0r + x2r;
    a[j0 + 1] = x0i - x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i + x2i;
    x0r = x1r + x3i;
    x0i = x1i + x3r;
    a[j2] = wn4r * (x0r - x0i);
    a[j2 + 1] = wn4r * (x0i + x0r);
    x0r = x1r - x3i;
    x0i = x1i - x3r;
    a[j3] = -wn4r * (x0r + x0i);
    a[j3 + 1] = -wn4r * (x0i - x0r);
    x0r = a[j0 + 2] + a[j2 + 2];
    x0i = -a[j0 + 3] - a[j2 + 3];
    x1r = a[j0 + 2] - a[j2 + 2];
    x1i = -a[j0 + 3] + a[j2 + 3];
    x2r = a[j1 + 2] + a[j3 + 2];
    x2i = a[j1 + 3] + a[j3 + 3];
    x3r = a[j1 + 2] - a[j3 + 2];
    x3i = a[j1 + 3] - a[j3 + 3];
    a[j0 + 2] = x0r + x2r;
    a[j0 + 3] = x0i - x2i;
    a[j1 + 2] = x0r - x2r;
    a[j1 + 3] = x0i + x2i;
    x0r = x1r + x3i;
    x0i = x1i + x3r;
    a[j2 + 2] = wk1i * x0r - wk1r * x0i;
    a[j2 + 3] = wk1i * x0i + wk1r * x0r;
    x0r = x1r - x3i;
    x0i = x1i - x3r;
    a[j3 + 2] = wk3i * x0r + wk3r * x0i;
    a[j3 + 3] = wk3i * x0i - wk3r * x0r;
}

fn cftrec4<T: Lane>(n: usize, a: &mut [T], nw: usize, w: &[f32]) {
    let mut isplt: usize;
    let mut j: usize;
    let mut k: usize;
    let mut m: usize;

    m = n;
    while m > 512 {
        m >>= 2;
        cftmdl1(m, &mut a[n - m..], &w[nw - (m >> 1)..]);
    }
    cftleaf(m, 1, &mut a[n - m..], nw, w);
    k = 0;
    j = n - m;
    while j > 0 {
        k += 1;
        isplt = cfttree(m, j, k, a, nw, w);
        cftleaf(m, isplt, &mut a[j - m..], nw, w);
        j -= m;
    }
}

fn cfttree<T: Lane>(n: usize, j: usize, k: usize, a: &mut [T], nw: usize, w: &[f32]) -> usize {
    let mut i: usize;
    let isplt: usize;
    let mut m: usize;

    if (k & 3) != 0 {
        isplt = k & 1;
        if isplt != 0 {
            cftmdl1(n, &mut a[j - n..], &w[nw - (n >> 1)..]);
        } else {
            cftmdl2(n, &mut a[j - n..], &w[nw - n..]);
        }
    } else {
        m = n;
        i = k;
        while (i & 3) == 0 {
            m <<= 2;
            i >>= 2;
        }
        isplt = i & 1;
        if isplt != 0 {
            while m > 128 {
                cftmdl1(m, &mut a[j - m..], &w[nw - (m >> 1)..]);
                m >>= 2;
            }
        } else {
            while m > 128 {
                cftmdl2(m, &mut a[j - m..], &w[nw - m..]);
                m >>= 2;
            }
        }
    }
    isplt
}

fn cftleaf<T: Lane>(n: usize, isplt: usize, a: &mut [T], nw: usize, w: &[f32]) {
    if n == 512 {
        cftmdl1(128, a, &w[nw - 64..]);
        cftf161(a, &w[nw - 8..]);
        cftf162(&mut a[32..], &w[nw - 32..]);
        cftf161(&mut a[64..], &w[nw - 8..]);
        cftf161(&mut a[96..], &w[nw - 8..]);
        cftmdl2(128, &mut a[128..], &w[nw - 128..]);
        cftf161(&mut a[128..], &w[nw - 8..]);
        cftf162(&mut a[160..], &w[nw - 32..]);
        cftf161(&mut a[192..], &w[nw - 8..]);
        cftf162(&mut a[224..], &w[nw - 32..]);
        cftmdl1(128, &mut a[256..], &w[nw - 64..]);
        cftf161(&mut a[256..], &w[nw - 8..]);
        cftf162(&mut a[288..], &w[nw - 32..]);
        cftf161(&mut a[320..], &w[nw - 8..]);
        cftf161(&mut a[352..], &w[nw - 8..]);
        if isplt != 0 {
            cftmdl1(128, &mut a[384..], &w[nw - 64..]);
            cftf161(&mut a[480..], &w[nw - 8..]);
        } else {
            cftmdl2(128, &mut a[384..], &w[nw - 128..]);
            cftf162(&mut a[480..], &w[nw - 32..]);
        }
        cftf161(&mut a[384..], &w[nw - 8..]);
        cftf162(&mut a[416..], &w[nw - 32..]);
        cftf161(&mut a[448..], &w[nw - 8..]);
    } else {
        cftmdl1(64, a, &w[nw - 32..]);
        cftf081(a, &w[nw - 8..]);
        cftf082(&mut a[16..], &w[nw - 8..]);
        cftf081(&mut a[32..], &w[nw - 8..]);
        cftf081(&mut a[48..], &w[nw - 8..]);
        cftmdl2(64, &mut a[64..], &w[nw - 64..]);
        cftf081(&mut a[64..], &w[nw - 8..]);
        cftf082(&mut a[80..], &w[nw - 8..]);
        cftf081(&mut a[96..], &w[nw - 8..]);
        cftf082(&mut a[112..], &w[nw - 8..]);
        cftmdl1(64, &mut a[128..], &w[nw - 32..]);
        cftf081(&mut a[128..], &w[nw - 8..]);
        cftf082(&mut a[144..], &w[nw - 8..]);
        cftf081(&mut a[160..], &w[nw - 8..]);
        cftf081(&mut a[176..], &w[nw - 8..]);
        if isplt != 0 {
            cftmdl1(64, &mut a[192..], &w[nw - 32..]);
            cftf081(&mut a[240..], &w[nw - 8..]);
        } else {
            cftmdl2(64, &mut a[192..], &w[nw - 64..]);
            cftf082(&mut a[240..], &w[nw - 8..]);
        }
        cftf081(&mut a[192..], &w[nw - 8..]);
        cftf082(&mut a[208..], &w[nw - 8..]);
        cftf081(&mut a[224..], &w[nw - 8..]);
    }
}

fn cftmdl1<T: Lane>(n: usize, a: &mut [T], w: &[f32]) {
    let mut j: usize;
    let mut j0: usize;
    let mut j1: usize;
    let mut j2: usize;
    let mut j3: usize;
    let mut k: usize;

    let mut wk1r: T;
    let mut wk1i: T;
    let mut wk3r: T;
    let mut wk3i: T;
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;
    let mut x2r: T;
    let mut x2i: T;
    let mut x3r: T;
    let mut x3i: T;

    let mh: usize = n >> 3;
    let m: usize = 2 * mh;
    j1 = m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[0] + a[j2];
    x0i = a[1] + a[j2 + 1];
    x1r = a[0] - a[j2];
    x1i = a[1] - a[j2 + 1];
    x2r = a[j1] + a[j3];
    x2i = a[j1 + 1] + a[j3 + 1];
    x3r = a[j1] - a[j3];
    x3i = a[j1 + 1] - a[j3 + 1];
    a[0] = x0r + x2r;
    a[1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    a[j2] = x1r - x3i;
    a[j2 + 1] = x1i + x3r;
    a[j3] = x1r + x3i;
    a[j3 + 1] = x1i - x3r;
    let wn4r: T = T::splat(w[1]);
    k = 0;
    j = 2;
    while j < mh {
        k += 4;
        wk1r = T::splat(w[k]);
        wk1i = T::splat(w[k + 1]);
        wk3r = T::splat(w[k + 2]);
        wk3i = T::splat(w[k + 3]);
        j1 = j + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j] + a[j2];
        x0i = a[j + 1] + a[j2 + 1];
        x1r = a[j] - a[j2];
        x1i = a[j + 1] - a[j2 + 1];
        x2r = a[j1] + a[j3];
        x2i = a[j1 + 1] + a[j3 + 1];
        x3r = a[j1] - a[j3];
        x3i = a[j1 + 1] - a[j3 + 1];
        a[j] = x0r + x2r;
        a[j + 1] = x0i + x2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        x0r = x1r - x3i;
        x0i = x1i + x3r;
        a[j2] = wk1r * x0r - wk1i * x0i;
        a[j2 + 1] = wk1r * x0i + wk1i * x0r;
        x0r = x1r + x3i;
        x0i = x1i - x3r;
        a[j3] = wk3r * x0r + wk3i * x0i;
        a[j3 + 1] = wk3r * x0i - wk3i * x0r;
        j0 = m - j;
        j1 = j0 + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j0] + a[j2];
        x0i = a[j0 + 1] + a[j2 + 1];
        x1r = a[j0] - a[j2];
        x1i = a[j0 + 1] - a[j2 + 1];
        x2r = a[j1] + a[j3];
        x2i = a[j1 + 1] + a[j3 + 1];
        x3r = a[j1] - a[j3];
        x3i = a[j1 + 1] - a[j3 + 1];
        a[j0] = x0r + x2r;
        a[j0 + 1] = x0i + x2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        x0r = x1r - x3i;
        x0i = x1i + x3r;
        a[j2] = wk1i * x0r - wk1r * x0i;
        a[j2 + 1] = wk1i * x0i + wk1r * x0r;
        x0r = x1r + x3i;
        x0i = x1i - x3r;
        a[j3] = wk3i * x0r + wk3r * x0i;
        a[j3 + 1] = wk3i * x0i - wk3r * x0r;
        j += 2;
    }
    j0 = mh;
    j1 = j0 + m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[j0] + a[j2];
    x0i = a[j0 + 1] + a[j2 + 1];
    x1r = a[j0] - a[j2];
    x1i = a[j0 + 1] - a[j2 + 1];
    x2r = a[j1] + a[j3];
    x2i = a[j1 + 1] + a[j3 + 1];
    x3r = a[j1] - a[j3];
    x3i = a[j1 + 1] - a[j3 + 1];
    a[j0] = x0r + x2r;
    a[j0 + 1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    a[j2] = wn4r * (x0r - x0i);
    a[j2 + 1] = wn4r * (x0i + x0r);
    x0r = x1r + x3i;
    x0i = x1i - x3r;
    a[j3] = -wn4r * (x0r + x0i);
    a[j3 + 1] = -wn4r * (x0i - x0r);
}

fn cftmdl2<T: Lane>(n: usize, a: &mut [T], w: &[f32]) {
    let mut j: usize;
    let mut j0: usize;
    let mut j1: usize;
    let mut j2: usize;
    let mut j3: usize;
    let mut k: usize;
    let mut kr: usize;

    let mut wk1r: T;
    let mut wk1i: T;
    let mut wk3r: T;
    let mut wk3i: T;
    let mut wd1r: T;
    let mut wd1i: T;
    let mut wd3r: T;
    let mut wd3i: T;
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;
    let mut x2r: T;
    let mut x2i: T;
    let mut x3r: T;
    let mut x3i: T;
    let mut y0r: T;
    let mut y0i: T;
    let mut y2r: T;
    let mut y2i: T;

    let mh: usize = n >> 3;
    let m: usize = 2 * mh;
    let wn4r: T = T::splat(w[1]);
    j1 = m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[0] - a[j2 + 1];
    x0i = a[1] + a[j2];
    x1r = a[0] + a[j2 + 1];
    x1i = a[1] - a[j2];
    x2r = a[j1] - a[j3 + 1];
    x2i = a[j1 + 1] + a[j3];
    x3r = a[j1] + a[j3 + 1];
    x3i = a[j1 + 1] - a[j3];
    y0r = wn4r * (x2r - x2i);
    y0i = wn4r * (x2i + x2r);
    a[0] = x0r + y0r;
    a[1] = x0i + y0i;
    a[j1] = x0r - y0r;
    a[j1 + 1] = x0i - y0i;
    y0r = wn4r * (x3r - x3i);
    y0i = wn4r * (x3i + x3r);
    a[j2] = x1r - y0i;
    a[j2 + 1] = x1i + y0r;
    a[j3] = x1r + y0i;
    a[j3 + 1] = x1i - y0r;
    k = 0;
    kr = 2 * m;
    j = 2;
    while j < mh {
        k += 4;
        wk1r = T::splat(w[k]);
        wk1i = T::splat(w[k + 1]);
        wk3r = T::splat(w[k + 2]);
        wk3i = T::splat(w[k + 3]);
        kr -= 4;
        wd1i = T::splat(w[kr]);
        wd1r = T::splat(w[kr + 1]);
        wd3i = T::splat(w[kr + 2]);
        wd3r = T::splat(w[kr + 3]);
        j1 = j + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j] - a[j2 + 1];
        x0i = a[j + 1] + a[j2];
        x1r = a[j] + a[j2 + 1];
        x1i = a[j + 1] - a[j2];
        x2r = a[j1] - a[j3 + 1];
        x2i = a[j1 + 1] + a[j3];
        x3r = a[j1] + a[j3 + 1];
        x3i = a[j1 + 1] - a[j3];
        y0r = wk1r * x0r - wk1i * x0i;
        y0i = wk1r * x0i + wk1i * x0r;
        y2r = wd1r * x2r - wd1i * x2i;
        y2i = wd1r * x2i + wd1i * x2r;
        a[j] = y0r + y2r;
        a[j + 1] = y0i + y2i;
        a[j1] = y0r - y2r;
        a[j1 + 1] = y0i - y2i;
        y0r = wk3r * x1r + wk3i * x1i;
        y0i = wk3r * x1i - wk3i * x1r;
        y2r = wd3r * x3r + wd3i * x3i;
        y2i = wd3r * x3i - wd3i * x3r;
        a[j2] = y0r + y2r;
        a[j2 + 1] = y0i + y2i;
        a[j3] = y0r - y2r;
        a[j3 + 1] = y0i - y2i;
        j0 = m - j;
        j1 = j0 + m;
        j2 = j1 + m;
        j3 = j2 + m;
        x0r = a[j0] - a[j2 + 1];
        x0i = a[j0 + 1] + a[j2];
        x1r = a[j0] + a[j2 + 1];
        x1i = a[j0 + 1] - a[j2];
        x2r = a[j1] - a[j3 + 1];
        x2i = a[j1 + 1] + a[j3];
        x3r = a[j1] + a[j3 + 1];
        x3i = a[j1 + 1] - a[j3];
        y0r = wd1i * x0r - wd1r * x0i;
        y0i = wd1i * x0i + wd1r * x0r;
        y2r = wk1i * x2r - wk1r * x2i;
        y2i = wk1i * x2i + wk1r * x2r;
        a[j0] = y0r + y2r;
        a[j0 + 1] = y0i + y2i;
        a[j1] = y0r - y2r;
        a[j1 + 1] = y0i - y2i;
        y0r = wd3i * x1r + wd3r * x1i;
        y0i = wd3i * x1i - wd3r * x1r;
        y2r = wk3i * x3r + wk3r * x3i;
        y2i = wk3i * x3i - wk3r * x3r;
        a[j2] = y0r + y2r;
        a[j2 + 1] = y0i + y2i;
        a[j3] = y0r - y2r;
        a[j3 + 1] = y0i - y2i;
        j += 2;
    }
    wk1r = T::splat(w[m]);
    wk1i = T::splat(w[m + 1]);
    j0 = mh;
    j1 = j0 + m;
    j2 = j1 + m;
    j3 = j2 + m;
    x0r = a[j0] - a[j2 + 1];
    x0i = a[j0 + 1] + a[j2];
    x1r = a[j0] + a[j2 + 1];
    x1i = a[j0 + 1] - a[j2];
    x2r = a[j1] - a[j3 + 1];
    x2i = a[j1 + 1] + a[j3];
    x3r = a[j1] + a[j3 + 1];
    x3i = a[j1 + 1] - a[j3];
    y0r = wk1r * x0r - wk1i * x0i;
    y0i = wk1r * x0i + wk1i * x0r;
    y2r = wk1i * x2r - wk1r * x2i;
    y2i = wk1i * x2i + wk1r * x2r;
    a[j0] = y0r + y2r;
    a[j0 + 1] = y0i + y2i;
    a[j1] = y0r - y2r;
    a[j1 + 1] = y0i - y2i;
    y0r = wk1i * x1r - wk1r * x1i;
    y0i = wk1i * x1i + wk1r * x1r;
    y2r = wk1r * x3r - wk1i * x3i;
    y2i = wk1r * x3i + wk1i * x3r;
    a[j2] = y0r - y2r;
    a[j2 + 1] = y0i - y2i;
    a[j3] = y0r + y2r;
    a[j3 + 1] = y0i + y2i;
}

fn cftfx41<T: Lane>(n: usize, a: &mut [T], nw: usize, w: &[f32]) {
    if n == 128 {
        cftf161(a, &w[nw - 8..]);
        cftf162(&mut a[32..], &w[nw - 32..]);
        cftf161(&mut a[64..], &w[nw - 8..]);
        cftf161(&mut a[96..], &w[nw - 8..]);
    } else {
        cftf081(a, &w[nw - 8..]);
        cftf082(&mut a[16..], &w[nw - 8..]);
        cftf081(&mut a[32..], &w[nw - 8..]);
        cftf081(&mut a[48..], &w[nw - 8..]);
    }
}

fn cftf161<T: Lane>(a: &mut [T], w: &[f32]) {
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;
    let mut x2r: T;
    let mut x2i: T;
    let mut x3r: T;
    let mut x3i: T;

    let wn4r: T = T::splat(w[1]);
    let wk1r: T = T::splat(w[2]);
    let wk1i: T = T::splat(w[3]);
    x0r = a[0] + a[16];
    x0i = a[1] + a[17];
    x1r = a[0] - a[16];
    x1i = a[1] - a[17];
    x2r = a[8] + a[24];
    x2i = a[9] + a[25];
    x3r = a[8] - a[24];
    x3i = a[9] - a[25];
    let y0r: T = x0r + x2r;
    let y0i: T = x0i + x2i;
    let y4r: T = x0r - x2r;
    let y4i: T = x0i - x2i;
    let y8r: T = x1r - x3i;
    let y8i: T = x1i + x3r;
    let y12r: T = x1r + x3i;
    let y12i: T = x1i - x3r;
    x0r = a[2] + a[18];
    x0i = a[3] + a[19];
    x1r = a[2] - a[18];
    x1i = a[3] - a[19];
    x2r = a[10] + a[26];
    x2i = a[11] + a[27];
    x3r = a[10] - a[26];
    x3i = a[11] - a[27];
    let y1r: T = x0r + x2r;
    let y1i: T = x0i + x2i;
    let y5r: T = x0r - x2r;
    let y5i: T = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    let y9r: T = wk1r * x0r - wk1i * x0i;
    let y9i: T = wk1r * x0i + wk1i * x0r;
    x0r = x1r + x3i;
    x0i = x1i - x3r;
    let y13r: T = wk1i * x0r - wk1r * x0i;
    let y13i: T = wk1i * x0i + wk1r * x0r;
    x0r = a[4] + a[20];
    x0i = a[5] + a[21];
    x1r = a[4] - a[20];
    x1i = a[5] - a[21];
    x2r = a[12] + a[28];
    x2i = a[13] + a[29];
    x3r = a[12] - a[28];
    x3i = a[13] - a[29];
    let y2r: T = x0r + x2r;
    let y2i: T = x0i + x2i;
    let y6r: T = x0r - x2r;
    let y6i: T = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    let y10r: T = wn4r * (x0r - x0i);
    let y10i: T = wn4r * (x0i + x0r);
    x0r = x1r + x3i;
    x0i = x1i - x3r;
    let y14r: T = wn4r * (x0r + x0i);
    let y14i: T = wn4r * (x0i - x0r);
    x0r = a[6] + a[22];
    x0i = a[7] + a[23];
    x1r = a[6] - a[22];
    x1i = a[7] - a[23];
    x2r = a[14] + a[30];
    x2i = a[15] + a[31];
    x3r = a[14] - a[30];
    x3i = a[15] - a[31];
    let y3r: T = x0r + x2r;
    let y3i: T = x0i + x2i;
    let y7r: T = x0r - x2r;
    let y7i: T = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    let y11r: T = wk1i * x0r - wk1r * x0i;
    let y11i: T = wk1i * x0i + wk1r * x0r;
    x0r = x1r + x3i;
    x0i = x1i - x3r;
    let y15r: T = wk1r * x0r - wk1i * x0i;
    let y15i: T = wk1r * x0i + wk1i * x0r;
    x0r = y12r - y14r;
    x0i = y12i - y14i;
    x1r = y12r + y14r;
    x1i = y12i + y14i;
    x2r = y13r - y15r;
    x2i = y13i - y15i;
    x3r = y13r + y15r;
    x3i = y13i + y15i;
    a[24] = x0r + x2r;
    a[25] = x0i + x2i;
    a[26] = x0r - x2r;
    a[27] = x0i - x2i;
    a[28] = x1r - x3i;
    a[29] = x1i + x3r;
    a[30] = x1r + x3i;
    a[31] = x1i - x3r;
    x0r = y8r + y10r;
    x0i = y8i + y10i;
    x1r = y8r - y10r;
    x1i = y8i - y10i;
    x2r = y9r + y11r;
    x2i = y9i + y11i;
    x3r = y9r - y11r;
    x3i = y9i - y11i;
    a[16] = x0r + x2r;
    a[17] = x0i + x2i;
    a[18] = x0r - x2r;
    a[19] = x0i - x2i;
    a[20] = x1r - x3i;
    a[21] = x1i + x3r;
    a[22] = x1r + x3i;
    a[23] = x1i - x3r;
    x0r = y5r - y7i;
    x0i = y5i + y7r;
    x2r = wn4r * (x0r - x0i);
    x2i = wn4r * (x0i + x0r);
    x0r = y5r + y7i;
    x0i = y5i - y7r;
    x3r = wn4r * (x0r - x0i);
    x3i = wn4r * (x0i + x0r);
    x0r = y4r - y6i;
    x0i = y4i + y6r;
    x1r = y4r + y6i;
    x1i = y4i - y6r;
    a[8] = x0r + x2r;
    a[9] = x0i + x2i;
    a[10] = x0r - x2r;
    a[11] = x0i - x2i;
    a[12] = x1r - x3i;
    a[13] = x1i + x3r;
    a[14] = x1r + x3i;
    a[15] = x1i - x3r;
    x0r = y0r + y2r;
    x0i = y0i + y2i;
    x1r = y0r - y2r;
    x1i = y0i - y2i;
    x2r = y1r + y3r;
    x2i = y1i + y3i;
    x3r = y1r - y3r;
    x3i = y1i - y3i;
    a[0] = x0r + x2r;
    a[1] = x0i + x2i;
    a[2] = x0r - x2r;
    a[3] = x0i - x2i;
    a[4] = x1r - x3i;
    a[5] = x1i + x3r;
    a[6] = x1r + x3i;
    a[7] = x1i - x3r;
}

fn cftf162<T: Lane>(a: &mut [T], w: &[f32]) {
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;
    let mut x2r: T;
    let mut x2i: T;

    let wn4r: T = T::splat(w[1]);
    let wk1r: T = T::splat(w[4]);
    let wk1i: T = T::splat(w[5]);
    let wk3r: T = T::splat(w[6]);
    let wk3i: T = -T::splat(w[7]);
    let wk2r: T = T::splat(w[8]);
    let wk2i: T = T::splat(w[9]);
    x1r = a[0] - a[17];
    x1i = a[1] + a[16];
    x0r = a[8] - a[25];
    x0i = a[9] + a[24];
    x2r = wn4r * (x0r - x0i);
    x2i = wn4r * (x0i + x0r);
    let y0r: T = x1r + x2r;
    let y0i: T = x1i + x2i;
    let y4r: T = x1r - x2r;
    let y4i: T = x1i - x2i;
    x1r = a[0] + a[17];
    x1i = a[1] - a[16];
    x0r = a[8] + a[25];
    x0i = a[9] - a[24];
    x2r = wn4r * (x0r - x0i);
    x2i = wn4r * (x0i + x0r);
    let y8r: T = x1r - x2i;
    let y8i: T = x1i + x2r;
    let y12r: T = x1r + x2i;
    let y12i: T = x1i - x2r;
    x0r = a[2] - a[19];
    x0i = a[3] + a[18];
    x1r = wk1r * x0r - wk1i * x0i;
    x1i = wk1r * x0i + wk1i * x0r;
    x0r = a[10] - a[27];
    x0i = a[11] + a[26];
    x2r = wk3i * x0r - wk3r * x0i;
    x2i = wk3i * x0i + wk3r * x0r;
    let y1r: T = x1r + x2r;
    let y1i: T = x1i + x2i;
    let y5r: T = x1r - x2r;
    let y5i: T = x1i - x2i;
    x0r = a[2] + a[19];
    x0i = a[3] - a[18];
    x1r = wk3r * x0r - wk3i * x0i;
    x1i = wk3r * x0i + wk3i * x0r;
    x0r = a[10] + a[27];
    x0i = a[11] - a[26];
    x2r = wk1r * x0r + wk1i * x0i;
    x2i = wk1r * x0i - wk1i * x0r;
    let y9r: T = x1r - x2r;
    let y9i: T = x1i - x2i;
    let y13r: T = x1r + x2r;
    let y13i: T = x1i + x2i;
    x0r = a[4] - a[21];
    x0i = a[5] + a[20];
    x1r = wk2r * x0r - wk2i * x0i;
    x1i = wk2r * x0i + wk2i * x0r;
    x0r = a[12] - a[29];
    x0i = a[13] + a[28];
    x2r = wk2i * x0r - wk2r * x0i;
    x2i = wk2i * x0i + wk2r * x0r;
    let y2r: T = x1r + x2r;
    let y2i: T = x1i + x2i;
    let y6r: T = x1r - x2r;
    let y6i: T = x1i - x2i;
    x0r = a[4] + a[21];
    x0i = a[5] - a[20];
    x1r = wk2i * x0r - wk2r * x0i;
    x1i = wk2i * x0i + wk2r * x0r;
    x0r = a[12] + a[29];
    x0i = a[13] - a[28];
    x2r = wk2r * x0r - wk2i * x0i;
    x2i = wk2r * x0i + wk2i * x0r;
    let y10r: T = x1r - x2r;
    let y10i: T = x1i - x2i;
    let y14r: T = x1r + x2r;
    let y14i: T = x1i + x2i;
    x0r = a[6] - a[23];
    x0i = a[7] + a[22];
    x1r = wk3r * x0r - wk3i * x0i;
    x1i = wk3r * x0i + wk3i * x0r;
    x0r = a[14] - a[31];
    x0i = a[15] + a[30];
    x2r = wk1i * x0r - wk1r * x0i;
    x2i = wk1i * x0i + wk1r * x0r;
    let y3r: T = x1r + x2r;
    let y3i: T = x1i + x2i;
    let y7r: T = x1r - x2r;
    let y7i: T = x1i - x2i;
    x0r = a[6] + a[23];
    x0i = a[7] - a[22];
    x1r = wk1i * x0r + wk1r * x0i;
    x1i = wk1i * x0i - wk1r * x0r;
    x0r = a[14] + a[31];
    x0i = a[15] - a[30];
    x2r = wk3i * x0r - wk3r * x0i;
    x2i = wk3i * x0i + wk3r * x0r;
    let y11r: T = x1r + x2r;
    let y11i: T = x1i + x2i;
    let y15r: T = x1r - x2r;
    let y15i: T = x1i - x2i;
    x1r = y0r + y2r;
    x1i = y0i + y2i;
    x2r = y1r + y3r;
    x2i = y1i + y3i;
    a[0] = x1r + x2r;
    a[1] = x1i + x2i;
    a[2] = x1r - x2r;
    a[3] = x1i - x2i;
    x1r = y0r - y2r;
    x1i = y0i - y2i;
    x2r = y1r - y3r;
    x2i = y1i - y3i;
    a[4] = x1r - x2i;
    a[5] = x1i + x2r;
    a[6] = x1r + x2i;
    a[7] = x1i - x2r;
    x1r = y4r - y6i;
    x1i = y4i + y6r;
    x0r = y5r - y7i;
    x0i = y5i + y7r;
    x2r = wn4r * (x0r - x0i);
    x2i = wn4r * (x0i + x0r);
    a[8] = x1r + x2r;
    a[9] = x1i + x2i;
    a[10] = x1r - x2r;
    a[11] = x1i - x2i;
    x1r = y4r + y6i;
    x1i = y4i - y6r;
    x0r = y5r + y7i;
    x0i = y5i - y7r;
    x2r = wn4r * (x0r - x0i);
    x2i = wn4r * (x0i + x0r);
    a[12] = x1r - x2i;
    a[13] = x1i + x2r;
    a[14] = x1r + x2i;
    a[15] = x1i - x2r;
    x1r = y8r + y10r;
    x1i = y8i + y10i;
    x2r = y9r - y11r;
    x2i = y9i - y11i;
    a[16] = x1r + x2r;
    a[17] = x1i + x2i;
    a[18] = x1r - x2r;
    a[19] = x1i - x2i;
    x1r = y8r - y10r;
    x1i = y8i - y10i;
    x2r = y9r + y11r;
    x2i = y9i + y11i;
    a[20] = x1r - x2i;
    a[21] = x1i + x2r;
    a[22] = x1r + x2i;
    a[23] = x1i - x2r;
    x1r = y12r - y14i;
    x1i = y12i + y14r;
    x0r = y13r + y15i;
    x0i = y13i - y15r;
    x2r = wn4r * (x0r - x0i);
    x2i = wn4r * (x0i + x0r);
    a[24] = x1r + x2r;
    a[25] = x1i + x2i;
    a[26] = x1r - x2r;
    a[27] = x1i - x2i;
    x1r = y12r + y14i;
    x1i = y12i - y14r;
    x0r = y13r - y15i;
    x0i = y13i + y15r;
    x2r = wn4r * (x0r - x0i);
    x2i = wn4r * (x0i + x0r);
    a[28] = x1r - x2i;
    a[29] = x1i + x2r;
    a[30] = x1r + x2i;
    a[31] = x1i - x2r;
}

fn cftf081<T: Lane>(a: &mut [T], w: &[f32]) {
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;
    let mut x2r: T;
    let mut x2i: T;
    let mut x3r: T;
    let mut x3i: T;

    let wn4r: T = T::splat(w[1]);
    x0r = a[0] + a[8];
    x0i = a[1] + a[9];
    x1r = a[0] - a[8];
    x1i = a[1] - a[9];
    x2r = a[4] + a[12];
    x2i = a[5] + a[13];
    x3r = a[4] - a[12];
    x3i = a[5] - a[13];
    let y0r: T = x0r + x2r;
    let y0i: T = x0i + x2i;
    let y2r: T = x0r - x2r;
    let y2i: T = x0i - x2i;
    let y1r: T = x1r - x3i;
    let y1i: T = x1i + x3r;
    let y3r: T = x1r + x3i;
    let y3i: T = x1i - x3r;
    x0r = a[2] + a[10];
    x0i = a[3] + a[11];
    x1r = a[2] - a[10];
    x1i = a[3] - a[11];
    x2r = a[6] + a[14];
    x2i = a[7] + a[15];
    x3r = a[6] - a[14];
    x3i = a[7] - a[15];
    let y4r: T = x0r + x2r;
    let y4i: T = x0i + x2i;
    let y6r: T = x0r - x2r;
    let y6i: T = x0i - x2i;
    x0r = x1r - x3i;
    x0i = x1i + x3r;
    x2r = x1r + x3i;
    x2i = x1i - x3r;
    let y5r: T = wn4r * (x0r - x0i);
    let y5i: T = wn4r * (x0r + x0i);
    let y7r: T = wn4r * (x2r - x2i);
    let y7i: T = wn4r * (x2r + x2i);
    a[8] = y1r + y5r;
    a[9] = y1i + y5i;
    a[10] = y1r - y5r;
    a[11] = y1i - y5i;
    a[12] = y3r - y7i;
    a[13] = y3i + y7r;
    a[14] = y3r + y7i;
    a[15] = y3i - y7r;
    a[0] = y0r + y4r;
    a[1] = y0i + y4i;
    a[2] = y0r - y4r;
    a[3] = y0i - y4i;
    a[4] = y2r - y6i;
    a[5] = y2i + y6r;
    a[6] = y2r + y6i;
    a[7] = y2i - y6r;
}

fn cftf082<T: Lane>(a: &mut [T], w: &[f32]) {
    let mut x0r: T;
    let mut x0i: T;
    let mut x1r: T;
    let mut x1i: T;

    let wn4r: T = T::splat(w[1]);
    let wk1r: T = T::splat(w[2]);
    let wk1i: T = T::splat(w[3]);
    let y0r: T = a[0] - a[9];
    let y0i: T = a[1] + a[8];
    let y1r: T = a[0] + a[9];
    let y1i: T = a[1] - a[8];
    x0r = a[4] - a[13];
    x0i = a[5] + a[12];
    let y2r: T = wn4r * (x0r - x0i);
    let y2i: T = wn4r * (x0i + x0r);
    x0r = a[4] + a[13];
    x0i = a[5] - a[12];
    let y3r: T = wn4r * (x0r - x0i);
    let y3i: T = wn4r * (x0i + x0r);
    x0r = a[2] - a[11];
    x0i = a[3] + a[10];
    let y4r: T = wk1r * x0r - wk1i * x0i;
    let y4i: T = wk1r * x0i + wk1i * x0r;
    x0r = a[2] + a[11];
    x0i = a[3] - a[10];
    let y5r: T = wk1i * x0r - wk1r * x0i;
    let y5i: T = wk1i * x0i + wk1r * x0r;
    x0r = a[6] - a[15];
    x0i = a[7] + a[14];
    let y6r: T = wk1i * x0r - wk1r * x0i;
    let y6i: T = wk1i * x0i + wk1r * x0r;
    x0r = a[6] + a[15];
    x0i = a[7] - a[14];
    let y7r: T = wk1r * x0r - wk1i * x0i;
    let y7i: T = wk1r * x0i + wk1i * x0r;
    x0r = y0r + y2r;
    x0i = y0i + y2i;
    x1r = y4r + y6r;
    x1i = y4i + y6i;
    a[0] = x0r + x1r;
    a[1] = x0i + x1i;
    a[2] = x0r - x1r;
    a[3] = x0i - x1i;
    x0r = y0r - y2r;
    x0i = y0i - y2i;
    x1r = y4r - y6r;
    x1i = y4i - y6i;
    a[4] = x0r - x1i;
    a[5] = x0i + x1r;
    a[6] = x0r + x1i;
    a[7] = x0i - x1r;
    x0r = y1r - y3i;
    x0i = y1i + y3r;
    x1r = y5r - y7r;
    x1i = y5i - y7i;
    a[8] = x0r + x1r;
    a[9] = x0i + x1i;
    a[10] = x0r - x1r;
    a[11] = x0i - x1i;
    x0r = y1r + y3i;
    x0i = y1i - y3r;
    x1r = y5r + y7r;
    x1i = y5i + y7i;
    a[12] = x0r - x1i;
    a[13] = x0i + x1r;
    a[14] = x0r + x1i;
    a[15] = x0i - x1r;
}

fn cftf040<T: Lane>(a: &mut [T]) {
    let x0r: T = a[0] + a[4];
    let x0i: T = a[1] + a[5];
    let x1r: T = a[0] - a[4];
    let x1i: T = a[1] - a[5];
    let x2r: T = a[2] + a[6];
    let x2i: T = a[3] + a[7];
    let x3r: T = a[2] - a[6];
    let x3i: T = a[3] - a[7];
    a[0] = x0r + x2r;
    a[1] = x0i + x2i;
    a[2] = x1r - x3i;
    a[3] = x1i + x3r;
    a[4] = x0r - x2r;
    a[5] = x0i - x2i;
    a[6] = x1r + x3i;
    a[7] = x1i - x3r;
}

fn cftx020<T: Lane>(a: &mut [T]) {
    let x0r: T = a[0] - a[2];
    let x0i: T = a[1] - a[3];
    a[0] += a[2];
    a[1] += a[3];
    a[2] = x0r;
    a[3] = x0i;
}

fn rftfsub<T: Lane>(n: usize, a: &mut [T], nc: usize, c: &[f32]) {
    let mut j: usize;
    let mut k: usize;
    let mut kk: usize;

    let mut wkr: T;
    let mut wki: T;
    let mut xr: T;
    let mut xi: T;
    let mut yr: T;
    let mut yi: T;

    let m: usize = n >> 1;
    let ks: usize = 2 * nc / m;
    kk = 0;
    j = 2;
    while j < m {
        k = n - j;
        kk += ks;
        wkr = T::splat(0.5) - T::splat(c[nc - kk]);
        wki = T::splat(c[kk]);
        xr = a[j] - a[k];
        xi = a[j + 1] + a[k + 1];
        yr = wkr * xr - wki * xi;
        yi = wkr * xi + wki * xr;
        a[j] -= yr;
        a[j + 1] -= yi;
        a[k] += yr;
        a[k + 1] -= yi;
        j += 2;
    }
}

fn rftbsub<T: Lane>(n: usize, a: &mut [T], nc: usize, c: &[f32]) {
    let mut j: usize;
    let mut k: usize;
    let mut kk: usize;

    let mut wkr: T;
    let mut wki: T;
    let mut xr: T;
    let mut xi: T;
    let mut yr: T;
    let mut yi: T;

    let m: usize = n >> 1;
    let ks: usize = 2 * nc / m;
    kk = 0;
    j = 2;
    while j < m {
        k = n - j;
        kk += ks;
        wkr = T::splat(0.5) - T::splat(c[nc - kk]);
        wki = T::splat(c[kk]);
        xr = a[j] - a[k];
        xi = a[j + 1] + a[k + 1];
        yr = wkr * xr + wki * xi;
        yi = wkr * xi - wki * xr;
        a[j] -= yr;
        a[j + 1] -= yi;
        a[k] += yr;
        a[k + 1] -= yi;
        j += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic test signal in [−1, 1), exactly representable in f32.
    fn signal(n: usize) -> Vec<f32> {
        let mut s = n as u64;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / 16_777_216.0) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_a_double_precision_dft() {
        for n in [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] {
            let x = signal(n);
            let mut a = x.clone();
            Rdft::new(n).forward(&mut a);
            let scale = (n as f64).sqrt();
            for k in 0..=n / 2 {
                let arg = |j: usize| 2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                let re: f64 = x.iter().enumerate().map(|(j, &v)| v as f64 * arg(j).cos()).sum();
                let im: f64 = x.iter().enumerate().map(|(j, &v)| v as f64 * arg(j).sin()).sum();
                let (got_re, got_im) = match k {
                    0 => (a[0] as f64, 0.0),
                    k if k == n / 2 => (a[1] as f64, 0.0),
                    k => (a[2 * k] as f64, a[2 * k + 1] as f64),
                };
                assert!(
                    (got_re - re).abs() < 1e-5 * scale && (got_im - im).abs() < 1e-5 * scale,
                    "n={n} k={k}: ({got_re}, {got_im}) vs ({re}, {im})"
                );
            }
        }
    }

    /// FNV-1a of the output bit patterns, pinned to those of Ooura's fftsg.c as openSMILE 3.0.2
    /// compiles it (FLOAT_TYPE_FFT = float; gcc 12, -O0 and -O2 agree) on the same signal:
    /// the port is bit-exact at every size, every code path of `cftfsub` included.
    #[test]
    fn bit_exact_with_ooura_single_precision() {
        let want: [(usize, u64); 11] = [
            (4, 0xac7a46bbc0cf2abe),
            (8, 0x41acc48a248d9bb3),
            (16, 0x67f9aa064137cd93),
            (32, 0xcee81b03d7d7dcb6),
            (64, 0x068aaf431138d510),
            (128, 0xe48102f3d9442053),
            (256, 0x445729741eef172a),
            (512, 0xedf10b959cda6d34),
            (1024, 0x93605e0377199c8e),
            (2048, 0xfd78923f8b57ba37),
            (4096, 0x8288e0c217f813a8),
        ];
        for (n, hash) in want {
            let mut a = signal(n);
            Rdft::new(n).forward(&mut a);
            assert_eq!(fnv(&a), hash, "n = {n}");
        }
    }

    fn fnv(a: &[f32]) -> u64 {
        let mut h = 1469598103934665603u64;
        for v in a {
            for b in v.to_bits().to_le_bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(1099511628211);
            }
        }
        h
    }

    /// The inverse, pinned the same way: `rdft(n, -1, …)` of fftsg.c as openSMILE compiles it
    /// (gcc 12, -O0 and -O2 agree), on the same signal read as Ooura's spectrum layout.
    #[test]
    fn inverse_is_bit_exact_with_ooura_single_precision() {
        let want: [(usize, u64); 7] = [
            (64, 0xf172c32d743aa93c),
            (128, 0xb05ed84097371cac),
            (256, 0xd0b5225d89a55237),
            (512, 0x0956acf7ea41e2da),
            (1024, 0x681583f96bc68ba2),
            (2048, 0xe5e850920899b628),
            (4096, 0x66c20f3514fa1044),
        ];
        for (n, hash) in want {
            let mut a = signal(n);
            Rdft::new(n).inverse(&mut a);
            assert_eq!(fnv(&a), hash, "n = {n}");
        }
    }

    /// inverse(forward(x)) = x·n/2 (Ooura's scaling), to single-precision rounding.
    #[test]
    fn inverse_undoes_forward() {
        for n in [64, 512, 4096] {
            let x = signal(n);
            let mut a = x.clone();
            let fft = Rdft::new(n);
            fft.forward(&mut a);
            fft.inverse(&mut a);
            for (j, (&got, &want)) in a.iter().zip(&x).enumerate() {
                let back = got as f64 * 2.0 / n as f64;
                assert!((back - want as f64).abs() < 1e-5, "n={n} j={j}: {back} vs {want}");
            }
        }
    }

    /// Eight transforms side by side give each lane exactly the scalar transform's bits, at
    /// every size and code path, forward and inverse (eight different signals, one per lane).
    #[test]
    fn eight_lanes_are_eight_scalar_transforms() {
        for n in [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] {
            let fft = Rdft::new(n);
            let signals: Vec<Vec<f32>> = (0..8).map(|k| signal(n + k).into_iter().take(n).collect()).collect();
            let mut lanes: Vec<F32x8> = (0..n).map(|j| F32x8(std::array::from_fn(|k| signals[k][j]))).collect();
            fft.forward(&mut lanes);
            let mut back = lanes.clone();
            for (k, x) in signals.iter().enumerate() {
                let mut a = x.clone();
                fft.forward(&mut a);
                let lane: Vec<f32> = lanes.iter().map(|v| v.0[k]).collect();
                assert_eq!(fnv(&lane), fnv(&a), "forward, n = {n}, lane {k}");
                if n >= 64 {
                    fft.inverse(&mut a);
                    if k == 0 {
                        fft.inverse(&mut back);
                    }
                    let lane: Vec<f32> = back.iter().map(|v| v.0[k]).collect();
                    assert_eq!(fnv(&lane), fnv(&a), "inverse, n = {n}, lane {k}");
                }
            }
        }
    }
}
