//! Signals with known answers, for tests, benchmarks and the bundled demo clip: tones, seeded
//! noise, glottal pulse trains with set F0, jitter and shimmer, and a formant (vowel) filter.

use std::f64::consts::PI;

/// A sine of `freq` Hz.
pub fn tone(freq: f64, rate: u32, seconds: f64, amp: f64) -> Vec<f32> {
    let n = (rate as f64 * seconds).round() as usize;
    (0..n).map(|i| (amp * (2.0 * PI * freq * i as f64 / rate as f64).sin()) as f32).collect()
}

/// Deterministic uniform white noise in [−amp, amp].
pub fn noise(rate: u32, seconds: f64, amp: f64, seed: u64) -> Vec<f32> {
    let n = (rate as f64 * seconds).round() as usize;
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (amp * ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)) as f32
        })
        .collect()
}

/// Parameters of a glottal pulse train.
#[derive(Debug, Clone, Copy)]
pub struct Pulses {
    /// F0 at the start and end (a linear glide in Hz; equal for a steady pitch).
    pub f0_start: f64,
    pub f0_end: f64,
    /// Alternating period perturbation: periods are T(1 ± jitter/2), so local jitter = `jitter`.
    pub jitter: f64,
    /// Alternating amplitude perturbation: amplitudes are A(1 ± shimmer/2).
    pub shimmer: f64,
    pub amp: f64,
}

/// A train of smooth glottal pulses (raised-cosine opening, 40 % open phase) at exact,
/// fractional pulse times, so F0, jitter and shimmer are what the parameters say.
pub fn pulse_train(rate: u32, seconds: f64, p: Pulses) -> Vec<f32> {
    let fs = rate as f64;
    let n = (fs * seconds).round() as usize;
    let mut out = vec![0.0f64; n];
    let mut t = 0.0;
    let mut k = 0usize;
    while t < seconds {
        let f0 = p.f0_start + (p.f0_end - p.f0_start) * (t / seconds);
        let sign = if k.is_multiple_of(2) { 1.0 } else { -1.0 };
        let period = (1.0 + sign * p.jitter / 2.0) / f0;
        let amp = p.amp * (1.0 + sign * p.shimmer / 2.0);
        let open = 0.4 * period;
        let first = (t * fs).ceil() as usize;
        let last = (((t + open) * fs).floor() as usize).min(n.saturating_sub(1));
        for (i, o) in out.iter_mut().enumerate().take(last + 1).skip(first) {
            let x = (i as f64 / fs - t) / open;
            *o += amp * 0.5 * (1.0 - (2.0 * PI * x).cos());
        }
        t += period;
        k += 1;
    }
    // Remove DC so the waveform swings around zero like speech.
    let mean = out.iter().sum::<f64>() / n.max(1) as f64;
    out.iter().map(|v| (v - mean) as f32).collect()
}

/// Cascade of two-pole resonators at `formants` (frequency, bandwidth in Hz), each with unit
/// gain at DC, applied to `x`.
pub fn formant_filter(x: &[f32], rate: u32, formants: &[(f64, f64)]) -> Vec<f32> {
    let fs = rate as f64;
    let mut y: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for &(f, bw) in formants {
        let r = (-PI * bw / fs).exp();
        let a1 = -2.0 * r * (2.0 * PI * f / fs).cos();
        let a2 = r * r;
        let g = 1.0 + a1 + a2;
        let (mut y1, mut y2) = (0.0, 0.0);
        for v in y.iter_mut() {
            let out = g * *v - a1 * y1 - a2 * y2;
            y2 = y1;
            y1 = out;
            *v = out;
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

/// A vowel: a pulse train through formant resonators, scaled to peak `peak`.
pub fn vowel(rate: u32, seconds: f64, p: Pulses, formants: &[(f64, f64)], peak: f64) -> Vec<f32> {
    let mut y = formant_filter(&pulse_train(rate, seconds, p), rate, formants);
    let m = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if m > 0.0 {
        let g = (peak / m as f64) as f32;
        y.iter_mut().for_each(|v| *v *= g);
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulse_train_has_requested_period_and_jitter() {
        let x = pulse_train(16_000, 0.5, Pulses { f0_start: 100.0, f0_end: 100.0, jitter: 0.0, shimmer: 0.0, amp: 1.0 });
        // Onsets every 160 samples.
        let onsets: Vec<usize> = (1..x.len()).filter(|&i| x[i - 1] <= x[0] && x[i] > x[0] + 1e-6).collect();
        assert!(onsets.windows(2).all(|w| (w[1] - w[0]) == 160), "{onsets:?}");
    }

    #[test]
    fn resonator_passes_dc_and_rings_at_formant() {
        let y = formant_filter(&vec![1.0; 4000], 16_000, &[(700.0, 100.0)]);
        assert!((y[3999] - 1.0).abs() < 1e-4);
    }
}
