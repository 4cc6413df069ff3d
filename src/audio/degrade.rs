//! Degraded copies of a recording, for training that holds on recording chains it never heard:
//! the same speech as another room, microphone, bandwidth, background and level would give it.
//!
//! A chain is drawn at random, each stage independently (the distributions the screen in
//! docs/experiments.md used): a room (probability 0.3; exponentially decaying noise as its
//! impulse response, RT60 0.2–0.7 s), a low shelf (0.5; 200–500 Hz, ±8 dB) and a high shelf
//! (0.5; 1.5–4 kHz, ±8 dB) as a microphone's colouring, a band limit (0.25; 8th-order
//! Butterworth low-pass at 3.4–7 kHz, as telephone or low-rate recordings have), background
//! noise (0.6; white, pink or brown at 5–30 dB SNR) and a level change (always; ±12 dB, then
//! scaled down if the peak would clip a file).

use crate::rng::Rng;

/// Colours of background noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    White,
    /// −3 dB per octave.
    Pink,
    /// −6 dB per octave.
    Brown,
}

/// One recording chain; `None` stages are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Degradation {
    /// RT60 of the room, in seconds.
    pub room_rt60_s: Option<f64>,
    /// (corner frequency in Hz, gain in dB).
    pub low_shelf: Option<(f64, f64)>,
    pub high_shelf: Option<(f64, f64)>,
    /// Cut-off of the band limit, in Hz.
    pub low_pass_hz: Option<f64>,
    /// Background noise and its signal-to-noise ratio in dB (against the mean power of the
    /// whole recording).
    pub noise: Option<(Noise, f64)>,
    /// Level change in dB.
    pub gain_db: f64,
}

fn uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.uniform()
}

impl Degradation {
    /// Draws a chain (distributions in the module's documentation).
    pub fn draw(rng: &mut Rng) -> Self {
        let room_rt60_s = (rng.uniform() < 0.3).then(|| uniform(rng, 0.2, 0.7));
        let low_shelf = (rng.uniform() < 0.5).then(|| (uniform(rng, 200.0, 500.0), uniform(rng, -8.0, 8.0)));
        let high_shelf = (rng.uniform() < 0.5).then(|| (uniform(rng, 1500.0, 4000.0), uniform(rng, -8.0, 8.0)));
        let low_pass_hz = (rng.uniform() < 0.25).then(|| uniform(rng, 3400.0, 7000.0));
        let noise = (rng.uniform() < 0.6).then(|| {
            let kind = [Noise::White, Noise::Pink, Noise::Brown][(rng.next_u64() % 3) as usize];
            (kind, uniform(rng, 5.0, 30.0))
        });
        let gain_db = uniform(rng, -12.0, 12.0);
        Self { room_rt60_s, low_shelf, high_shelf, low_pass_hz, noise, gain_db }
    }

    /// Mono `samples` at `rate` through this chain; `rng` draws the room's response and the
    /// noise. Stages whose frequency lies above the Nyquist frequency are skipped.
    pub fn apply(&self, samples: &[f32], rate: u32, rng: &mut Rng) -> Vec<f32> {
        let fs = rate as f64;
        let nyquist = fs / 2.0;
        let mut x: Vec<f64> = samples.iter().map(|&v| v as f64).collect();
        if let Some(rt60) = self.room_rt60_s {
            let n = ((rt60 * fs) as usize).max(1);
            let mut h: Vec<f64> = (0..n).map(|i| rng.normal() * (-6.9 * i as f64 / fs / rt60).exp()).collect();
            h[0] = 1.0;
            let energy = h.iter().map(|v| v * v).sum::<f64>().sqrt();
            h.iter_mut().for_each(|v| *v /= energy);
            x = convolve(&x, &h);
        }
        if let Some((f0, g)) = self.low_shelf.filter(|(f0, _)| *f0 < nyquist) {
            Biquad::shelf(fs, f0, g, false).run(&mut x);
        }
        if let Some((f0, g)) = self.high_shelf.filter(|(f0, _)| *f0 < nyquist) {
            Biquad::shelf(fs, f0, g, true).run(&mut x);
        }
        if let Some(fc) = self.low_pass_hz.filter(|fc| *fc < nyquist) {
            // 8th order: four sections with the Butterworth Qs 1 / (2 cos((2k − 1)π / 16)).
            for k in 1..=4 {
                let q = 1.0 / (2.0 * ((2 * k - 1) as f64 * std::f64::consts::PI / 16.0).cos());
                Biquad::low_pass(fs, fc, q).run(&mut x);
            }
        }
        if let Some((kind, snr_db)) = self.noise {
            let noise = noise(kind, x.len(), rng);
            let px = x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64;
            let pn = noise.iter().map(|v| v * v).sum::<f64>() / noise.len().max(1) as f64;
            if px > 0.0 && pn > 0.0 {
                let scale = (px / pn / 10f64.powf(snr_db / 10.0)).sqrt();
                x.iter_mut().zip(&noise).for_each(|(v, n)| *v += n * scale);
            }
        }
        let gain = 10f64.powf(self.gain_db / 20.0);
        let peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs())) * gain;
        let gain = if peak > 0.999 { gain * 0.999 / peak } else { gain };
        x.iter().map(|v| (v * gain) as f32).collect()
    }
}

/// The chain of `seed` applied to `samples`: the same seed gives the same copy.
pub fn degrade(samples: &[f32], rate: u32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let chain = Degradation::draw(&mut rng);
    chain.apply(samples, rate, &mut rng)
}

/// `x` convolved with `h`, cut to `x`'s length (FFT convolution).
fn convolve(x: &[f64], h: &[f64]) -> Vec<f64> {
    use realfft::RealFftPlanner;
    let n = (x.len() + h.len() - 1).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let spectrum = |v: &[f64]| {
        let mut buf = vec![0.0; n];
        buf[..v.len()].copy_from_slice(v);
        let mut out = fwd.make_output_vec();
        // Lengths come from the plan, so the transform cannot fail.
        let _ = fwd.process(&mut buf, &mut out);
        out
    };
    let (a, b) = (spectrum(x), spectrum(h));
    let mut prod: Vec<_> = a.iter().zip(&b).map(|(p, q)| p * q).collect();
    // A real signal's spectrum has real end bins; rounding may leave an imaginary residue that
    // the inverse transform refuses.
    if let Some(first) = prod.first_mut() {
        first.im = 0.0;
    }
    if let Some(last) = prod.last_mut() {
        last.im = 0.0;
    }
    let mut out = inv.make_output_vec();
    let _ = inv.process(&mut prod, &mut out);
    out.truncate(x.len());
    out.iter_mut().for_each(|v| *v /= n as f64);
    out
}

fn noise(kind: Noise, n: usize, rng: &mut Rng) -> Vec<f64> {
    let white = (0..n).map(|_| rng.normal());
    match kind {
        Noise::White => white.collect(),
        Noise::Pink => {
            // Paul Kellet's economy filter: within 0.05 dB of −3 dB/octave above 40 Hz at 16 kHz.
            const B: [f64; 4] = [0.049922035, -0.095993537, 0.050612699, -0.004408786];
            const A: [f64; 4] = [1.0, -2.494956002, 2.017265875, -0.522189400];
            let mut xs = [0.0; 4];
            let mut ys = [0.0; 4];
            white
                .map(|w| {
                    xs = [w, xs[0], xs[1], xs[2]];
                    let y = (0..4).map(|i| B[i] * xs[i]).sum::<f64>() - (1..4).map(|i| A[i] * ys[i - 1]).sum::<f64>();
                    ys = [y, ys[0], ys[1], ys[2]];
                    y
                })
                .collect()
        }
        Noise::Brown => {
            // Leaky integration: −6 dB/octave above a few hertz.
            let mut acc = 0.0;
            white
                .map(|w| {
                    acc = 0.999 * acc + w;
                    acc
                })
                .collect()
        }
    }
}

/// One second-order section (Robert Bristow-Johnson's audio EQ cookbook), direct form I.
struct Biquad {
    b: [f64; 3],
    a: [f64; 3],
}

impl Biquad {
    /// A shelf of `gain_db` below (`high` false) or above `f0`, slope 1.
    fn shelf(fs: f64, f0: f64, gain_db: f64, high: bool) -> Self {
        let a = 10f64.powf(gain_db / 40.0);
        let w0 = 2.0 * std::f64::consts::PI * f0 / fs;
        let (cw, alpha) = (w0.cos(), w0.sin() / 2.0 * 2f64.sqrt());
        let s = 2.0 * a.sqrt() * alpha;
        let sign = if high { 1.0 } else { -1.0 };
        Self {
            b: [
                a * ((a + 1.0) + sign * (a - 1.0) * cw + s),
                -2.0 * sign * a * ((a - 1.0) + sign * (a + 1.0) * cw),
                a * ((a + 1.0) + sign * (a - 1.0) * cw - s),
            ],
            a: [
                (a + 1.0) - sign * (a - 1.0) * cw + s,
                2.0 * sign * ((a - 1.0) - sign * (a + 1.0) * cw),
                (a + 1.0) - sign * (a - 1.0) * cw - s,
            ],
        }
    }

    fn low_pass(fs: f64, fc: f64, q: f64) -> Self {
        let w0 = 2.0 * std::f64::consts::PI * fc / fs;
        let (cw, alpha) = (w0.cos(), w0.sin() / (2.0 * q));
        Self { b: [(1.0 - cw) / 2.0, 1.0 - cw, (1.0 - cw) / 2.0], a: [1.0 + alpha, -2.0 * cw, 1.0 - alpha] }
    }

    fn run(&self, x: &mut [f64]) {
        let [b0, b1, b2] = self.b.map(|v| v / self.a[0]);
        let (a1, a2) = (self.a[1] / self.a[0], self.a[2] / self.a[0]);
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in x.iter_mut() {
            let y = b0 * *v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            (x2, x1, y2, y1) = (x1, *v, y1, y);
            *v = y;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: u32 = 16_000;

    fn sine(f: f64, secs: f64, amp: f64) -> Vec<f32> {
        (0..(secs * FS as f64) as usize).map(|i| (amp * (2.0 * std::f64::consts::PI * f * i as f64 / FS as f64).sin()) as f32).collect()
    }

    /// Level in dB of the second half (past the filters' transients).
    fn level_db(x: &[f32]) -> f64 {
        let tail = &x[x.len() / 2..];
        10.0 * (tail.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / tail.len() as f64).log10()
    }

    fn only(gain_db: f64) -> Degradation {
        Degradation { room_rt60_s: None, low_shelf: None, high_shelf: None, low_pass_hz: None, noise: None, gain_db }
    }

    #[test]
    fn a_level_change_scales_the_samples_and_never_clips() {
        let x = sine(440.0, 0.5, 0.1);
        let y = only(-6.0).apply(&x, FS, &mut Rng::new(1));
        let g = 10f64.powf(-6.0 / 20.0);
        assert!(x.iter().zip(&y).all(|(a, b)| ((*a as f64) * g - *b as f64).abs() < 1e-7));
        // +40 dB would take a 0.1 peak to 10: it is held at 0.999.
        let loud = only(40.0).apply(&x, FS, &mut Rng::new(1));
        let peak = loud.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.999).abs() < 1e-6, "{peak}");
    }

    #[test]
    fn the_band_limit_is_an_eighth_order_butterworth() {
        let chain = Degradation { low_pass_hz: Some(4000.0), ..only(0.0) };
        let pass = chain.apply(&sine(500.0, 1.0, 0.5), FS, &mut Rng::new(1));
        assert!((level_db(&pass) - level_db(&sine(500.0, 1.0, 0.5))).abs() < 0.01);
        // Bilinear transform: 6 kHz at 16 kHz maps to tan(π·6/16) / tan(π·4/16) = 2.414 times
        // the analogue cut-off, where |H|² = 1 / (1 + 2.414^16): −61.2 dB.
        let stop = chain.apply(&sine(6000.0, 1.0, 0.5), FS, &mut Rng::new(1));
        let expected = -10.0 * (1.0 + ((std::f64::consts::PI * 6.0 / 16.0).tan()).powi(16)).log10();
        let got = level_db(&stop) - level_db(&sine(6000.0, 1.0, 0.5));
        assert!((got - expected).abs() < 0.1, "{got} dB, expected {expected}");
    }

    #[test]
    fn a_low_shelf_lifts_the_lows_by_its_gain_and_leaves_the_highs() {
        let chain = Degradation { low_shelf: Some((300.0, 6.0)), ..only(0.0) };
        let low = chain.apply(&sine(20.0, 2.0, 0.3), FS, &mut Rng::new(1));
        let high = chain.apply(&sine(5000.0, 1.0, 0.3), FS, &mut Rng::new(1));
        assert!((level_db(&low) - level_db(&sine(20.0, 2.0, 0.3)) - 6.0).abs() < 0.1);
        assert!((level_db(&high) - level_db(&sine(5000.0, 1.0, 0.3))).abs() < 0.1);
        let cut = Degradation { high_shelf: Some((2000.0, -8.0)), ..only(0.0) };
        let top = cut.apply(&sine(7500.0, 1.0, 0.3), FS, &mut Rng::new(1));
        assert!((level_db(&top) - level_db(&sine(7500.0, 1.0, 0.3)) + 8.0).abs() < 0.3);
    }

    #[test]
    fn noise_is_added_at_the_asked_signal_to_noise_ratio() {
        let x = sine(300.0, 1.0, 0.2);
        for kind in [Noise::White, Noise::Pink, Noise::Brown] {
            let y = Degradation { noise: Some((kind, 12.0)), ..only(0.0) }.apply(&x, FS, &mut Rng::new(7));
            let ps: f64 = x.iter().map(|&v| (v as f64).powi(2)).sum();
            let pn: f64 = x.iter().zip(&y).map(|(a, b)| (*b as f64 - *a as f64).powi(2)).sum();
            let snr = 10.0 * (ps / pn).log10();
            assert!((snr - 12.0).abs() < 1e-3, "{kind:?}: {snr} dB");
        }
    }

    #[test]
    fn a_room_keeps_the_energy_of_an_impulse_and_decays_60_db_over_its_rt60() {
        let mut x = vec![0.0f32; 16_000];
        x[0] = 1.0;
        let y = Degradation { room_rt60_s: Some(0.5), ..only(0.0) }.apply(&x, FS, &mut Rng::new(3));
        let energy: f64 = y.iter().map(|&v| (v as f64).powi(2)).sum();
        assert!((energy - 1.0).abs() < 1e-5, "{energy}");
        // The response decays by 60 dB over its RT60: 0.3 s later, 36 dB weaker.
        let band = |from: usize| y[from..from + 1600].iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        let decay = 10.0 * (band(0) / band(4800)).log10();
        assert!((decay - 36.0).abs() < 2.0, "{decay} dB");
        assert!(y[8000..].iter().all(|&v| v.abs() < 1e-6), "nothing after the response ends");
    }

    #[test]
    fn a_seed_fixes_the_copy() {
        let x = sine(200.0, 0.5, 0.3);
        assert_eq!(degrade(&x, FS, 11), degrade(&x, FS, 11));
        let differ = (12..20).filter(|&s| degrade(&x, FS, s) != degrade(&x, FS, 11)).count();
        assert_eq!(differ, 8);
        assert_eq!(degrade(&x, FS, 11).len(), x.len());
    }
}
