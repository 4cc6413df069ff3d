//! The frame engine: consumes samples in blocks, analyses every 20 ms and 60 ms frame once,
//! runs the lagged Viterbi, and appends decided frames to the raw contours. Batch extraction
//! and the streaming extractor both drive it, so live and offline numbers come from one code
//! path and no sample is analysed twice.

use std::collections::VecDeque;

use super::dsp::{FramedFft, Geometry, gaussian, hamming};
use super::formants::{FormantAnalyzer, Formants};
use super::pitch::{PitchViterbi, ShsAnalyzer, semitones};
use super::spectral::{N_SPECTRAL, SpectralAnalyzer};
use super::voice::{HarmonicsAnalyzer, JitterAnalyzer};

/// RMS of the Gaussian-windowed 60 ms frame above which F0 is kept (spec §4.7.4).
const ENERGY_GATE: f64 = 0.001;

/// The 60 ms-stream LLDs of one decided frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct VoiceRow {
    pub f0_hz: f32,
    pub f0_st: f32,
    pub jitter: f32,
    pub shimmer_db: f32,
    pub hnr_db: f32,
    pub h1_h2: f32,
    pub h1_a3: f32,
    pub formant_amp: [f32; 3],
}

/// Unsmoothed per-frame contours. `spectral`, `energy` and `formants` are indexed by 20 ms
/// frame, `voice` by 60 ms frame; frame `i` of each vector is absolute frame `base + i`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Contours {
    pub base: usize,
    pub spectral: Vec<[f32; N_SPECTRAL]>,
    pub energy: Vec<f64>,
    pub formants: Vec<Formants>,
    pub voice: Vec<VoiceRow>,
}

impl Contours {
    /// Forgets frames before absolute index `frame`.
    pub fn drain_before(&mut self, frame: usize) {
        let k = frame.saturating_sub(self.base);
        let cut = |n: usize| k.min(n);
        self.spectral.drain(..cut(self.spectral.len()));
        self.energy.drain(..cut(self.energy.len()));
        self.formants.drain(..cut(self.formants.len()));
        self.voice.drain(..cut(self.voice.len()));
        self.base += k;
    }
}

pub(crate) struct Analyzer {
    g: Geometry,
    fft20: FramedFft,
    fft60: FramedFft,
    spectral: SpectralAnalyzer,
    shs: ShsAnalyzer,
    viterbi: PitchViterbi,
    jitter: JitterAnalyzer,
    harmonics: HarmonicsAnalyzer,
    formants: FormantAnalyzer,
    /// Samples from absolute index `offset` on.
    samples: Vec<f32>,
    offset: usize,
    next20: usize,
    next60: usize,
    next_voice: usize,
    /// 60 ms magnitude spectra and gate energies of frames the Viterbi has not decided yet.
    pending: VecDeque<(Vec<f64>, f64)>,
    spare: Vec<Vec<f64>>,
    mag: Vec<f64>,
    pub contours: Contours,
}

impl Analyzer {
    pub fn new(sample_rate: u32) -> Self {
        let g = Geometry::new(sample_rate);
        Self {
            fft20: FramedFft::new(hamming(g.l20), g.nfft20),
            fft60: FramedFft::new(gaussian(g.l60, 0.4), g.nfft60),
            spectral: SpectralAnalyzer::new(&g),
            shs: ShsAnalyzer::new(&g),
            viterbi: PitchViterbi::default(),
            jitter: JitterAnalyzer::new(&g),
            harmonics: HarmonicsAnalyzer::new(&g),
            formants: FormantAnalyzer::new(&g),
            samples: Vec::new(),
            offset: 0,
            next20: 0,
            next60: 0,
            next_voice: 0,
            pending: VecDeque::new(),
            spare: Vec::new(),
            mag: Vec::new(),
            contours: Contours::default(),
            g,
        }
    }

    /// Total samples pushed.
    pub fn samples_seen(&self) -> usize {
        self.offset + self.samples.len()
    }

    /// Frames whose 60 ms LLDs are final.
    pub fn decided_frames(&self) -> usize {
        self.next_voice
    }

    pub fn push(&mut self, x: &[f32]) {
        self.samples.extend_from_slice(x);
        let end = self.samples_seen();
        let (hop, l20, l60) = (self.g.hop, self.g.l20, self.g.l60);
        while self.next20 * hop + l20 <= end {
            let s = self.next20 * hop - self.offset;
            let frame = &self.samples[s..s + l20];
            self.contours.energy.push(frame.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / l20 as f64);
            self.fft20.run(frame);
            self.fft20.magnitudes(&mut self.mag);
            let mut row = [0.0f64; N_SPECTRAL];
            self.spectral.analyze(&self.mag, &mut row);
            self.contours.spectral.push(row.map(|v| v as f32));
            self.contours.formants.push(self.formants.analyze(frame));
            self.next20 += 1;
        }
        while self.next60 * hop + l60 <= end {
            let s = self.next60 * hop - self.offset;
            self.fft60.run(&self.samples[s..s + l60]);
            let mut mag = self.spare.pop().unwrap_or_default();
            self.fft60.magnitudes(&mut mag);
            let e60 = self.fft60.windowed_mean_square().sqrt();
            let cands = self.shs.analyze(&mag);
            self.pending.push_back((mag, e60));
            self.viterbi.push(cands);
            self.next60 += 1;
            self.drain_decided();
        }
        self.trim();
    }

    /// End of input: decides the frames the Viterbi still holds. Returns R (spec §4.7.3).
    pub fn finish(&mut self) -> usize {
        if self.viterbi.frames_seen() == 0 {
            return 0;
        }
        let r = self.viterbi.flush();
        self.drain_decided();
        r
    }

    fn drain_decided(&mut self) {
        while let Some((k, f0)) = self.viterbi.pop_decided() {
            let Some((mag, e60)) = self.pending.pop_front() else { break };
            let f0 = if e60 > ENERGY_GATE { f0 } else { 0.0 };
            let (offset, samples) = (self.offset, &self.samples);
            let js = self.jitter.analyze(k, f0, |a, b| {
                let lo = a.saturating_sub(offset).min(samples.len());
                let hi = b.saturating_sub(offset).min(samples.len()).max(lo);
                &samples[lo..hi]
            });
            let fm = self.contours.formants.get(k - self.contours.base).copied().unwrap_or_default();
            let h = self.harmonics.analyze(&mag, f0, [fm.freq[0], fm.freq[1], fm.freq[2]]);
            self.contours.voice.push(VoiceRow {
                f0_hz: f0,
                f0_st: semitones(f0),
                jitter: js.jitter,
                shimmer_db: js.shimmer_db,
                hnr_db: h.hnr_db,
                h1_h2: h.h1_h2,
                h1_a3: h.h1_a3,
                formant_amp: h.formant_amp,
            });
            self.spare.push(mag);
            self.next_voice = k + 1;
        }
    }

    /// Drops samples no frame or the jitter analysis can still need.
    fn trim(&mut self) {
        let hop = self.g.hop;
        let keep = (self.next20 * hop).min(self.next60 * hop).min(self.jitter.oldest_needed(self.next_voice)).saturating_sub(hop);
        if keep > self.offset + (1 << 16) {
            self.samples.drain(..keep - self.offset);
            self.offset = keep;
        }
    }
}
