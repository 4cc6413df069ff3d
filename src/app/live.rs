//! Live tab: microphone (or a file played as one) → streaming eGeMAPS → predictor, on a
//! worker thread; the UI shows level, speech, the point on the plane with its trail, a
//! one-minute timeline, and the latency from sound to display.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use egui::Vec2;

use super::plane::{plane, to_plane};
use super::{ActiveModel, Dialogs, Settings};
use crate::audio::{self, CANONICAL_RATE, InputDevice, LiveEvent, LiveInput};
use crate::classify::label::{activation_word, valence_word};
use crate::classify::pipeline::{Prediction, Predictor};
use crate::egemaps::{N_FEATURES, StreamingExtractor};

/// Minimum share of voiced frames for a window to count as speech.
pub const SPEECH_VOICED_RATIO: f64 = 0.15;
/// Speech windows a calibration collects.
const CALIBRATION_WINDOWS: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub enum LiveSource {
    Microphone(Option<String>),
    File(PathBuf),
}

enum Command {
    Calibrate,
    ResetCalibration,
}

/// One analysis result.
#[derive(Debug, Clone)]
pub struct Estimate {
    /// Stream time of the window's end (s).
    pub t_s: f64,
    pub prediction: Option<Prediction>,
    pub voiced_ratio: f64,
    /// When the newest sound in the window was captured.
    pub captured_at: Instant,
}

enum Update {
    Level(f32),
    Estimate(Estimate),
    Calibration(Option<usize>),
    Notice(String),
    Error(String),
    Ended,
}

struct Session {
    rx: Receiver<Update>,
    cmd: Sender<Command>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

pub struct LiveTab {
    devices: Option<Result<Vec<InputDevice>, String>>,
    file_source: Option<PathBuf>,
    use_file: bool,
    session: Option<Session>,
    /// Recent points (stream time, position), oldest first.
    pub trail: VecDeque<(f64, Vec2)>,
    /// (t, activation score, valence score) over the last minute.
    pub timeline: VecDeque<(f64, f64, f64)>,
    pub level_db: f32,
    pub speech: bool,
    pub latency_ms: Option<f64>,
    pub last: Option<Estimate>,
    pub calibration: Option<usize>,
    pub calibrating: bool,
    pub record: bool,
    window_s: f64,
    update_s: f64,
    pub estimates: usize,
    /// Worker messages that arrived while stopping, shown on the next poll.
    pending: Vec<Update>,
}

impl LiveTab {
    pub fn new(settings: &Settings) -> Self {
        Self {
            devices: None,
            file_source: None,
            use_file: false,
            session: None,
            trail: VecDeque::new(),
            timeline: VecDeque::new(),
            level_db: -90.0,
            speech: false,
            latency_ms: None,
            last: None,
            calibration: None,
            calibrating: false,
            record: false,
            window_s: settings.window_s,
            update_s: settings.update_s,
            estimates: 0,
            pending: Vec::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.session.is_some()
    }

    /// Uses a file, played in real time, as the input (demos and tests).
    pub fn set_file_source(&mut self, path: PathBuf) {
        self.file_source = Some(path);
        self.use_file = true;
    }

    pub fn start(&mut self, model: &ActiveModel, settings: &Settings, notes: &mut Vec<(bool, String)>) {
        if self.session.is_some() {
            return;
        }
        let source = match (&self.file_source, self.use_file) {
            (Some(p), true) => LiveSource::File(p.clone()),
            _ => LiveSource::Microphone(settings.input_device.clone()),
        };
        let record_to = self.record.then(|| {
            let dir = settings.last_audio_folder.clone().unwrap_or_else(std::env::temp_dir);
            dir.join(format!("valar-session-{}", crate::cli::timestamp_for_file()))
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        let (ctx_tx, cmd_rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_w = stop.clone();
        let predictor = model.predictor.clone();
        let (w, h) = (settings.window_s, settings.update_s);
        self.window_s = w;
        self.update_s = h;
        let handle = std::thread::Builder::new()
            .name("valar-live".into())
            .spawn(move || run_worker(source, predictor, w, h, record_to, tx, cmd_rx, stop_w))
            .ok();
        if handle.is_none() {
            notes.push((true, "could not start the analysis thread".into()));
            return;
        }
        self.trail.clear();
        self.timeline.clear();
        self.last = None;
        self.latency_ms = None;
        self.estimates = 0;
        self.session = Some(Session { rx, cmd: ctx_tx, stop, handle });
    }

    pub fn stop(&mut self) {
        if let Some(mut s) = self.session.take() {
            s.stop.store(true, Ordering::SeqCst);
            // The worker finishes its recording files before it ends; wait for it.
            if let Some(h) = s.handle.take() {
                let _ = h.join();
            }
            while let Ok(u) = s.rx.try_recv() {
                if let Update::Notice(_) | Update::Error(_) = u {
                    // Drained by the next poll through `pending`.
                    self.pending.push(u);
                }
            }
        }
        self.calibrating = false;
    }

    /// Applies worker updates; returns messages for the user.
    pub fn poll(&mut self, notes: &mut Vec<(bool, String)>) {
        let mut updates: Vec<Update> = std::mem::take(&mut self.pending);
        if let Some(s) = &self.session {
            updates.extend(s.rx.try_iter());
        }
        let mut ended = false;
        for u in updates {
            match u {
                Update::Level(db) => self.level_db = db,
                Update::Estimate(e) => self.apply(e),
                Update::Calibration(c) => {
                    self.calibration = c;
                    self.calibrating = false;
                    if let Some(n) = c {
                        notes.push((false, format!("calibrated on {n} windows of your speech")));
                    }
                }
                Update::Notice(t) => notes.push((false, t)),
                Update::Error(t) => notes.push((true, t)),
                Update::Ended => ended = true,
            }
        }
        if ended {
            self.stop();
        }
    }

    fn apply(&mut self, e: Estimate) {
        self.speech = e.voiced_ratio >= SPEECH_VOICED_RATIO;
        self.latency_ms = Some(e.captured_at.elapsed().as_secs_f64() * 1000.0);
        if let Some(p) = &e.prediction {
            self.estimates += 1;
            self.trail.push_back((e.t_s, to_plane(p.valence_score, p.activation_score)));
            while self.trail.len() > 24 {
                self.trail.pop_front();
            }
            self.timeline.push_back((e.t_s, p.activation_score, p.valence_score));
        }
        while self.timeline.front().is_some_and(|f| e.t_s - f.0 > 60.0) {
            self.timeline.pop_front();
        }
        self.last = Some(e);
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        model: Option<&ActiveModel>,
        settings: &mut Settings,
        dialogs: &dyn Dialogs,
        notes: &mut Vec<(bool, String)>,
    ) {
        let running = self.session.is_some();
        ui.horizontal_wrapped(|ui| {
            let input_label = ui.label("Input:");
            let devices = self.devices.take().unwrap_or_else(|| audio::input_devices().map_err(|e| e.to_string()));
            let selected = if self.use_file {
                self.file_source
                    .as_ref()
                    .map(|p| format!("file: {}", p.file_name().unwrap_or_default().to_string_lossy()))
                    .unwrap_or_default()
            } else {
                match (&settings.input_device, devices.as_ref().ok()) {
                    (Some(id), Some(list)) => {
                        list.iter().find(|d| &d.id == id).map(|d| d.description.clone()).unwrap_or_else(|| id.clone())
                    }
                    _ => "default input".into(),
                }
            };
            let mut pick_file = false;
            let mut refresh = false;
            ui.add_enabled_ui(!running, |ui| {
                let combo = egui::ComboBox::from_id_salt("input-device").selected_text(selected).width(260.0).show_ui(ui, |ui| {
                    if ui.selectable_label(!self.use_file && settings.input_device.is_none(), "default input").clicked() {
                        settings.input_device = None;
                        self.use_file = false;
                    }
                    match &devices {
                        Ok(list) => {
                            for d in list.iter() {
                                let label = format!("{}{}", d.description, if d.is_default { " (default)" } else { "" });
                                if ui.selectable_label(!self.use_file && settings.input_device.as_ref() == Some(&d.id), label).clicked() {
                                    settings.input_device = Some(d.id.clone());
                                    self.use_file = false;
                                }
                            }
                        }
                        Err(e) => {
                            ui.label(format!("no devices: {e}"));
                        }
                    }
                    ui.separator();
                    if ui.selectable_label(self.use_file, "Play a file as the microphone…").clicked() {
                        pick_file = true;
                    }
                });
                combo.response.labelled_by(input_label.id);
                if ui.button("↻").on_hover_text("Look for input devices again").clicked() {
                    refresh = true;
                }
            });
            self.devices = if refresh { None } else { Some(devices) };
            if pick_file
                && let Some(files) = dialogs.pick_audio_files()
                && let Some(f) = files.into_iter().next()
            {
                self.set_file_source(f);
            }
            ui.separator();
            match (running, model) {
                (false, Some(m)) => {
                    if ui.button("▶ Start").clicked() {
                        self.start(m, settings, notes);
                    }
                }
                (false, None) => {
                    ui.add_enabled(false, egui::Button::new("▶ Start")).on_disabled_hover_text("load a model first");
                }
                (true, _) => {
                    if ui.button("■ Stop").clicked() {
                        self.stop();
                    }
                }
            }
            ui.add_enabled(!running, egui::Checkbox::new(&mut self.record, "record session (WAV + CSV)"));
        });
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!running, |ui| {
                let name = ui.label("Window");
                ui.add(egui::DragValue::new(&mut settings.window_s).range(1.0..=10.0).speed(0.1).suffix(" s")).labelled_by(name.id);
                let name = ui.label("Update every");
                ui.add(egui::DragValue::new(&mut settings.update_s).range(0.1..=5.0).speed(0.05).suffix(" s")).labelled_by(name.id);
            });
            ui.separator();
            let cal_text = match (self.calibrating, self.calibration) {
                (true, _) => "calibrating: keep talking…".to_string(),
                (false, Some(n)) => format!("calibrated ({n} windows)"),
                (false, None) => "not calibrated".to_string(),
            };
            ui.label(cal_text);
            if ui.add_enabled(running && !self.calibrating, egui::Button::new("Calibrate to my voice")).clicked()
                && let Some(s) = &self.session
            {
                let _ = s.cmd.send(Command::Calibrate);
                self.calibrating = true;
            }
            if ui.add_enabled(self.calibration.is_some() && running, egui::Button::new("Reset")).clicked()
                && let Some(s) = &self.session
            {
                let _ = s.cmd.send(Command::ResetCalibration);
            }
        });
        ui.separator();
        ui.horizontal(|ui| {
            // Level meter.
            let frac = ((self.level_db + 60.0) / 60.0).clamp(0.0, 1.0);
            ui.label("Level");
            ui.add(egui::ProgressBar::new(frac).desired_width(160.0).text(format!("{:.0} dBFS", self.level_db)));
            let (col, txt) =
                if self.speech && running { (egui::Color32::from_rgb(60, 190, 90), "speech") } else { (egui::Color32::GRAY, "no speech") };
            ui.label(egui::RichText::new(format!("● {txt}")).color(col));
            if let Some(l) = self.latency_ms {
                ui.label(format!("latency {:.0} ms", l)).on_hover_text("from the newest sound in the analysis window to this display");
            }
        });
        let avail = ui.available_size();
        let side = (avail.y - 10.0).min(avail.x * 0.45).max(200.0);
        ui.horizontal(|ui| {
            let pts: Vec<Vec2> = self.trail.iter().map(|t| t.1).collect();
            plane(ui, side, &pts, self.speech && running);
            ui.vertical(|ui| {
                match self.last.as_ref().and_then(|e| e.prediction) {
                    Some(p) => {
                        ui.heading(format!(
                            "activation {} ({:.0} %) · valence {} ({:.0} %)",
                            activation_word(p.activation_high),
                            100.0 * p.activation_score,
                            valence_word(p.valence_positive),
                            100.0 * p.valence_score
                        ));
                    }
                    None => {
                        ui.heading(if running { "listening…" } else { "press Start and speak" });
                    }
                }
                let t_now = self.timeline.back().map(|t| t.0).unwrap_or(0.0);
                let act: egui_plot::PlotPoints = self.timeline.iter().map(|t| [t.0 - t_now, t.1]).collect();
                let val: egui_plot::PlotPoints = self.timeline.iter().map(|t| [t.0 - t_now, t.2]).collect();
                egui_plot::Plot::new("live-timeline")
                    .height(side * 0.55)
                    .include_x(-60.0)
                    .include_x(0.0)
                    .include_y(0.0)
                    .include_y(1.0)
                    .allow_drag(false)
                    .allow_zoom(false)
                    .allow_scroll(false)
                    .x_axis_label("seconds")
                    // Top left: the newest estimates arrive at the right edge and must stay visible.
                    .legend(egui_plot::Legend::default().position(egui_plot::Corner::LeftTop))
                    .show(ui, |p| {
                        p.line(egui_plot::Line::new("activation", act).color(egui::Color32::from_rgb(230, 90, 60)).width(2.0));
                        p.line(egui_plot::Line::new("valence", val).color(egui::Color32::from_rgb(70, 150, 240)).width(2.0));
                    });
            });
        });
    }
}

impl Drop for LiveTab {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where in the stream each captured block ends, to date analysis windows.
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

#[allow(clippy::too_many_arguments)]
fn run_worker(
    source: LiveSource,
    predictor: Arc<Predictor>,
    window_s: f64,
    update_s: f64,
    record_to: Option<PathBuf>,
    tx: Sender<Update>,
    cmd: Receiver<Command>,
    stop: Arc<AtomicBool>,
) {
    let input = match &source {
        LiveSource::Microphone(id) => LiveInput::microphone(id.as_deref()),
        LiveSource::File(p) => LiveInput::file(p, 1.0, 20),
    };
    let input = match input {
        Ok(i) => i,
        Err(e) => {
            let _ = tx.send(Update::Error(e.to_string()));
            let _ = tx.send(Update::Ended);
            return;
        }
    };
    let _ = tx.send(Update::Notice(format!("listening to {}", input.description)));
    let mut ex = match StreamingExtractor::new(CANONICAL_RATE, window_s, update_s) {
        Ok(x) => x,
        Err(e) => {
            let _ = tx.send(Update::Error(e.to_string()));
            let _ = tx.send(Update::Ended);
            return;
        }
    };
    let mut clock = CaptureClock { blocks: VecDeque::new(), total: 0 };
    let mut recorded: Vec<f32> = Vec::new();
    let mut rows: Vec<String> = Vec::new();
    let mut shift: Option<Vec<f64>> = None;
    let mut collecting: Option<Vec<[f64; N_FEATURES]>> = None;
    let frame_tail = (0.05 * CANONICAL_RATE as f64) as usize; // a 60 ms frame ends 50 ms after the next hop
    let mut ended = false;
    while !stop.load(Ordering::Relaxed) && !ended {
        while let Ok(c) = cmd.try_recv() {
            match c {
                Command::Calibrate => collecting = Some(Vec::new()),
                Command::ResetCalibration => {
                    shift = None;
                    let _ = tx.send(Update::Calibration(None));
                }
            }
        }
        let ev = match input.events().recv_timeout(Duration::from_millis(100)) {
            Ok(ev) => ev,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(_) => break,
        };
        match ev {
            LiveEvent::Audio { samples, captured_at } => {
                clock.push(samples.len(), captured_at);
                let ms = samples.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
                let _ = tx.send(Update::Level((10.0 * ms.max(1e-10).log10()) as f32));
                if record_to.is_some() {
                    recorded.extend_from_slice(&samples);
                }
                for w in ex.push(&samples) {
                    let speech = w.voiced_ratio >= SPEECH_VOICED_RATIO && w.functionals.is_valid();
                    let mut raw = w.functionals.0;
                    if speech && let Some(c) = collecting.as_mut() {
                        c.push(raw);
                        if c.len() >= CALIBRATION_WINDOWS {
                            let n = c.len() as f64;
                            let mean: Vec<f64> = (0..N_FEATURES).map(|j| c.iter().map(|r| r[j]).sum::<f64>() / n).collect();
                            // Move the speaker's mean onto the model's training mean.
                            shift = Some(mean.iter().zip(&predictor.normalizer.mean).map(|(u, m)| m - u).collect());
                            let _ = tx.send(Update::Calibration(Some(c.len())));
                            collecting = None;
                        }
                    }
                    if let Some(s) = &shift {
                        for (v, d) in raw.iter_mut().zip(s) {
                            *v += d;
                        }
                    }
                    let prediction = speech.then(|| predictor.predict(&[raw.to_vec()])[0]);
                    let end_sample = (w.end_s * CANONICAL_RATE as f64) as usize + frame_tail;
                    if let Some(p) = &prediction {
                        rows.push(format!(
                            "{:.2},{},{:.4},{},{:.4},{:.3}",
                            w.end_s,
                            activation_word(p.activation_high),
                            p.activation_score,
                            valence_word(p.valence_positive),
                            p.valence_score,
                            w.voiced_ratio
                        ));
                    }
                    let _ = tx.send(Update::Estimate(Estimate {
                        t_s: w.end_s,
                        prediction,
                        voiced_ratio: w.voiced_ratio,
                        captured_at: clock.time_of(end_sample),
                    }));
                }
            }
            LiveEvent::Overrun { dropped_samples } => {
                let _ = tx.send(Update::Notice(format!("audio over-run: {dropped_samples} samples lost")));
            }
            LiveEvent::DeviceLost(why) => {
                let _ = tx.send(Update::Error(format!("{}: {why}", input.description)));
                ended = true;
            }
            LiveEvent::Finished => ended = true,
        }
    }
    input.stop();
    if let Some(base) = record_to {
        let wav = base.with_extension("wav");
        let csv = base.with_extension("csv");
        let r = audio::write_wav(&wav, &recorded, CANONICAL_RATE).map_err(|e| e.to_string()).and_then(|_| {
            crate::fsutil::write_atomic(&csv, |w| {
                writeln!(w, "t_s,activation,activation_score,valence,valence_score,voiced_ratio")?;
                for r in &rows {
                    writeln!(w, "{r}")?;
                }
                Ok(())
            })
            .map_err(|e| format!("{}: {e}", csv.display()))
        });
        let _ = tx.send(match r {
            Ok(()) => Update::Notice(format!("session saved to {} and {}", wav.display(), csv.display())),
            Err(e) => Update::Error(format!("could not save the session: {e}")),
        });
    }
    let _ = tx.send(Update::Ended);
}
