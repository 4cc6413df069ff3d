//! Native eGeMAPSv02: the 88 functionals and 25 LLDs, numerically faithful to openSMILE 3
//! (PyPI `opensmile` 2.6.0), computed at the input's native sample rate.
//!
//! Samples and a rate in, functionals and LLDs out: no decoding, no resampling, no I/O.
//! The whole pipeline follows openSMILE's eGeMAPSv02 configuration; section numbers in
//! comments refer to valar's `egemaps-spec.md`. Batch extraction ([`Extractor`]) and live
//! analysis ([`StreamingExtractor`]) share one frame engine, so each sample is analysed once.
//!
//! ```
//! use valar_egemaps::{Extractor, FEATURE_NAMES, synth};
//!
//! let x = synth::tone(220.0, 16_000, 1.0, 0.3);
//! let f = Extractor::new(16_000)?.extract(&x);
//! assert_eq!(FEATURE_NAMES.len(), f.values().len());
//! let f0 = f.get("F0semitoneFrom27.5Hz_sma3nz_amean").unwrap();
//! // 220 Hz is 12·log2(220 / 27.5) = 36 semitones above 27.5 Hz.
//! assert!((f0 - 36.0).abs() < 0.1, "{f0}");
//! # Ok::<(), valar_egemaps::ExtractError>(())
//! ```

mod analyzer;
mod dsp;
mod formants;
mod functionals;
mod names;
mod ooura;
pub mod parity;
mod pitch;
mod spectral;
pub mod synth;
mod voice;

pub use names::{FEATURE_NAMES, LLD_NAMES};

use analyzer::{Analyzer, Contours};
use functionals as fx;
use spectral::{ALPHA, FLUX, HAMMARBERG, LOUDNESS, MFCC1, SLOPE0_500, SLOPE500_1500};

/// Bumped whenever any output value can change; feature caches are keyed by it.
pub const EXTRACTOR_VERSION: &str = "valar-egemaps-2";
pub const N_FEATURES: usize = 88;
/// Lowest sample rate the extractor accepts (Hz).
pub const MIN_RATE: u32 = 8_000;
/// Highest sample rate the extractor accepts (Hz).
pub const MAX_RATE: u32 = 192_000;
pub const N_LLD: usize = 25;
/// LLD frame period (seconds).
pub const FRAME_PERIOD_S: f64 = 0.01;

/// The 88 functionals in [`FEATURE_NAMES`] order. All NaN when the input is shorter than one
/// 60 ms frame, as openSMILE gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Functionals(pub [f64; N_FEATURES]);

impl Functionals {
    pub fn nan() -> Self {
        Self([f64::NAN; N_FEATURES])
    }

    pub fn values(&self) -> &[f64; N_FEATURES] {
        &self.0
    }

    /// The value of the functional called `name` (openSMILE's name).
    pub fn get(&self, name: &str) -> Option<f64> {
        FEATURE_NAMES.iter().position(|n| *n == name).map(|i| self.0[i])
    }

    /// Whether every value is a finite number (false for too-short input).
    pub fn is_valid(&self) -> bool {
        self.0.iter().all(|v| v.is_finite())
    }
}

/// The 25 smoothed LLDs per 10 ms frame (openSMILE's LLD output, N60 + 1 rows).
#[derive(Debug, Clone, PartialEq)]
pub struct LldTable {
    pub rows: Vec<[f64; N_LLD]>,
    /// Duration of the input in seconds (the last row ends there).
    pub duration_s: f64,
}

impl LldTable {
    /// Start and end time of row `t`, as opensmile-python labels them.
    pub fn row_time(&self, t: usize) -> (f64, f64) {
        let start = t as f64 * FRAME_PERIOD_S;
        let end = if t + 1 == self.rows.len() { self.duration_s } else { start + 0.02 };
        (start, end)
    }

    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let i = LLD_NAMES.iter().position(|n| *n == name)?;
        Some(self.rows.iter().map(|r| r[i]).collect())
    }
}

/// Everything one extraction yields.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub functionals: Functionals,
    pub lld: Option<LldTable>,
    /// Share of 10 ms frames with a voiced F0 (0 when there are none).
    pub voiced_ratio: f64,
    pub sample_rate: u32,
    pub duration_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("sample rate {0} Hz is outside 8000–192000 Hz")]
    Rate(u32),
}

/// Batch extractor for one sample rate.
#[derive(Debug, Clone, Copy)]
pub struct Extractor {
    sample_rate: u32,
    threads: usize,
}

impl Extractor {
    pub fn new(sample_rate: u32) -> Result<Self, ExtractError> {
        if !(MIN_RATE..=MAX_RATE).contains(&sample_rate) {
            return Err(ExtractError::Rate(sample_rate));
        }
        Ok(Self { sample_rate, threads: 1 })
    }

    /// Spreads each recording's frames over `threads` threads (1, the default: the calling
    /// thread alone). The results are identical for every count: only the frame analysis that
    /// depends on nothing earlier runs in parallel, and the rest follows in frame order.
    pub fn threads(self, threads: usize) -> Self {
        Self { threads: threads.max(1), ..self }
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The 88 functionals of `samples` (mono, at this extractor's rate).
    pub fn extract(&self, samples: &[f32]) -> Functionals {
        self.analyze(samples, false).functionals
    }

    /// Functionals and, if `with_lld`, the LLD table.
    pub fn analyze(&self, samples: &[f32], with_lld: bool) -> Analysis {
        let mut s = self.session();
        s.push(samples);
        s.finish(with_lld)
    }

    /// An incremental batch session: push blocks of any size, then `finish` once.
    pub fn session(&self) -> Session {
        Session { analyzer: Analyzer::new(self.sample_rate, self.threads), sample_rate: self.sample_rate, samples: 0 }
    }
}

/// A batch extraction fed block by block (bounded memory for long files).
pub struct Session {
    analyzer: Analyzer,
    sample_rate: u32,
    samples: usize,
}

impl Session {
    pub fn push(&mut self, samples: &[f32]) {
        self.samples += samples.len();
        self.analyzer.push(samples);
    }

    pub fn finish(mut self, with_lld: bool) -> Analysis {
        let r = self.analyzer.finish();
        let c = &self.analyzer.contours;
        let n60 = c.voice.len();
        let a = n60 as i64 - r as i64;
        let duration_s = self.samples as f64 / self.sample_rate as f64;
        Analysis {
            functionals: if n60 == 0 { Functionals::nan() } else { compute_functionals(c, a) },
            lld: with_lld.then(|| lld_table(c, a, duration_s)),
            voiced_ratio: voiced_ratio(c),
            sample_rate: self.sample_rate,
            duration_s,
        }
    }
}

fn voiced_ratio(c: &Contours) -> f64 {
    if c.voice.is_empty() {
        return 0.0;
    }
    c.voice.iter().filter(|v| v.f0_hz > 0.0).count() as f64 / c.voice.len() as f64
}

fn column(rows: &[[f32; spectral::N_SPECTRAL]], i: usize) -> Vec<f32> {
    rows.iter().map(|r| r[i]).collect()
}

/// The 88 functionals from raw contours with A = N60 − R (spec §7.1).
fn compute_functionals(c: &Contours, a: i64) -> Functionals {
    let n60 = c.voice.len();
    let n20 = c.spectral.len();
    let mut out = Vec::with_capacity(N_FEATURES);
    let voiced: Vec<bool> = c.voice.iter().map(|v| v.f0_st > 1e-6).collect();
    let first_a = |smoothed: &[f32], raw: &[f32]| -> Vec<f32> { if a >= 1 { smoothed[..a as usize].to_vec() } else { vec![raw[0]] } };

    // G-F0.
    let f0: Vec<f32> = c.voice.iter().map(|v| v.f0_st).collect();
    let f0_used = first_a(&fx::sma3nz(&f0), &f0);
    let f0_nz = fx::non_zero(&f0_used);
    let (m, s) = fx::moments(&f0_nz);
    out.extend([m, s]);
    out.extend(fx::percentiles(&f0_nz));
    let sl = fx::peaks_and_slopes(&f0_nz);
    out.extend([sl.mean_rising, sl.sd_rising, sl.mean_falling, sl.sd_falling]);

    // G-L.
    let loud = fx::sma3(&column(&c.spectral, LOUDNESS));
    let (m, s) = fx::moments(&loud);
    out.extend([m, s]);
    out.extend(fx::percentiles(&loud));
    let loud_sl = fx::peaks_and_slopes(&loud);
    out.extend([loud_sl.mean_rising, loud_sl.sd_rising, loud_sl.mean_falling, loud_sl.sd_falling]);

    // G-Z.
    for i in [FLUX, MFCC1, MFCC1 + 1, MFCC1 + 2, MFCC1 + 3] {
        let (m, s) = fx::moments(&fx::sma3(&column(&c.spectral, i)));
        out.extend([m, s]);
    }

    // G-V1: truncated to A frames before smoothing.
    let v1_len = if a >= 1 { a as usize } else { n60 };
    let gate = |t: usize, x: f64| if voiced[t] { x as f32 } else { 0.0 };
    let mut v1: Vec<Vec<f32>> = vec![
        c.voice.iter().map(|v| v.jitter).collect(),
        c.voice.iter().map(|v| v.shimmer_db).collect(),
        c.voice.iter().map(|v| v.hnr_db).collect(),
        c.voice.iter().map(|v| v.h1_h2).collect(),
        c.voice.iter().map(|v| v.h1_a3).collect(),
    ];
    for k in 0..3 {
        v1.push((0..n60).map(|t| gate(t, c.formants[t].freq[k])).collect());
        v1.push((0..n60).map(|t| gate(t, c.formants[t].bw[k])).collect());
        v1.push(c.voice.iter().map(|v| v.formant_amp[k]).collect());
    }
    for contour in &v1 {
        let (m, s) = fx::moments(&fx::non_zero(&fx::sma3nz(&contour[..v1_len])));
        out.extend([m, s]);
    }

    // G-V2 and G-U: spectral LLDs gated by voicing, smoothed over all N60 frames.
    let gated = |i: usize, want_voiced: bool| -> Vec<f32> {
        (0..n60).map(|t| if voiced[t] == want_voiced { c.spectral[t][i] } else { 0.0 }).collect()
    };
    for i in [ALPHA, HAMMARBERG, SLOPE0_500, SLOPE500_1500, FLUX, MFCC1, MFCC1 + 1, MFCC1 + 2, MFCC1 + 3] {
        let g = gated(i, true);
        let (m, s) = fx::moments(&fx::non_zero(&first_a(&fx::sma3nz(&g), &g)));
        out.extend([m, s]);
    }
    for i in [ALPHA, HAMMARBERG, SLOPE0_500, SLOPE500_1500, FLUX] {
        let g = gated(i, false);
        out.push(fx::moments(&fx::non_zero(&first_a(&fx::sma3nz(&g), &g))).0);
    }

    // Temporal features.
    out.push(loud_sl.n_peaks as f64 / (n20 as f64 * fx::T));
    let n = f0_used.len();
    let (per_sec, mean, sd) = fx::segment_stats(&fx::segments(&f0_used, |x| x != 0.0), n);
    out.extend([per_sec, mean, sd]);
    let (_, mean, sd) = fx::segment_stats(&fx::segments(&f0_used, |x| x == 0.0), n);
    out.extend([mean, sd]);
    out.push(fx::leq_db(&c.energy));

    let mut values = [0.0; N_FEATURES];
    values.copy_from_slice(&out);
    Functionals(values)
}

/// The LLD table, including openSMILE's end-of-input scheduling artefacts (spec §6).
fn lld_table(c: &Contours, a: i64, duration_s: f64) -> LldTable {
    let n60 = c.voice.len();
    if n60 == 0 {
        return LldTable { rows: Vec::new(), duration_s };
    }
    let e: Vec<Vec<f32>> = (0..spectral::N_SPECTRAL).map(|i| fx::sma3(&column(&c.spectral, i))).collect();
    let mut f: Vec<Vec<f32>> = vec![
        c.voice.iter().map(|v| v.f0_st).collect(),
        c.voice.iter().map(|v| v.jitter).collect(),
        c.voice.iter().map(|v| v.shimmer_db).collect(),
        c.voice.iter().map(|v| v.hnr_db).collect(),
        c.voice.iter().map(|v| v.h1_h2).collect(),
        c.voice.iter().map(|v| v.h1_a3).collect(),
    ];
    for k in 0..3 {
        f.push((0..n60).map(|t| c.formants[t].freq[k] as f32).collect());
        f.push((0..n60).map(|t| c.formants[t].bw[k] as f32).collect());
        f.push(c.voice.iter().map(|v| v.formant_amp[k]).collect());
    }
    let rows = (0..=n60)
        .map(|t| {
            let mut row = [0.0; N_LLD];
            for (i, col) in e.iter().enumerate() {
                row[i] = col[t.min(col.len() - 1)] as f64;
            }
            for (j, v) in f.iter().enumerate() {
                let val = if t == n60 {
                    v[n60 - 1]
                } else if a >= 1 && t as i64 == a - 1 {
                    fx::sma3nz_at(v, t, a as usize)
                } else if a >= 1 && t as i64 == a {
                    // Also when A = N60 − 1: this rule wins over the end replication.
                    v[t - 1]
                } else {
                    fx::sma3nz_at(v, t, n60)
                };
                row[spectral::N_SPECTRAL + j] = val as f64;
            }
            row
        })
        .collect();
    LldTable { rows, duration_s }
}

/// Live analysis: push audio as it arrives; every `hop` seconds get the functionals of the
/// last `window` seconds of decided frames. Frames are analysed once, as they complete.
pub struct StreamingExtractor {
    analyzer: Analyzer,
    sample_rate: u32,
    window_frames: usize,
    hop_frames: usize,
    min_frames: usize,
    next_emit: usize,
}

/// Functionals of one analysis window of a stream.
#[derive(Debug, Clone)]
pub struct WindowFunctionals {
    /// Stream time of the window's start and end (seconds since the stream began).
    pub start_s: f64,
    pub end_s: f64,
    pub functionals: Functionals,
    pub voiced_ratio: f64,
    /// Mean loudness (openSMILE units) of the window, for level displays.
    pub loudness: f64,
}

impl StreamingExtractor {
    /// `window_s`: analysis window; `hop_s`: update interval. The first result comes once
    /// `min(window_s, 1 s)` of audio has been analysed.
    pub fn new(sample_rate: u32, window_s: f64, hop_s: f64) -> Result<Self, ExtractError> {
        Extractor::new(sample_rate)?;
        let frames = |s: f64| ((s / FRAME_PERIOD_S).round() as usize).max(1);
        let window_frames = frames(window_s.max(0.1));
        Ok(Self {
            analyzer: Analyzer::new(sample_rate, 1),
            sample_rate,
            window_frames,
            hop_frames: frames(hop_s.max(0.01)),
            min_frames: window_frames.min(100),
            next_emit: window_frames.min(100),
        })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Seconds of audio pushed so far.
    pub fn stream_time_s(&self) -> f64 {
        self.analyzer.samples_seen() as f64 / self.sample_rate as f64
    }

    /// Feeds samples; returns the windows completed by them (oldest first).
    pub fn push(&mut self, samples: &[f32]) -> Vec<WindowFunctionals> {
        self.analyzer.push(samples);
        let mut out = Vec::new();
        while self.analyzer.decided_frames() >= self.next_emit {
            let end = self.next_emit;
            let start = end.saturating_sub(self.window_frames);
            out.push(self.window(start, end));
            self.next_emit += self.hop_frames;
            let keep_from = self.next_emit.saturating_sub(self.window_frames);
            self.analyzer.contours.drain_before(keep_from.min(start + self.hop_frames));
        }
        out
    }

    fn window(&self, start: usize, end: usize) -> WindowFunctionals {
        let c = &self.analyzer.contours;
        let lo = start.saturating_sub(c.base);
        let hi = end - c.base;
        let w = Contours {
            base: start,
            spectral: c.spectral[lo..hi].to_vec(),
            energy: c.energy[lo..hi].to_vec(),
            formants: c.formants[lo..hi].to_vec(),
            voice: c.voice[lo..hi].to_vec(),
        };
        let loudness = w.spectral.iter().map(|r| r[LOUDNESS] as f64).sum::<f64>() / w.spectral.len().max(1) as f64;
        WindowFunctionals {
            start_s: start as f64 * FRAME_PERIOD_S,
            end_s: end as f64 * FRAME_PERIOD_S,
            functionals: compute_functionals(&w, w.voice.len() as i64),
            voiced_ratio: voiced_ratio(&w),
            loudness,
        }
    }

    /// Frames needed before the first window is produced.
    pub fn min_frames(&self) -> usize {
        self.min_frames
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
