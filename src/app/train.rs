//! Train tab: pick an in-context corpus and an out-of-context bank, set hyper-parameters, and
//! train in the background with live loss curves; then the leave-one-speaker-out report
//! against the baseline, an atomic save, and the new model becomes the active one.

use std::path::PathBuf;

use crossbeam_channel::Receiver;

use super::{ActiveModel, Message, Notifier, TabContext, View};
use crate::classify::bundle::BANK_FILE;
use crate::classify::{InputFeatures, Normalization};
use crate::jobs::train::{self, CheckLine, Recipe, TrainPlan, Trained};
use crate::jobs::{CancelToken, Event, JobError};
use crate::model::{AaeConfig, DeviceChoice, EpochLosses};

enum Msg {
    Event(Event),
    Done(Result<Trained, JobError>),
}

struct Job {
    rx: Receiver<Msg>,
    cancel: CancelToken,
}

pub struct TrainTab {
    pub in_context: Option<PathBuf>,
    /// None = the active model's bundled out-of-context bank.
    pub out_of_context: Option<PathBuf>,
    pub enrich: bool,
    pub dims: usize,
    pub neighbours: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    /// How the training rows are standardised (a per-speaker model is meant for adapted
    /// labelling).
    pub normalization: Normalization,
    /// The functionals the model reads: all 88, or only what a recording's level does not move.
    pub input: InputFeatures,
    pub device: DeviceChoice,
    pub name: String,
    pub evaluate: bool,
    job: Option<Job>,
    pub stage: String,
    pub progress: f32,
    pub losses: Vec<(String, EpochLosses)>,
    pub report: Option<Vec<CheckLine>>,
    pub saved: Option<PathBuf>,
    pub failed: Option<String>,
}

impl Default for TrainTab {
    fn default() -> Self {
        let plan = TrainPlan::default();
        Self {
            in_context: None,
            out_of_context: None,
            enrich: plan.recipe == Recipe::Enriched,
            dims: plan.aae.dims,
            neighbours: plan.aae.neighbours,
            epochs: plan.aae.epochs,
            learning_rate: plan.aae.learning_rate,
            normalization: plan.normalization,
            input: plan.input,
            device: plan.device,
            name: plan.output.display().to_string(),
            evaluate: true,
            job: None,
            stage: String::new(),
            progress: 0.0,
            losses: Vec::new(),
            report: None,
            saved: None,
            failed: None,
        }
    }
}

impl TrainTab {
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Starts training; the model is saved under `services.user_models/<name>`.
    pub fn start(&mut self, model: Option<&ActiveModel>, services: &super::Services, notes: &mut Vec<Message>, egui: &egui::Context) {
        if self.job.is_some() {
            return;
        }
        let Some(inside) = self.in_context.clone() else {
            notes.push(Message::Error("choose an in-context corpus first".into()));
            return;
        };
        let name: String = self.name.trim().chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
        if name.is_empty() {
            notes.push(Message::Error("give the model a name".into()));
            return;
        }
        let ooc = match (&self.out_of_context, model) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(m)) if m.path.join(BANK_FILE).is_file() => Some(m.path.join(BANK_FILE)),
            _ => None,
        };
        if self.enrich && ooc.is_none() {
            notes.push(Message::Error("enrichment needs an out-of-context bank: the active model has none, choose one".into()));
            return;
        }
        let plan = TrainPlan {
            in_context: vec![inside],
            out_of_context: if self.enrich { ooc.into_iter().collect() } else { Vec::new() },
            recipe: if self.enrich { Recipe::Enriched } else { Recipe::Aae },
            aae: AaeConfig {
                dims: self.dims,
                neighbours: self.neighbours,
                epochs: self.epochs,
                learning_rate: self.learning_rate,
                ..TrainPlan::default().aae
            },
            normalization: self.normalization,
            input: self.input,
            device: self.device,
            check: self.evaluate,
            output: services.user_models.join(name),
            cache_dir: services.cache_dir.clone(),
            command: "trained in the valar app".into(),
            ..TrainPlan::default()
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let tx = Notifier::new(tx, egui);
        let cancel = CancelToken::new();
        let c = cancel.clone();
        std::thread::spawn(move || {
            let r = train::run(&plan, &|e| tx.send(Msg::Event(e)), &c);
            tx.send(Msg::Done(r));
        });
        self.losses.clear();
        self.report = None;
        self.saved = None;
        self.failed = None;
        self.stage = "starting".into();
        self.progress = 0.0;
        self.job = Some(Job { rx, cancel });
    }

    pub fn cancel(&mut self) {
        if let Some(j) = &self.job {
            j.cancel.cancel();
        }
    }

    /// Applies worker messages; returns the path of a newly saved model to activate.
    pub fn poll(&mut self, notes: &mut Vec<Message>) -> Option<PathBuf> {
        let job = self.job.as_ref()?;
        let mut out = None;
        let mut finished = false;
        for m in job.rx.try_iter() {
            match m {
                Msg::Event(Event::Stage { name, fraction }) => {
                    self.stage = name;
                    self.progress = fraction;
                }
                Msg::Event(Event::Epoch { stage, losses, .. }) => self.losses.push((stage, losses)),
                Msg::Event(Event::Skipped(s)) => notes.push(Message::Notice(format!("skipped: {s}"))),
                Msg::Event(_) => {}
                Msg::Done(Ok(t)) => {
                    notes.push(Message::Notice(format!("model saved to {} and activated", t.path.display())));
                    self.stage = "done".into();
                    self.progress = 1.0;
                    self.report = t.check;
                    self.saved = Some(t.path.clone());
                    out = Some(t.path);
                    finished = true;
                }
                Msg::Done(Err(e)) => {
                    // A cancel is the user's choice, not a failure: a notice, not an error.
                    let text = format!("training: {e}");
                    notes.push(if e.is_cancelled() { Message::Notice(text) } else { Message::Error(text) });
                    self.stage = e.to_string();
                    self.failed = Some(e.to_string());
                    finished = true;
                }
            }
        }
        if finished {
            self.job = None;
        }
        out
    }

    fn draw(&mut self, ui: &mut egui::Ui, cx: &mut TabContext<'_>) {
        let (model, services) = (cx.model, cx.services);
        let running = self.job.is_some();
        ui.add_enabled_ui(!running, |ui| {
            egui::Grid::new("train-form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
                let name = ui.label("In-context corpus");
                ui.horizontal(|ui| {
                    // Typed or picked: the field is also the way in where no file dialog exists.
                    let mut text = self.in_context.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                    let field = egui::TextEdit::singleline(&mut text).hint_text("manifest CSV or emotion folder").desired_width(260.0);
                    if ui.add(field).labelled_by(name.id).changed() {
                        self.in_context = (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()));
                    }
                    if ui.button("Manifest CSV…").clicked()
                        && let Some(p) = services.dialogs.pick_csv("In-context manifest (path,speaker,…,activation,valence)")
                    {
                        cx.settings.last_corpus = Some(p.clone());
                        self.in_context = Some(p);
                    }
                    if ui.button("Emotion folders…").clicked()
                        && let Some(p) = services.dialogs.pick_folder("Folder with one subfolder per emotion")
                    {
                        cx.settings.last_corpus = Some(p.clone());
                        self.in_context = Some(p);
                    }
                });
                ui.end_row();
                ui.label("Enrichment");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut self.enrich, "enrich with out-of-context labels");
                    let bank = match &self.out_of_context {
                        Some(p) => p.display().to_string(),
                        None => match model {
                            Some(m) if m.path.join(BANK_FILE).is_file() => format!("bundled bank of {}", m.name),
                            _ => "(no bank in the active model)".into(),
                        },
                    };
                    ui.label(bank);
                    if ui.button("Other…").clicked()
                        && let Some(p) = services.dialogs.pick_csv("Out-of-context manifest or feature bank")
                    {
                        self.out_of_context = Some(p);
                    }
                    if self.out_of_context.is_some() && ui.button("use bundled").clicked() {
                        self.out_of_context = None;
                    }
                });
                ui.end_row();
                let name = ui.label("Code size D");
                ui.add(egui::DragValue::new(&mut self.dims).range(2..=128)).labelled_by(name.id);
                ui.end_row();
                let name = ui.label("Neighbours K");
                ui.add(egui::DragValue::new(&mut self.neighbours).range(1..=100)).labelled_by(name.id);
                ui.end_row();
                let name = ui.label("Epochs");
                ui.add(egui::DragValue::new(&mut self.epochs).range(1..=1000)).labelled_by(name.id);
                ui.end_row();
                let name = ui.label("Learning rate");
                ui.add(egui::DragValue::new(&mut self.learning_rate).range(1e-5..=1e-2).speed(1e-5).max_decimals(5)).labelled_by(name.id);
                ui.end_row();
                let name = ui.label("Normalisation");
                egui::ComboBox::from_id_salt("train-normalization")
                    .selected_text(normalization_text(self.normalization))
                    .show_ui(ui, |ui| {
                        for n in [Normalization::Global, Normalization::PerCorpus, Normalization::PerSpeaker] {
                            ui.selectable_value(&mut self.normalization, n, normalization_text(n));
                        }
                    })
                    .response
                    .on_hover_text(
                        "Global suits one recording or a folder of unknown speakers. Per corpus or per speaker \
                         standardise each group by its own statistics: such a model labels best with \
                         \"adapt to this batch\" (per folder, one folder per speaker).",
                    )
                    .labelled_by(name.id);
                ui.end_row();
                let name = ui.label("Input");
                egui::ComboBox::from_id_salt("train-input")
                    .selected_text(input_text(self.input))
                    .show_ui(ui, |ui| {
                        for i in [InputFeatures::All, InputFeatures::LevelFree] {
                            ui.selectable_value(&mut self.input, i, input_text(i));
                        }
                    })
                    .response
                    .on_hover_text(
                        "All 88 keep the recording level, a real cue within one studio. Level-free reads nothing a \
                         microphone's gain moves (loudness relative to its mean; flux means and sound level left out): \
                         the bundled model's choice for voices from other rooms and microphones.",
                    )
                    .labelled_by(name.id);
                ui.end_row();
                let name = ui.label("Device");
                egui::ComboBox::from_id_salt("train-device")
                    .selected_text(format!("{:?}", self.device))
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.device, DeviceChoice::Auto, "Auto (GPU if present)");
                        ui.selectable_value(&mut self.device, DeviceChoice::Wgpu, "wgpu");
                        ui.selectable_value(&mut self.device, DeviceChoice::Cpu, "CPU");
                    })
                    .response
                    .labelled_by(name.id);
                ui.end_row();
                ui.label("Leave-one-speaker-out report");
                ui.checkbox(&mut self.evaluate, "evaluate against the baseline before saving");
                ui.end_row();
                let name = ui.label("Model name");
                ui.text_edit_singleline(&mut self.name).labelled_by(name.id);
                ui.end_row();
            });
        });
        ui.horizontal(|ui| {
            if running {
                if ui.button("Cancel").clicked() {
                    self.cancel();
                }
            } else if ui.button("Start training").clicked() {
                self.start(model, services, cx.messages, cx.egui);
            }
            if running || self.progress > 0.0 {
                ui.add(egui::ProgressBar::new(self.progress).desired_width(260.0).text(self.stage.clone()));
            }
        });
        ui.separator();
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.strong("Losses per epoch");
            let series = |f: fn(&EpochLosses) -> f64| -> egui_plot::PlotPoints<'static> {
                self.losses.iter().filter(|(s, _)| s == "autoencoder").map(|(_, l)| [l.epoch as f64, f(l)]).collect()
            };
            egui_plot::Plot::new("train-losses").height(220.0).legend(egui_plot::Legend::default()).x_axis_label("epoch").show(ui, |p| {
                p.line(egui_plot::Line::new("L_rec", series(|l| l.rec)).width(2.0));
                p.line(egui_plot::Line::new("L_adv", series(|l| l.adv)).width(2.0));
                p.line(egui_plot::Line::new("L_per", series(|l| l.per)).width(2.0));
            });
            let ui = &mut cols[1];
            ui.strong("Leave-one-speaker-out UAR");
            match &self.report {
                Some(r) if !r.is_empty() => {
                    egui::Grid::new("train-report").striped(true).show(ui, |ui| {
                        ui.label("task");
                        ui.label("baseline (the features alone)");
                        ui.label("this model");
                        ui.end_row();
                        for line in r {
                            ui.label(&line.task);
                            ui.label(format!("{:.1} %", 100.0 * line.baseline_uar));
                            ui.label(format!("{:.1} % (Ds={})", 100.0 * line.method_uar, line.method_ds));
                            ui.end_row();
                        }
                    });
                }
                Some(_) => {
                    ui.label("not enough speakers for leave-one-speaker-out");
                }
                None => {
                    ui.label(egui::RichText::new("appears after training").weak());
                }
            }
        });
    }
}

impl View for TrainTab {
    fn poll(&mut self, cx: &mut TabContext<'_>) {
        if let Some(p) = TrainTab::poll(self, cx.messages) {
            cx.activate = Some(p);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut TabContext<'_>) {
        self.draw(ui, cx);
    }

    fn is_running(&self) -> bool {
        TrainTab::is_running(self)
    }
}

/// The Train tab's words for a normalisation.
fn normalization_text(n: Normalization) -> &'static str {
    match n {
        Normalization::Global => "global (one recording, unknown speakers)",
        Normalization::PerCorpus => "per corpus (each corpus by its own statistics)",
        Normalization::PerSpeaker => "per speaker (label adapted per folder)",
    }
}

/// The Train tab's words for the functionals a model reads.
fn input_text(i: InputFeatures) -> &'static str {
    match i {
        InputFeatures::All => "all 88 functionals",
        InputFeatures::LevelFree => "level-free (ignores the recording level)",
    }
}
