//! Framing geometry, windows, FFT with symmetric zero padding, and small numeric helpers
//! shared by the LLD stages (egemaps-spec §3).

#[cfg(test)]
use std::sync::Arc;

#[cfg(test)]
use realfft::num_complex::Complex;
#[cfg(test)]
use realfft::{RealFftPlanner, RealToComplex};

use crate::ooura::F32x8;

/// C's `round()`: halves away from zero (Rust's `f64::round` does the same).
pub(crate) fn cround(x: f64) -> usize {
    x.round() as usize
}

/// Every size derived from the sample rate (spec §3.1, §3.3).
#[derive(Debug, Clone)]
pub(crate) struct Geometry {
    pub fs: f64,
    /// 20 ms frame length (the "25" stream).
    pub l20: usize,
    /// 60 ms frame length.
    pub l60: usize,
    /// Hop between frames (cround(0.01·fs)).
    pub hop: usize,
    pub nfft20: usize,
    pub nfft60: usize,
    /// Bin spacing (Hz) of the 20 ms and 60 ms spectra as openSMILE has it: 1 / the FFT level's
    /// frame duration, which is the configured length (0.020 or 0.060 s, not `L/fs`) times
    /// `Nfft/L` (transformFft.cpp). It is `fs/Nfft` wherever the configured length is a whole
    /// number of samples; at 11.025 kHz (220.5 and 661.5 samples, rounded to 221 and 662) it is
    /// `L/L_exact` times that.
    pub df20: f64,
    pub df60: f64,
}

/// openSMILE's FFT level frame duration (s): the configured frame length scaled by the zero
/// padding, `nominal · (Nfft/L)` in its order of operations.
fn fft_frame_sec(nominal_s: f64, len: usize, nfft: usize) -> f64 {
    nominal_s * (nfft as f64 / len as f64)
}

impl Geometry {
    pub fn new(sample_rate: u32) -> Self {
        let fs = sample_rate as f64;
        let l20 = cround(0.020 * fs);
        let l60 = cround(0.060 * fs);
        let hop = cround(0.010 * fs);
        let (nfft20, nfft60) = (l20.next_power_of_two(), l60.next_power_of_two());
        let df20 = 1.0 / fft_frame_sec(0.020, l20, nfft20);
        let df60 = 1.0 / fft_frame_sec(0.060, l60, nfft60);
        Self { fs, l20, l60, hop, nfft20, nfft60, df20, df60 }
    }

    /// The 60 ms FFT level's frame duration (s), whose reciprocal is [`Geometry::df60`].
    pub fn fft_sec60(&self) -> f64 {
        fft_frame_sec(0.060, self.l60, self.nfft60)
    }

    pub fn bins20(&self) -> usize {
        self.nfft20 / 2 + 1
    }

    pub fn bins60(&self) -> usize {
        self.nfft60 / 2 + 1
    }

    /// Number of complete frames of length `len` in `n` samples.
    #[cfg(test)]
    pub fn frames(&self, n: usize, len: usize) -> usize {
        if n >= len { (n - len) / self.hop + 1 } else { 0 }
    }
}

pub(crate) fn hamming(len: usize) -> Vec<f64> {
    let d = (len.max(2) - 1) as f64;
    (0..len).map(|n| 0.54 - 0.46 * (2.0 * std::f64::consts::PI * n as f64 / d).cos()).collect()
}

pub(crate) fn gaussian(len: usize, sigma: f64) -> Vec<f64> {
    let half = (len.max(2) - 1) as f64 / 2.0;
    (0..len)
        .map(|n| {
            let t = (n as f64 - half) / (sigma * half);
            (-0.5 * t * t).exp()
        })
        .collect()
}

/// A windowed real FFT with openSMILE's symmetric zero padding: `(nfft − len)/2` zeros, the
/// windowed frame, then the rest — in f64: the reference the f32 transforms are checked against
/// (the analysis itself uses openSMILE's f32 arithmetic, [`OouraFramedFft`]).
#[cfg(test)]
pub(crate) struct FramedFft {
    window: Vec<f64>,
    pad: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    input: Vec<f64>,
    scratch: Vec<Complex<f64>>,
    spectrum: Vec<Complex<f64>>,
}

#[cfg(test)]
impl FramedFft {
    pub fn new(window: Vec<f64>, nfft: usize) -> Self {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(nfft);
        let pad = (nfft - window.len()) / 2;
        Self { input: fft.make_input_vec(), scratch: fft.make_scratch_vec(), spectrum: fft.make_output_vec(), window, pad, fft }
    }

    /// Transforms `frame` (exactly the window's length) into `self.spectrum`.
    pub fn run(&mut self, frame: &[f32]) {
        // Only the padding needs zeroing (the FFT leaves the whole buffer scrambled); the frame
        // overwrites the rest.
        let len = self.window.len();
        self.input[..self.pad].fill(0.0);
        self.input[self.pad + len..].fill(0.0);
        for (v, (&x, &w)) in self.input[self.pad..self.pad + len].iter_mut().zip(frame.iter().zip(&self.window)) {
            *v = x as f64 * w;
        }
        // The plan sizes match by construction, so this cannot fail.
        let _ = self.fft.process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
    }

    pub fn magnitudes(&self, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.spectrum.iter().map(|c| (c.re * c.re + c.im * c.im).sqrt()));
    }
}

/// [`FramedFft`] as openSMILE computes it: the window rounded to f32 and applied in f32, Ooura's
/// FFT in single precision, magnitudes `sqrt(re² + im²)` in f32. Used for both frame streams
/// (the 20 ms one through the formant analyser, which reads the same transform). Some LLDs are
/// chaotic in the last bit — two adjacent ACF values that tie exactly in openSMILE's f32
/// arithmetic are neither of them a peak (egemaps-spec §4.10), and near-silent unvoiced frames
/// pass the non-zero filter or not — so the spectrum is reproduced bit for bit.
pub(crate) struct OouraFramedFft {
    window: Vec<f32>,
    pad: usize,
    fft: crate::ooura::Rdft,
    buf: Vec<f32>,
    /// Mean power of the last windowed frame, taken before the FFT (which transforms the
    /// buffer in place) by [`run_measured`](Self::run_measured).
    mean_square: f64,
    /// [`run_batch`](Self::run_batch)'s frames interleaved, eight transforms side by side.
    lanes: Vec<F32x8>,
    /// The last batch's spectra, frame after frame (`nfft` values each).
    batch: Vec<f32>,
    /// The last batch's windowed mean powers.
    batch_mean_square: [f64; BATCH],
}

/// Most frames [`OouraFramedFft::run_batch`] transforms at once.
pub(crate) const BATCH: usize = 8;
/// Fewest frames worth transforming side by side (eight lanes cost about two single transforms);
/// fewer go one by one, with the same bits.
pub(crate) const MIN_BATCH: usize = 3;

impl OouraFramedFft {
    pub fn new(window: Vec<f64>, nfft: usize) -> Self {
        let pad = (nfft - window.len()) / 2;
        Self {
            window: window.into_iter().map(|w| w as f32).collect(),
            pad,
            fft: crate::ooura::Rdft::new(nfft),
            buf: vec![0.0; nfft],
            mean_square: 0.0,
            lanes: vec![F32x8::default(); nfft],
            batch: vec![0.0; BATCH * nfft],
            batch_mean_square: [0.0; BATCH],
        }
    }

    /// [`run_measured`](Self::run_measured) of up to [`BATCH`] frames at once: the transforms
    /// run side by side, each frame's spectrum bit for bit what `run_measured` gives it alone.
    /// Read them with [`batch_spectrum`](Self::batch_spectrum) and
    /// [`batch_magnitudes`](Self::batch_magnitudes).
    pub fn run_batch(&mut self, frames: &[&[f32]]) {
        assert!(frames.len() <= BATCH, "at most {BATCH} frames per batch");
        let (len, pad, nfft) = (self.window.len(), self.pad, self.batch.len() / BATCH);
        self.lanes[..pad].fill(F32x8::default());
        self.lanes[pad + len..].fill(F32x8::default());
        // The frames side by side: each frame's power sum is its own chain of additions in
        // sample order, and the chains overlap.
        // A short batch's missing frames are silent (zero) lanes.
        let b = frames.len();
        let zeros = vec![0.0f32; if b < BATCH { len } else { 0 }];
        let frames: [&[f32]; BATCH] = std::array::from_fn(|k| if k < b { &frames[k][..len] } else { &zeros[..len] });
        let mut sum = [0.0f64; BATCH];
        for (i, (v, &w)) in self.lanes[pad..pad + len].iter_mut().zip(&self.window).enumerate() {
            let y: [f32; BATCH] = std::array::from_fn(|k| frames[k][i] * w);
            v.0 = y;
            for k in 0..BATCH {
                sum[k] += (y[k] as f64) * (y[k] as f64);
            }
        }
        for (m, s) in self.batch_mean_square.iter_mut().zip(&sum).take(b) {
            *m = s / len as f64;
        }
        self.fft.forward(&mut self.lanes);
        for (k, out) in self.batch.chunks_exact_mut(nfft).take(b).enumerate() {
            for (o, v) in out.iter_mut().zip(&self.lanes) {
                *o = v.0[k];
            }
        }
    }

    /// Frame `k` of the last [`run_batch`](Self::run_batch), in Ooura's layout.
    pub fn batch_spectrum(&self, k: usize) -> &[f32] {
        let nfft = self.buf.len();
        &self.batch[k * nfft..(k + 1) * nfft]
    }

    /// [`magnitudes`](Self::magnitudes) of frame `k` of the last batch.
    pub fn batch_magnitudes(&self, k: usize, out: &mut Vec<f64>) {
        magnitudes_of(self.batch_spectrum(k), out);
    }

    /// [`windowed_mean_square`](Self::windowed_mean_square) of frame `k` of the last batch.
    pub fn batch_mean_square(&self, k: usize) -> f64 {
        self.batch_mean_square[k]
    }

    /// The symmetrically zero-padded windowed frame (`frame` is exactly the window's length).
    fn window_frame(&mut self, frame: &[f32]) -> &[f32] {
        let len = self.window.len();
        self.buf[..self.pad].fill(0.0);
        self.buf[self.pad + len..].fill(0.0);
        for (v, (&x, &w)) in self.buf[self.pad..self.pad + len].iter_mut().zip(frame.iter().zip(&self.window)) {
            *v = x * w;
        }
        &self.buf[self.pad..self.pad + len]
    }

    /// Transforms `frame` (exactly the window's length).
    pub fn run(&mut self, frame: &[f32]) {
        self.window_frame(frame);
        self.fft.forward(&mut self.buf);
    }

    /// [`run`](Self::run), also keeping the windowed frame's mean power.
    pub fn run_measured(&mut self, frame: &[f32]) {
        let windowed = self.window_frame(frame);
        self.mean_square = windowed.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / windowed.len() as f64;
        self.fft.forward(&mut self.buf);
    }

    /// The last transform in Ooura's layout: `[DC, Nyquist, re₁, im₁, …]`.
    pub fn spectrum(&self) -> &[f32] {
        &self.buf
    }

    /// |X_k| for k = 0..=nfft/2, each rounded as openSMILE's f32 arithmetic rounds it.
    pub fn magnitudes(&self, out: &mut Vec<f64>) {
        magnitudes_of(&self.buf, out);
    }

    /// Sum of squares of the windowed frame, divided by its length (mean power).
    pub fn windowed_mean_square(&self) -> f64 {
        self.mean_square
    }
}

/// |X_k| (k = 0..=nfft/2) of a spectrum in Ooura's layout, `sqrt(re² + im²)` in f32 (compiled
/// for the CPU's vector extensions; a square root is correctly rounded either way).
fn magnitudes_of(b: &[f32], out: &mut Vec<f64>) {
    pulp::Arch::new().dispatch(Magnitudes { b, out })
}

/// [`magnitudes_of`], run by [`pulp::Arch::dispatch`].
struct Magnitudes<'a> {
    b: &'a [f32],
    out: &'a mut Vec<f64>,
}

impl pulp::WithSimd for Magnitudes<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self { b, out } = self;
        let (pairs, _) = b[2..].as_chunks::<2>();
        out.clear();
        out.resize(pairs.len() + 2, 0.0);
        out[0] = b[0].abs() as f64;
        for (o, p) in out[1..=pairs.len()].iter_mut().zip(pairs) {
            *o = (p[0] * p[0] + p[1] * p[1]).sqrt() as f64;
        }
        out[pairs.len() + 1] = b[1].abs() as f64;
    }
}

/// openSMILE's `smileMath_quadFrom3pts`: the vertex of the parabola through three points and
/// its value, falling back to the largest point when no parabola exists.
pub(crate) fn quad_from_3pts(x1: f64, y1: f64, x2: f64, y2: f64, x3: f64, y3: f64) -> (f64, f64) {
    let den = x1 * x1 * x2 + x2 * x2 * x3 + x3 * x3 * x1 - x3 * x3 * x2 - x2 * x2 * x1 - x1 * x1 * x3;
    if den != 0.0 {
        let a = (y1 * x2 + y2 * x3 + y3 * x1 - y3 * x2 - y2 * x1 - y1 * x3) / den;
        let b = (x1 * x1 * y2 + x2 * x2 * y3 + x3 * x3 * y1 - x3 * x3 * y2 - x2 * x2 * y1 - x1 * x1 * y3) / den;
        let c =
            (x1 * x1 * x2 * y3 + x2 * x2 * x3 * y1 + x3 * x3 * x1 * y2 - x3 * x3 * x2 * y1 - x2 * x2 * x1 * y3 - x1 * x1 * x3 * y2) / den;
        if a != 0.0 {
            let x = -b / (2.0 * a);
            return (x, c - a * x * x);
        }
    }
    if y1 > y2 && y1 > y3 {
        (x1, y1)
    } else if y2 > y1 && y2 > y3 {
        (x2, y2)
    } else if y3 > y1 && y3 > y2 {
        (x3, y3)
    } else {
        (x1, y1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_spec_appendix_a() {
        let g = Geometry::new(16_000);
        assert_eq!((g.l20, g.l60, g.hop, g.nfft20, g.nfft60), (320, 960, 160, 512, 1024));
        let g = Geometry::new(22_050);
        assert_eq!((g.l20, g.l60, g.hop, g.nfft20, g.nfft60), (441, 1323, 221, 512, 2048));
        let g = Geometry::new(44_100);
        assert_eq!((g.nfft20, g.nfft60), (1024, 4096));
        let g = Geometry::new(8_000);
        assert_eq!((g.nfft20, g.nfft60), (256, 512));
        assert_eq!(Geometry::new(16_000).frames(959, 960), 0);
        assert_eq!(Geometry::new(16_000).frames(960, 960), 1);
        assert_eq!(Geometry::new(16_000).frames(1600, 320), 9);
    }

    /// The bin spacing is 1 / (configured length · Nfft/L): fs/Nfft where the configured length
    /// is whole samples, and at 11.025 kHz (L20 = round(220.5) = 221 of 256, L60 = 662 of 1024)
    /// 221/(0.020·256) = 43.1640625 Hz and 662/(0.060·1024) Hz, not 11025/256 and 11025/1024.
    #[test]
    fn bin_spacing_follows_the_configured_frame_length() {
        for rate in [8_000u32, 16_000, 22_050, 44_100, 48_000] {
            let g = Geometry::new(rate);
            assert!((g.df20 - rate as f64 / g.nfft20 as f64).abs() < 1e-12, "{rate} Hz");
            assert!((g.df60 - rate as f64 / g.nfft60 as f64).abs() < 1e-12, "{rate} Hz");
        }
        let g = Geometry::new(11_025);
        assert_eq!((g.l20, g.l60, g.hop, g.nfft20, g.nfft60), (221, 662, 110, 256, 1024));
        assert!((g.df20 - 43.1640625).abs() < 1e-12, "{}", g.df20);
        assert!((g.df60 - 662.0 / 61.44).abs() < 1e-12, "{}", g.df60);
        assert!((g.df20 - 11_025.0 / 256.0).abs() > 0.09);
    }

    /// openSMILE's f32 spectrum of a 60 ms frame is the exact one to single-precision rounding.
    #[test]
    fn f32_spectrum_agrees_with_the_f64_one() {
        for rate in [8_000u32, 16_000, 44_100, 48_000] {
            let g = Geometry::new(rate);
            let frame: Vec<f32> = (0..g.l60).map(|n| (0.05 * n as f32).sin() * 0.3 + (0.31 * n as f32).cos() * 0.1).collect();
            let (mut exact, mut single) =
                (FramedFft::new(gaussian(g.l60, 0.4), g.nfft60), OouraFramedFft::new(gaussian(g.l60, 0.4), g.nfft60));
            exact.run(&frame);
            single.run(&frame);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            exact.magnitudes(&mut a);
            single.magnitudes(&mut b);
            assert_eq!(a.len(), b.len());
            let peak = a.iter().cloned().fold(0.0, f64::max);
            for (k, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!((x - y).abs() <= 1e-5 * peak, "{rate} Hz bin {k}: {x} vs {y}");
            }
        }
    }

    /// The gate energy must come from the windowed frame itself: the FFT scrambles its input
    /// buffer, which at 44.1 kHz (4096 points) once gave a 30× too large energy and kept F0
    /// in frames openSMILE gates to unvoiced.
    #[test]
    fn windowed_energy_is_taken_before_the_fft() {
        for rate in [8_000u32, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000] {
            let g = Geometry::new(rate);
            let w = gaussian(g.l60, 0.4);
            let frame: Vec<f32> = (0..g.l60).map(|n| (0.013 * n as f32).sin() * 0.01).collect();
            let want = frame.iter().zip(&w).map(|(&x, &w)| ((x * w as f32) as f64).powi(2)).sum::<f64>() / g.l60 as f64;
            let mut fft = OouraFramedFft::new(w, g.nfft60);
            fft.run_measured(&frame);
            let got = fft.windowed_mean_square();
            assert!((got - want).abs() <= 1e-12 * want, "{rate} Hz: {got} vs {want}");
        }
    }

    /// Frames transformed side by side give each frame's own spectrum and mean power, to the bit.
    #[test]
    fn a_batch_is_its_frames_one_by_one() {
        for rate in [8_000u32, 16_000, 44_100, 48_000] {
            let g = Geometry::new(rate);
            let frames: Vec<Vec<f32>> = (0..5)
                .map(|k| (0..g.l60).map(|n| ((0.011 + 0.003 * k as f32) * n as f32).sin() * 0.2 + 0.01 * k as f32).collect())
                .collect();
            let mut fft = OouraFramedFft::new(gaussian(g.l60, 0.4), g.nfft60);
            let views: Vec<&[f32]> = frames.iter().map(Vec::as_slice).collect();
            fft.run_batch(&views);
            let batch: Vec<(Vec<f32>, f64)> = (0..5).map(|k| (fft.batch_spectrum(k).to_vec(), fft.batch_mean_square(k))).collect();
            for (k, frame) in frames.iter().enumerate() {
                fft.run_measured(frame);
                let bits = |a: &[f32]| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&batch[k].0), bits(fft.spectrum()), "{rate} Hz frame {k}");
                assert_eq!(batch[k].1.to_bits(), fft.windowed_mean_square().to_bits(), "{rate} Hz frame {k}");
            }
        }
    }

    #[test]
    fn parabola_vertex_is_exact() {
        // y = -2(x-1.3)^2 + 5
        let f = |x: f64| -2.0 * (x - 1.3) * (x - 1.3) + 5.0;
        let (x, y) = quad_from_3pts(0.0, f(0.0), 1.0, f(1.0), 2.0, f(2.0));
        assert!((x - 1.3).abs() < 1e-12 && (y - 5.0).abs() < 1e-12);
        // Collinear points have no vertex: the largest point wins.
        assert_eq!(quad_from_3pts(0.0, 1.0, 1.0, 2.0, 2.0, 3.0), (2.0, 3.0));
    }
}
