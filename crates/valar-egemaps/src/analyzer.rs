//! The frame engine: consumes samples in blocks, analyses every 20 ms and 60 ms frame once,
//! runs the lagged Viterbi, and appends decided frames to the raw contours. Batch extraction
//! and the streaming extractor both drive it, so live and offline numbers come from one code
//! path and no sample is analysed twice.

use std::collections::VecDeque;

use std::ops::Range;

use realfft::num_complex::Complex;

use super::dsp::{BATCH, Geometry, MIN_BATCH, OouraFramedFft, gaussian};
use super::formants::{FormantAnalyzer, Formants, Lpc, formants_from_lpc};
use super::pitch::{Candidates, PitchViterbi, ShsAnalyzer, semitones};
use super::spectral::{N_SPECTRAL, SpectralAnalyzer};
use super::voice::{HarmonicsAnalyzer, JitterAnalyzer, JitterShimmer};

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

/// What one 20 ms frame yields on its own.
struct Frame20 {
    energy: f64,
    spectral: [f32; N_SPECTRAL],
    lpc: Lpc,
}

/// What one 60 ms frame yields on its own: its magnitude spectrum, the RMS of its windowed
/// samples, and its pitch candidates.
struct Frame60 {
    mag: Vec<f64>,
    e60: f64,
    cands: Candidates,
}

/// A decided 60 ms frame on its way to its row: everything its harmonics need.
struct Decided {
    frame: usize,
    mag: Vec<f64>,
    f0: f32,
    formants: [f64; 3],
    jitter: JitterShimmer,
}

/// Most frames of either stream one thread takes at a time (bounds the memory of a batch).
const BATCH_PER_THREAD: usize = 256;
/// Fewest frames worth a thread of their own (a thread costs about as much as one frame).
const MIN_PER_THREAD: usize = 16;

/// The per-frame analysis that depends on nothing but the frame's own samples (and, for the
/// spectral flux, the previous 20 ms frame's spectrum): FFTs, spectral LLDs, LPC, SHS
/// candidates, and (once F0 is decided) harmonics. Any run of frames can go to any thread; what
/// depends on earlier frames (the formant root finder's start, the Viterbi, jitter) runs in
/// frame order.
struct FrameStage {
    fft60: OouraFramedFft,
    spectral: SpectralAnalyzer,
    shs: ShsAnalyzer,
    lpc: FormantAnalyzer,
    harmonics: HarmonicsAnalyzer,
    mag: Vec<f64>,
    /// The 20 ms frame whose predecessor the flux state holds.
    next20: usize,
}

impl FrameStage {
    fn new(g: &Geometry) -> Self {
        Self {
            fft60: OouraFramedFft::new(gaussian(g.l60, 0.4), g.nfft60),
            spectral: SpectralAnalyzer::new(g),
            shs: ShsAnalyzer::new(g),
            lpc: FormantAnalyzer::new(g),
            harmonics: HarmonicsAnalyzer::new(g),
            mag: Vec::new(),
            next20: 0,
        }
    }

    /// 20 ms frames `frames` of `samples` (which start at absolute sample `offset`).
    fn frames20(&mut self, g: &Geometry, samples: &[f32], offset: usize, frames: Range<usize>, out: &mut Vec<Frame20>) {
        let frame = |i: usize| {
            let s = i * g.hop - offset;
            &samples[s..s + g.l20]
        };
        if frames.start > 0 && self.next20 != frames.start {
            // Another thread analysed the frame before: its spectrum again, for the flux.
            self.lpc.transform(frame(frames.start - 1));
            self.lpc.magnitudes(&mut self.mag);
            self.spectral.follow(&self.mag);
        }
        // Eight frames' transforms at a time, side by side (the same bits as one by one).
        let mut start = frames.start;
        while start < frames.end {
            let end = (start + BATCH).min(frames.end);
            let xs: Vec<&[f32]> = (start..end).map(frame).collect();
            // One transform for the spectral LLDs and the formants, as in openSMILE.
            let batched = xs.len() >= MIN_BATCH;
            if batched {
                self.lpc.transform_batch(&xs);
            }
            // The frames' energies side by side, each summed in sample order.
            let mut energies = [0.0f64; BATCH];
            for i in 0..g.l20 {
                for (e, x) in energies.iter_mut().zip(&xs) {
                    *e += (x[i] as f64).powi(2);
                }
            }
            for (k, x) in xs.into_iter().enumerate() {
                let energy = energies[k] / g.l20 as f64;
                if batched {
                    self.lpc.batch_magnitudes(k, &mut self.mag);
                } else {
                    self.lpc.transform(x);
                    self.lpc.magnitudes(&mut self.mag);
                }
                let mut row = [0.0f64; N_SPECTRAL];
                self.spectral.analyze(&self.mag, &mut row);
                let lpc = if batched { self.lpc.lpc_of_batch(k) } else { self.lpc.lpc_of_transformed() };
                out.push(Frame20 { energy, spectral: row.map(|v| v as f32), lpc });
            }
            start = end;
        }
        self.next20 = frames.end;
    }

    /// 60 ms frames `frames` of `samples` (which start at absolute sample `offset`).
    fn frames60(&mut self, g: &Geometry, samples: &[f32], offset: usize, frames: Range<usize>, out: &mut Vec<Frame60>) {
        let mut start = frames.start;
        while start < frames.end {
            let end = (start + BATCH).min(frames.end);
            let xs: Vec<&[f32]> = (start..end).map(|i| &samples[i * g.hop - offset..][..g.l60]).collect();
            if xs.len() >= MIN_BATCH {
                self.fft60.run_batch(&xs);
                let mags: Vec<Vec<f64>> = (0..xs.len())
                    .map(|k| {
                        let mut mag = Vec::new();
                        self.fft60.batch_magnitudes(k, &mut mag);
                        mag
                    })
                    .collect();
                let views: Vec<&[f64]> = mags.iter().map(Vec::as_slice).collect();
                let mut cands = Vec::with_capacity(BATCH);
                self.shs.analyze_batch(&views, &mut cands);
                for (k, (mag, cands)) in mags.into_iter().zip(cands).enumerate() {
                    out.push(Frame60 { mag, e60: self.fft60.batch_mean_square(k).sqrt(), cands });
                }
            } else {
                for x in xs {
                    let mut mag = Vec::new();
                    self.fft60.run_measured(x);
                    self.fft60.magnitudes(&mut mag);
                    let e60 = self.fft60.windowed_mean_square().sqrt();
                    let cands = self.shs.analyze(&mag);
                    out.push(Frame60 { mag, e60, cands });
                }
            }
            start = end;
        }
    }
}

/// Runs `work` over `frames` split into contiguous runs, one per stage (thread), and returns
/// the outputs in frame order: the same outputs one stage would give alone.
fn in_parallel<T: Send>(
    stages: &mut [FrameStage],
    frames: Range<usize>,
    work: impl Fn(&mut FrameStage, Range<usize>, &mut Vec<T>) + Sync,
) -> Vec<T> {
    let n = frames.len();
    let threads = stages.len().min(n / MIN_PER_THREAD).max(1);
    let mut out = Vec::with_capacity(n);
    if threads == 1 {
        work(&mut stages[0], frames, &mut out);
        return out;
    }
    let per = n.div_ceil(threads);
    let run = |t: usize| frames.start + t * per..(frames.start + (t + 1) * per).min(frames.end);
    let (first, rest) = stages[..threads].split_at_mut(1);
    let work = &work;
    std::thread::scope(|scope| {
        let others: Vec<_> = rest
            .iter_mut()
            .enumerate()
            .map(|(t, stage)| {
                let r = run(t + 1);
                scope.spawn(move || {
                    let mut part = Vec::with_capacity(r.len());
                    work(stage, r, &mut part);
                    part
                })
            })
            .collect();
        work(&mut first[0], run(0), &mut out);
        for h in others {
            // A panic in a worker is a bug in the analysis: surface it where it would have
            // surfaced on one thread.
            out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
    });
    out
}

/// 60 ms frames `frames` analysed by every stage taking runs of a few frames in turn, while
/// the calling thread first turns `lpc` into formants in frame order (`roots` carries the root
/// finder's start from frame to frame) and then joins in. Outputs in frame order, identical to
/// one thread's.
#[allow(clippy::too_many_arguments)]
fn formants_beside_frames60(
    stages: &mut [FrameStage],
    g: &Geometry,
    samples: &[f32],
    offset: usize,
    frames: Range<usize>,
    lpc: &[Lpc],
    roots: &mut Option<Vec<Complex<f64>>>,
) -> (Vec<Formants>, Vec<Frame60>) {
    let formants_of = |roots: &mut Option<Vec<Complex<f64>>>| lpc.iter().map(|a| formants_from_lpc(a, roots)).collect::<Vec<_>>();
    if stages.len() == 1 || frames.len() < 2 * MIN_PER_THREAD {
        let formants = formants_of(roots);
        let mut out = Vec::with_capacity(frames.len());
        stages[0].frames60(g, samples, offset, frames, &mut out);
        return (formants, out);
    }
    const RUN: usize = 8;
    let runs = frames.len().div_ceil(RUN);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take = |stage: &mut FrameStage| {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if i >= runs {
                return done;
            }
            let r = frames.start + i * RUN..(frames.start + (i + 1) * RUN).min(frames.end);
            let mut out = Vec::with_capacity(r.len());
            stage.frames60(g, samples, offset, r, &mut out);
            done.push((i, out));
        }
    };
    let (first, rest) = stages.split_at_mut(1);
    let take = &take;
    let (formants, mut parts) = std::thread::scope(|scope| {
        let others: Vec<_> = rest.iter_mut().map(|stage| scope.spawn(move || take(stage))).collect();
        let formants = formants_of(roots);
        let mut parts = take(&mut first[0]);
        for h in others {
            parts.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        (formants, parts)
    });
    parts.sort_unstable_by_key(|(i, _)| *i);
    (formants, parts.into_iter().flat_map(|(_, out)| out).collect())
}

pub(crate) struct Analyzer {
    g: Geometry,
    /// One per thread (at least one).
    stages: Vec<FrameStage>,
    viterbi: PitchViterbi,
    jitter: JitterAnalyzer,
    /// Frames the Viterbi has decided whose harmonics are still to be analysed.
    decided: Vec<Decided>,
    /// The formant root finder's start: the previous frame's roots.
    roots: Option<Vec<Complex<f64>>>,
    /// Samples from absolute index `offset` on.
    samples: Vec<f32>,
    offset: usize,
    next20: usize,
    next60: usize,
    next_voice: usize,
    /// 60 ms magnitude spectra and gate energies of frames the Viterbi has not decided yet.
    pending: VecDeque<(Vec<f64>, f64)>,
    pub contours: Contours,
}

impl Analyzer {
    /// An analyser whose frames are spread over `threads` threads (results do not depend on it).
    pub fn new(sample_rate: u32, threads: usize) -> Self {
        let g = Geometry::new(sample_rate);
        Self {
            stages: (0..threads.max(1)).map(|_| FrameStage::new(&g)).collect(),
            viterbi: PitchViterbi::default(),
            jitter: JitterAnalyzer::new(&g),
            decided: Vec::new(),
            roots: None,
            samples: Vec::new(),
            offset: 0,
            next20: 0,
            next60: 0,
            next_voice: 0,
            pending: VecDeque::new(),
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
        let complete = |len: usize| if end >= len { (end - len) / self.g.hop + 1 } else { 0 };
        let (avail20, avail60) = (complete(self.g.l20), complete(self.g.l60));
        let batch = BATCH_PER_THREAD * self.stages.len();
        // Bounded batches keep memory flat whatever the block size. A 60 ms frame is analysed
        // only once the 20 ms frame of the same index is (its harmonics read that frame's
        // formants), which is the order one thread has always used.
        while self.next20 < avail20 || self.next60 < avail60 {
            let (g, samples, offset) = (&self.g, &self.samples[..], self.offset);
            let to20 = (self.next20 + batch).min(avail20);
            let rows = in_parallel(&mut self.stages, self.next20..to20, |st, r, out| st.frames20(g, samples, offset, r, out));
            let mut lpc = Vec::with_capacity(rows.len());
            for f in rows {
                self.contours.energy.push(f.energy);
                self.contours.spectral.push(f.spectral);
                lpc.push(f.lpc);
            }
            self.next20 = to20;
            let to60 = (self.next60 + batch).min(avail60).min(self.next20);
            let (formants, rows) = formants_beside_frames60(&mut self.stages, g, samples, offset, self.next60..to60, &lpc, &mut self.roots);
            self.contours.formants.extend(formants);
            for f in rows {
                self.pending.push_back((f.mag, f.e60));
                self.viterbi.push(f.cands);
                self.next60 += 1;
                self.drain_decided();
            }
            self.finish_decided();
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
        self.finish_decided();
        r
    }

    /// Takes the frames the Viterbi has decided: F0 gating and jitter (which follow each other
    /// frame by frame) now, harmonics later in [`Self::finish_decided`].
    fn drain_decided(&mut self) {
        while let Some((k, f0)) = self.viterbi.pop_decided() {
            let Some((mag, e60)) = self.pending.pop_front() else { break };
            let f0 = if e60 > ENERGY_GATE { f0 } else { 0.0 };
            let (offset, samples) = (self.offset, &self.samples);
            let jitter = self.jitter.analyze(k, f0, |a, b| {
                let lo = a.saturating_sub(offset).min(samples.len());
                let hi = b.saturating_sub(offset).min(samples.len()).max(lo);
                &samples[lo..hi]
            });
            let fm = self.contours.formants.get(k - self.contours.base).copied().unwrap_or_default();
            self.decided.push(Decided { frame: k, mag, f0, formants: [fm.freq[0], fm.freq[1], fm.freq[2]], jitter });
        }
    }

    /// Harmonics of the decided frames (on every thread: each frame's depend on it alone), then
    /// their rows in frame order.
    fn finish_decided(&mut self) {
        let decided = std::mem::take(&mut self.decided);
        let h = in_parallel(&mut self.stages, 0..decided.len(), |st, r, out| {
            let frames: Vec<(&[f64], f32, [f64; 3])> = decided[r].iter().map(|d| (d.mag.as_slice(), d.f0, d.formants)).collect();
            st.harmonics.analyze_batch(&frames, out);
        });
        for (d, h) in decided.iter().zip(h) {
            self.contours.voice.push(VoiceRow {
                f0_hz: d.f0,
                f0_st: semitones(d.f0),
                jitter: d.jitter.jitter,
                shimmer_db: d.jitter.shimmer_db,
                hnr_db: h.hnr_db,
                h1_h2: h.h1_h2,
                h1_a3: h.h1_a3,
                formant_amp: h.formant_amp,
            });
        }
        if let Some(d) = decided.last() {
            self.next_voice = d.frame + 1;
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
