//! Sample-rate conversion with rubato.
//!
//! Files use rubato's synchronous FFT resampler over the whole clip (`process_all`), which is
//! band-limited and trims the filter delay. Live input uses the same resampler chunk by chunk:
//! device and target rates are fixed nominal rates, so the cheapest alias-free choice is the
//! synchronous one (a polynomial resampler would fold 8–24 kHz energy from a 48 kHz microphone
//! into the speech band that the spectral features measure).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::AudioError;

/// The rate every model-facing feature is computed at.
pub const CANONICAL_RATE: u32 = 16_000;

/// Resamples a whole mono clip from `from` Hz to `to` Hz (identity when equal). The output
/// has `round(len · to / from)` samples and no filter delay.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    let mut rs = StreamResampler::new(from, to)?;
    let mut out = Vec::with_capacity((samples.len() as f64 * to as f64 / from as f64) as usize + 16);
    rs.process(samples, &mut out)?;
    rs.finish(&mut out)?;
    Ok(out)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn err(e: impl std::fmt::Display) -> AudioError {
    AudioError::Resample(e.to_string())
}

/// Chunked mono resampler for streams: push any number of samples, get what is ready.
/// The filter delay is removed from the front, and [`StreamResampler::finish`] flushes the
/// tail, so a stream comes out exactly as long and as aligned as [`resample`]'s output.
/// Allocation happens only at construction and when a caller's block outgrows the buffers.
pub struct StreamResampler {
    inner: Option<Fft<f32>>,
    ratio: f64,
    pending: Vec<f32>,
    out: Vec<f32>,
    chunk_in: usize,
    /// Delay samples still to drop from the output.
    skip: usize,
    consumed: u64,
    produced: u64,
}

impl StreamResampler {
    pub fn new(from: u32, to: u32) -> Result<Self, AudioError> {
        let ratio = to as f64 / from as f64;
        if from == to {
            return Ok(Self { inner: None, ratio, pending: Vec::new(), out: Vec::new(), chunk_in: 0, skip: 0, consumed: 0, produced: 0 });
        }
        // About 20 ms per chunk keeps live latency low while the FFT stays efficient. Rubato's
        // default splits chunks into ~256-frame blocks on the input side, which for large
        // ratios (192 → 16 kHz) leaves tiny output blocks and an anti-aliasing cutoff far
        // inside the speech band; the blocks are sized by the lower-rate side instead.
        let min_block = from as usize / gcd(from as usize, to as usize);
        let chunk = (from as usize / 50).max(64).div_ceil(min_block) * min_block;
        let low_side = chunk * from.min(to) as usize / from as usize;
        let sub_chunks = (low_side / 256).max(1);
        let rs =
            Fft::<f32>::new_custom(from as usize, to as usize, chunk, sub_chunks, 1, WindowFunction::BlackmanHarris2, FixedSync::Input)
                .map_err(err)?;
        let chunk_in = rs.input_frames_next();
        let out = vec![0.0; rs.output_frames_max()];
        let skip = rs.output_delay();
        Ok(Self { inner: Some(rs), ratio, pending: Vec::with_capacity(chunk_in * 2), out, chunk_in, skip, consumed: 0, produced: 0 })
    }

    /// Feeds `input` and appends every completed output sample to `output`.
    pub fn process(&mut self, input: &[f32], output: &mut Vec<f32>) -> Result<(), AudioError> {
        self.consumed += input.len() as u64;
        if self.inner.is_none() {
            output.extend_from_slice(input);
            self.produced += input.len() as u64;
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        self.run_chunks(output)
    }

    fn run_chunks(&mut self, output: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(rs) = self.inner.as_mut() else { return Ok(()) };
        let mut start = 0;
        while self.pending.len() - start >= self.chunk_in {
            let inp = InterleavedSlice::new(&self.pending[start..start + self.chunk_in], 1, self.chunk_in).map_err(err)?;
            let frames_out = self.out.len();
            let mut outp = InterleavedSlice::new_mut(&mut self.out, 1, frames_out).map_err(err)?;
            let (_, produced) = rs.process_into_buffer(&inp, &mut outp, None).map_err(err)?;
            let drop = self.skip.min(produced);
            self.skip -= drop;
            output.extend_from_slice(&self.out[drop..produced]);
            self.produced += (produced - drop) as u64;
            start += self.chunk_in;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// End of stream: flushes the filter so the total output is `round(input · ratio)` samples.
    pub fn finish(&mut self, output: &mut Vec<f32>) -> Result<(), AudioError> {
        let want = (self.consumed as f64 * self.ratio).round() as u64;
        if self.inner.is_some() {
            // Some calls produce nothing while the resampler fills a block, so keep feeding
            // silence until the owed samples are out (bounded: the delay plus one block).
            let mut budget = 4 + (want.saturating_sub(self.produced) as usize + self.skip + self.out.len()) * 2 / self.chunk_in.max(1) * 2;
            while self.produced < want && budget > 0 {
                self.pending.resize(self.pending.len() + self.chunk_in, 0.0);
                self.run_chunks(output)?;
                budget -= 1;
            }
        }
        if self.produced > want {
            let extra = (self.produced - want) as usize;
            output.truncate(output.len().saturating_sub(extra));
            self.produced = want;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, secs: f64, amp: f64) -> Vec<f32> {
        (0..(rate as f64 * secs) as usize)
            .map(|n| (amp * (2.0 * std::f64::consts::PI * freq * n as f64 / rate as f64).sin()) as f32)
            .collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// Frequency of the largest DFT bin, refined by parabolic interpolation.
    pub(crate) fn dominant_frequency(x: &[f32], rate: u32) -> f64 {
        let n = x.len();
        let mut best = (0usize, 0.0f64);
        let mags: Vec<f64> = (0..n / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (i, &v) in x.iter().enumerate() {
                    let ph = -2.0 * std::f64::consts::PI * (k * i) as f64 / n as f64;
                    re += v as f64 * ph.cos();
                    im += v as f64 * ph.sin();
                }
                (re * re + im * im).sqrt()
            })
            .collect();
        for (k, &m) in mags.iter().enumerate() {
            if m > best.1 {
                best = (k, m);
            }
        }
        let k = best.0;
        let (a, b, c) = (mags[k - 1], mags[k], mags[k + 1]);
        let delta = 0.5 * (a - c) / (a - 2.0 * b + c);
        (k as f64 + delta) * rate as f64 / n as f64
    }

    #[test]
    fn tone_keeps_frequency_and_level_across_rates() {
        for &from in &[8_000u32, 22_050, 44_100, 48_000, 96_000, 192_000] {
            let x = tone(1000.0, from, 1.0, 0.5);
            let y = resample(&x, from, CANONICAL_RATE).unwrap();
            let expect_len = (x.len() as f64 * CANONICAL_RATE as f64 / from as f64).round() as i64;
            assert!((y.len() as i64 - expect_len).abs() <= 1, "{from}: len {} vs {expect_len}", y.len());
            // Skip the edges, where the clip starts and stops abruptly.
            let mid = &y[1600..1600 + 4000];
            let db = 20.0 * (rms(mid) / rms(&x[x.len() / 4..x.len() * 3 / 4])).log10();
            assert!(db.abs() < 0.1, "{from} Hz: RMS changed by {db:.3} dB");
            let f = dominant_frequency(&mid[..2000], CANONICAL_RATE);
            assert!((f - 1000.0).abs() < 1.0, "{from} Hz: tone moved to {f:.2} Hz");
        }
    }

    #[test]
    fn speech_band_passes_at_every_rate() {
        // The anti-aliasing filter must leave the speech band (up to 6 kHz) intact.
        for from in [22_050u32, 44_100, 48_000, 96_000, 176_400, 192_000] {
            for f in [100.0, 1000.0, 4000.0, 6000.0] {
                let x = tone(f, from, 1.0, 0.5);
                let y = resample(&x, from, CANONICAL_RATE).unwrap();
                let db = 20.0 * (rms(&y[4000..12000]) / (0.5 / 2f64.sqrt())).log10();
                assert!(db.abs() < 0.1, "{from} Hz input, {f} Hz tone: {db:.3} dB");
            }
        }
    }

    #[test]
    fn output_length_is_exact_for_awkward_rates() {
        for from in [8_000u32, 11_025, 22_050, 32_000, 44_100, 88_200] {
            for n in [1usize, 100, 2205, 44_100, 100_003] {
                let y = resample(&vec![0.1f32; n], from, CANONICAL_RATE).unwrap();
                let want = (n as f64 * CANONICAL_RATE as f64 / from as f64).round() as usize;
                assert_eq!(y.len(), want, "{from} Hz, {n} samples");
            }
        }
    }

    #[test]
    fn streaming_matches_tone_for_odd_block_sizes() {
        let from = 44_100;
        let x = tone(1000.0, from, 1.0, 0.3);
        let mut rs = StreamResampler::new(from, CANONICAL_RATE).unwrap();
        let mut y = Vec::new();
        for block in x.chunks(317) {
            rs.process(block, &mut y).unwrap();
        }
        rs.finish(&mut y).unwrap();
        assert_eq!(y.len(), 16_000);
        assert_eq!(y, resample(&x, from, CANONICAL_RATE).unwrap(), "streaming and whole-clip differ");
        let mid = &y[4000..8000];
        let db = 20.0 * (rms(mid) / rms(&x)).log10();
        assert!(db.abs() < 0.1, "RMS changed by {db:.3} dB");
        let f = dominant_frequency(&mid[..2000], CANONICAL_RATE);
        assert!((f - 1000.0).abs() < 1.0, "tone moved to {f:.2} Hz");
    }
}
