//! Live analysis as a library type: audio blocks in (a microphone, or a file played as one),
//! estimates out — the window's end time, whether it holds speech, activation and valence with
//! their scores, the voiced ratio and the latency — with calibration to the speaker and
//! session recording streamed to disk. [`run`] drives a [`LiveInput`] with it; the Live tab
//! and `valar live` both use that.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::{CancelToken, Event, JobError, Sink};
use crate::audio::{AudioError, CANONICAL_RATE, LiveEvent, LiveInput};
use crate::classify::label::{activation_word, is_speech, valence_word};
use crate::classify::pipeline::{Prediction, Predictor};
use crate::egemaps::{ExtractError, N_FEATURES, StreamingExtractor};

/// Analysis settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveConfig {
    /// Seconds of audio each estimate describes.
    pub window_s: f64,
    /// Seconds between estimates.
    pub update_s: f64,
    /// Seconds of speech a calibration collects (counted in update steps of speech windows).
    pub calibration_s: f64,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self { window_s: 3.0, update_s: 0.5, calibration_s: 8.0 }
    }
}

impl LiveConfig {
    /// Speech windows a calibration needs.
    pub fn calibration_windows(&self) -> usize {
        ((self.calibration_s / self.update_s.max(0.01)).ceil() as usize).max(1)
    }
}

/// Where the calibration to the speaker's voice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Calibration {
    #[default]
    Off,
    /// Collecting speech windows: `have` of `need`.
    Collecting { have: usize, need: usize },
    /// Calibrated on this many speech windows.
    Calibrated { windows: usize },
}

/// One analysis result.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Stream time of the window's end (s).
    pub t_s: f64,
    /// Whether the window holds speech (enough voiced frames); only speech is classified.
    pub speech: bool,
    pub prediction: Option<Prediction>,
    pub voiced_ratio: f64,
    /// When the newest sound in the window was captured.
    pub captured_at: Instant,
    /// From that capture to this estimate (ms).
    pub latency_ms: f64,
}

impl Estimate {
    /// One JSON object (a line of `valar live --json`).
    pub fn to_json(&self) -> serde_json::Value {
        let p = self.prediction;
        serde_json::json!({
            "t_s": (self.t_s * 1000.0).round() / 1000.0,
            "speech": self.speech,
            "activation": p.map(|p| activation_word(p.activation_high)),
            "activation_score": p.map(|p| p.activation_score),
            "valence": p.map(|p| valence_word(p.valence_positive)),
            "valence_score": p.map(|p| p.valence_score),
            "voiced_ratio": self.voiced_ratio,
            "latency_ms": (self.latency_ms * 10.0).round() / 10.0,
        })
    }

    /// One line of text.
    pub fn to_line(&self) -> String {
        let head = format!("{:8.2} s  ", self.t_s);
        let tail = format!("  voiced {:.2}  latency {:.0} ms", self.voiced_ratio, self.latency_ms);
        match &self.prediction {
            Some(p) => format!(
                "{head}activation {:4} {:.2}  valence {:8} {:.2}{tail}",
                activation_word(p.activation_high),
                p.activation_score,
                valence_word(p.valence_positive),
                p.valence_score
            ),
            None => format!("{head}no speech{tail}"),
        }
    }
}

/// Where in the stream each captured block ends, to date analysis windows.
#[derive(Debug, Default)]
struct CaptureClock {
    blocks: VecDeque<(usize, Instant)>,
    total: usize,
}

impl CaptureClock {
    fn push(&mut self, n: usize, at: Instant) {
        self.total += n;
        self.blocks.push_back((self.total, at));
        while self.blocks.len() > 2000 {
            self.blocks.pop_front();
        }
    }

    fn time_of(&self, sample: usize) -> Instant {
        self.blocks.iter().find(|(end, _)| *end >= sample).or(self.blocks.back()).map(|b| b.1).unwrap_or_else(Instant::now)
    }
}

/// Audio blocks in, estimates out.
pub struct LiveAnalyzer {
    extractor: StreamingExtractor,
    predictor: Arc<Predictor>,
    config: LiveConfig,
    clock: CaptureClock,
    shift: Option<Vec<f64>>,
    collecting: Option<Vec<[f64; N_FEATURES]>>,
    calibration: Calibration,
}

impl LiveAnalyzer {
    pub fn new(predictor: Arc<Predictor>, config: LiveConfig) -> Result<Self, ExtractError> {
        Ok(Self {
            extractor: StreamingExtractor::new(CANONICAL_RATE, config.window_s, config.update_s)?,
            predictor,
            config,
            clock: CaptureClock::default(),
            shift: None,
            collecting: None,
            calibration: Calibration::Off,
        })
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    /// Feeds 16 kHz mono samples captured at `captured_at`; returns the estimates they
    /// complete (oldest first).
    pub fn push(&mut self, samples: &[f32], captured_at: Instant) -> Vec<Estimate> {
        self.clock.push(samples.len(), captured_at);
        // A 60 ms frame ends 50 ms after the next hop starts.
        let frame_tail = (0.05 * CANONICAL_RATE as f64) as usize;
        let mut out = Vec::new();
        for w in self.extractor.push(samples) {
            let speech = is_speech(w.voiced_ratio) && w.functionals.is_valid();
            let mut raw = w.functionals.0;
            // As the model reads them, so a calibration shift is computed where it applies.
            self.predictor.input.apply_row(&mut raw);
            if speech && let Some(c) = self.collecting.as_mut() {
                c.push(raw);
                let need = self.config.calibration_windows();
                if c.len() >= need {
                    let n = c.len() as f64;
                    let mean: Vec<f64> = (0..N_FEATURES).map(|j| c.iter().map(|r| r[j]).sum::<f64>() / n).collect();
                    // Move the speaker's calm mean onto the training data's calm mean (measured
                    // best of the methods tried; docs/experiments.md). Without one, onto the
                    // training mean.
                    let target = self.predictor.calm_mean.as_ref().unwrap_or(&self.predictor.normalizer.mean);
                    self.shift = Some(mean.iter().zip(target).map(|(u, m)| m - u).collect());
                    self.calibration = Calibration::Calibrated { windows: c.len() };
                    self.collecting = None;
                } else {
                    self.calibration = Calibration::Collecting { have: c.len(), need };
                }
            }
            if let Some(s) = &self.shift {
                for (v, d) in raw.iter_mut().zip(s) {
                    *v += d;
                }
            }
            let prediction = speech.then(|| self.predictor.predict(&[raw.to_vec()])[0]);
            let end_sample = (w.end_s * CANONICAL_RATE as f64) as usize + frame_tail;
            let captured_at = self.clock.time_of(end_sample);
            out.push(Estimate {
                t_s: w.end_s,
                speech,
                prediction,
                voiced_ratio: w.voiced_ratio,
                captured_at,
                latency_ms: captured_at.elapsed().as_secs_f64() * 1000.0,
            });
        }
        out
    }

    /// Starts collecting the speaker's speech; the calibration applies once enough is heard.
    pub fn start_calibration(&mut self) {
        self.collecting = Some(Vec::new());
        self.calibration = Calibration::Collecting { have: 0, need: self.config.calibration_windows() };
    }

    /// Drops the calibration (and any collection under way).
    pub fn reset_calibration(&mut self) {
        self.shift = None;
        self.collecting = None;
        self.calibration = Calibration::Off;
    }

    pub fn calibration(&self) -> Calibration {
        self.calibration
    }
}

/// A live session's WAV and score CSV, streamed to `BASE.wav.part` and `BASE.csv.part` as
/// they come and renamed to `BASE.wav` and `BASE.csv` when the session ends. The part files are
/// valid up to their last flush (at most about a second behind), so a crash loses only that,
/// and memory stays flat however long the session runs.
pub struct SessionRecorder {
    wav: Option<hound::WavWriter<BufWriter<File>>>,
    csv: BufWriter<File>,
    paths: [(PathBuf, PathBuf); 2],
    unflushed: usize,
}

/// The CSV header of a recorded session.
pub const SESSION_CSV_HEADER: &str = "t_s,activation,activation_score,valence,valence_score,voiced_ratio";

fn part(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

impl SessionRecorder {
    /// Starts recording to `base` + `.wav` / `.csv` (16 kHz, 16-bit mono).
    pub fn create(base: &Path) -> Result<Self, AudioError> {
        let wav_path = base.with_extension("wav");
        let csv_path = base.with_extension("csv");
        let (wav_part, csv_part) = (part(&wav_path), part(&csv_path));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AudioError::Io { path, source }
        };
        let spec =
            hound::WavSpec { channels: 1, sample_rate: CANONICAL_RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        let wav = hound::WavWriter::create(&wav_part, spec).map_err(|e| io(&wav_part)(std::io::Error::other(e)))?;
        let mut csv = BufWriter::new(File::create(&csv_part).map_err(io(&csv_part))?);
        writeln!(csv, "{SESSION_CSV_HEADER}").and_then(|_| csv.flush()).map_err(io(&csv_part))?;
        Ok(Self { wav: Some(wav), csv, paths: [(wav_part, wav_path), (csv_part, csv_path)], unflushed: 0 })
    }

    /// Appends captured samples.
    pub fn audio(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        let path = &self.paths[0].0;
        let Some(w) = self.wav.as_mut() else { return Ok(()) };
        for &s in samples {
            // The decoder's 1/32767 convention, inverted, so a round trip is exact.
            w.write_sample((s as f64 * 32767.0).round().clamp(-32768.0, 32767.0) as i16)
                .map_err(|e| AudioError::Io { path: path.clone(), source: std::io::Error::other(e) })?;
        }
        self.unflushed += samples.len();
        if self.unflushed >= CANONICAL_RATE as usize {
            // Rewrites the header: the part file is a valid WAV up to here.
            w.flush().map_err(|e| AudioError::Io { path: path.clone(), source: std::io::Error::other(e) })?;
            self.unflushed = 0;
        }
        Ok(())
    }

    /// Appends one estimate's scores (speech windows only).
    pub fn estimate(&mut self, e: &Estimate) -> Result<(), AudioError> {
        let Some(p) = &e.prediction else { return Ok(()) };
        writeln!(
            self.csv,
            "{:.2},{},{:.4},{},{:.4},{:.3}",
            e.t_s,
            activation_word(p.activation_high),
            p.activation_score,
            valence_word(p.valence_positive),
            p.valence_score,
            e.voiced_ratio
        )
        .and_then(|_| self.csv.flush())
        .map_err(|source| AudioError::Io { path: self.paths[1].0.clone(), source })
    }

    /// Finishes both files and gives them their final names: (WAV, CSV).
    pub fn finish(mut self) -> Result<(PathBuf, PathBuf), AudioError> {
        if let Some(w) = self.wav.take() {
            w.finalize().map_err(|e| AudioError::Io { path: self.paths[0].0.clone(), source: std::io::Error::other(e) })?;
        }
        self.csv.flush().map_err(|source| AudioError::Io { path: self.paths[1].0.clone(), source })?;
        for (from, to) in &self.paths {
            std::fs::rename(from, to).map_err(|source| AudioError::Io { path: to.clone(), source })?;
        }
        let [(_, wav), (_, csv)] = self.paths.clone();
        Ok((wav, csv))
    }
}

/// Where live audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveSource {
    /// An input device by id; None = the default input.
    Microphone(Option<String>),
    /// A file played in real time as if it were a microphone.
    File(PathBuf),
}

/// What a running session can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveCommand {
    Calibrate,
    ResetCalibration,
}

/// A live session.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePlan {
    pub source: LiveSource,
    pub config: LiveConfig,
    /// Record the session to `BASE.wav` and `BASE.csv`.
    pub record: Option<PathBuf>,
    /// Calibrate on the first `config.calibration_s` seconds of speech.
    pub calibrate_at_start: bool,
}

impl Default for LivePlan {
    fn default() -> Self {
        Self { source: LiveSource::Microphone(None), config: LiveConfig::default(), record: None, calibrate_at_start: false }
    }
}

/// How a session went.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSummary {
    /// Estimates made (speech or not).
    pub estimates: usize,
    /// Seconds of audio heard.
    pub audio_s: f64,
    /// The recording (WAV, CSV), if one was made.
    pub recording: Option<(PathBuf, PathBuf)>,
}

/// Runs a live session until the source ends (a file), the device is lost, or `cancel`;
/// reports level, estimates and calibration as events. A recording is finished in every case,
/// a lost device included (then the error follows).
pub fn run(
    plan: &LivePlan,
    predictor: Arc<Predictor>,
    sink: &dyn Sink,
    cancel: &CancelToken,
    commands: &Receiver<LiveCommand>,
) -> Result<LiveSummary, JobError> {
    let mut analyzer = LiveAnalyzer::new(predictor, plan.config)?;
    let input = match &plan.source {
        LiveSource::Microphone(id) => LiveInput::microphone(id.as_deref())?,
        LiveSource::File(p) => LiveInput::file(p, 1.0, 20)?,
    };
    let mut recorder = match &plan.record {
        Some(base) => Some(SessionRecorder::create(base)?),
        None => None,
    };
    sink.event(Event::Notice(format!("listening to {}", input.description)));
    if plan.calibrate_at_start {
        analyzer.start_calibration();
        sink.event(Event::Calibration(analyzer.calibration()));
    }
    let mut summary = LiveSummary { estimates: 0, audio_s: 0.0, recording: None };
    let mut failure: Option<JobError> = None;
    while !cancel.is_cancelled() {
        for c in commands.try_iter() {
            match c {
                LiveCommand::Calibrate => analyzer.start_calibration(),
                LiveCommand::ResetCalibration => analyzer.reset_calibration(),
            }
            sink.event(Event::Calibration(analyzer.calibration()));
        }
        let ev = match input.events().recv_timeout(Duration::from_millis(100)) {
            Ok(ev) => ev,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        };
        match ev {
            LiveEvent::Audio { samples, captured_at } => {
                let ms = samples.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
                sink.event(Event::Level((10.0 * ms.max(1e-10).log10()) as f32));
                summary.audio_s += samples.len() as f64 / CANONICAL_RATE as f64;
                if let Some(r) = recorder.as_mut()
                    && let Err(e) = r.audio(&samples)
                {
                    failure = Some(e.into());
                    break;
                }
                let before = analyzer.calibration();
                for e in analyzer.push(&samples, captured_at) {
                    summary.estimates += 1;
                    if let Some(r) = recorder.as_mut()
                        && let Err(err) = r.estimate(&e)
                    {
                        failure = Some(err.into());
                    }
                    sink.event(Event::Estimate(e));
                }
                if analyzer.calibration() != before {
                    sink.event(Event::Calibration(analyzer.calibration()));
                }
                if failure.is_some() {
                    break;
                }
            }
            LiveEvent::Overrun { dropped_samples } => {
                sink.event(Event::Notice(format!("audio over-run: {dropped_samples} samples lost")));
            }
            LiveEvent::DeviceLost(why) => {
                failure = Some(JobError::DeviceLost { device: input.description.clone(), why });
                break;
            }
            LiveEvent::Finished => break,
        }
    }
    input.stop();
    if let Some(r) = recorder {
        match r.finish() {
            Ok((wav, csv)) => {
                sink.event(Event::Notice(format!("session saved to {} and {}", wav.display(), csv.display())));
                summary.recording = Some((wav, csv));
            }
            Err(e) => failure = failure.or(Some(e.into())),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}
