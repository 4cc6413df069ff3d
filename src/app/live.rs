//! Live tab: microphone (or a file played as one) → streaming eGeMAPS → predictor, on a
//! worker thread; the UI shows level, speech, the point on the plane with its trail, a
//! one-minute timeline, and the latency from sound to display.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use egui::Vec2;

use super::plane::{plane, to_plane};
use super::{ActiveModel, Message, Notifier, Settings, TabContext, View};
use crate::audio::{self, InputDevice};
use crate::classify::label::{activation_word, valence_word};
use crate::jobs::live::{self, Calibration, LiveCommand, LiveConfig, LivePlan, LiveSource};
use crate::jobs::{CancelToken, Event, JobError};

pub use crate::jobs::live::Estimate;

enum Update {
    Event(Event),
    Ended(Result<live::LiveSummary, JobError>),
}

struct Session {
    rx: Receiver<Update>,
    cmd: Sender<LiveCommand>,
    stop: CancelToken,
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
    pub calibration: Calibration,
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
            calibration: Calibration::Off,
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

    pub fn start(&mut self, model: &ActiveModel, settings: &Settings, notes: &mut Vec<Message>, egui: &egui::Context) {
        if self.session.is_some() {
            return;
        }
        let source = match (&self.file_source, self.use_file) {
            (Some(p), true) => LiveSource::File(p.clone()),
            _ => LiveSource::Microphone(settings.input_device.clone()),
        };
        let record = self.record.then(|| {
            let dir = settings.last_audio_folder.clone().unwrap_or_else(std::env::temp_dir);
            dir.join(format!("valar-session-{}", crate::jobs::timestamp_for_file()))
        });
        let plan = LivePlan {
            source,
            config: LiveConfig { window_s: settings.window_s, update_s: settings.update_s, ..LiveConfig::default() },
            record,
            calibrate_at_start: false,
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let tx = Notifier::new(tx, egui);
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let stop = CancelToken::new();
        let stop_w = stop.clone();
        let predictor = model.predictor.clone();
        self.window_s = plan.config.window_s;
        self.update_s = plan.config.update_s;
        let handle = std::thread::Builder::new()
            .name("valar-live".into())
            .spawn(move || {
                let r = live::run(&plan, predictor, &|e| tx.send(Update::Event(e)), &stop_w, &cmd_rx);
                tx.send(Update::Ended(r));
            })
            .ok();
        if handle.is_none() {
            notes.push(Message::Error("could not start the analysis thread".into()));
            return;
        }
        self.trail.clear();
        self.timeline.clear();
        self.last = None;
        self.latency_ms = None;
        self.estimates = 0;
        self.calibration = Calibration::Off;
        self.session = Some(Session { rx, cmd: cmd_tx, stop, handle });
    }

    pub fn stop(&mut self) {
        if let Some(mut s) = self.session.take() {
            s.stop.cancel();
            // The worker finishes its recording files before it ends; wait for it.
            if let Some(h) = s.handle.take() {
                let _ = h.join();
            }
            // Its last words (the saved recording, an error) are shown by the next poll.
            self.pending.extend(s.rx.try_iter().filter(|u| matches!(u, Update::Event(Event::Notice(_)) | Update::Ended(Err(_)))));
        }
        if matches!(self.calibration, Calibration::Collecting { .. }) {
            self.calibration = Calibration::Off;
        }
    }

    /// Applies worker updates; returns messages for the user.
    pub fn poll(&mut self, notes: &mut Vec<Message>) {
        let mut updates: Vec<Update> = std::mem::take(&mut self.pending);
        if let Some(s) = &self.session {
            updates.extend(s.rx.try_iter());
        }
        let mut ended = false;
        for u in updates {
            match u {
                Update::Event(Event::Level(db)) => self.level_db = db,
                Update::Event(Event::Estimate(e)) => self.apply(e),
                Update::Event(Event::Calibration(c)) => {
                    if let Calibration::Calibrated { windows } = c
                        && self.calibration != c
                    {
                        notes.push(Message::Notice(format!("calibrated on {windows} windows of your speech")));
                    }
                    self.calibration = c;
                }
                Update::Event(Event::Notice(t)) => notes.push(Message::Notice(t)),
                Update::Event(_) => {}
                Update::Ended(r) => {
                    if let Err(e) = r {
                        notes.push(Message::Error(e.to_string()));
                    }
                    ended = true;
                }
            }
        }
        if ended {
            self.stop();
        }
    }

    fn apply(&mut self, e: Estimate) {
        self.speech = e.speech;
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

    fn draw(&mut self, ui: &mut egui::Ui, cx: &mut TabContext<'_>) {
        let (model, dialogs) = (cx.model, cx.services.dialogs.as_ref());
        let settings = &mut *cx.settings;
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
                        self.start(m, settings, cx.messages, cx.egui);
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
            let need_s = LiveConfig::default().calibration_s;
            let cal_text = match self.calibration {
                Calibration::Collecting { have, need } => format!("calibrating: speak calmly, in your everyday voice… ({have}/{need})"),
                Calibration::Calibrated { windows } => format!("calibrated ({windows} windows)"),
                Calibration::Off => "not calibrated".to_string(),
            };
            ui.label(cal_text);
            let collecting = matches!(self.calibration, Calibration::Collecting { .. });
            if ui
                .add_enabled(running && !collecting, egui::Button::new("Calibrate to my voice"))
                .on_hover_text(format!(
                    "Speak calmly and naturally, in your everyday voice, for about {need_s:.0} s of speech \
                     (pauses do not count). valar then measures your voice against that."
                ))
                .clicked()
                && let Some(s) = &self.session
            {
                let _ = s.cmd.send(LiveCommand::Calibrate);
            }
            if ui.add_enabled(self.calibration != Calibration::Off && running, egui::Button::new("Reset")).clicked()
                && let Some(s) = &self.session
            {
                let _ = s.cmd.send(LiveCommand::ResetCalibration);
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

impl View for LiveTab {
    fn poll(&mut self, cx: &mut TabContext<'_>) {
        LiveTab::poll(self, cx.messages);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut TabContext<'_>) {
        self.draw(ui, cx);
    }

    fn is_running(&self) -> bool {
        LiveTab::is_running(self)
    }
}
