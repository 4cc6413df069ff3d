//! Train tab: pick an in-context corpus and an out-of-context bank, set hyper-parameters, and
//! train in the background with live loss curves; then the leave-one-speaker-out report
//! against the baseline, an atomic save, and the new model becomes the active one.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::{ActiveModel, Services, Settings};
use crate::classify::Grid;
use crate::classify::bundle::{BANK_FILE, Bundle, Metadata};
use crate::classify::experiment::{ExperimentConfig, OutOfContext, run_experiment};
use crate::classify::pipeline::{LabelledSet, PipelineConfig, Representation, train_predictor};
use crate::corpus::{FeatureCache, LabelledData, load_labelled};
use crate::model::{AaeConfig, DeviceChoice, EpochLosses, select_device};

/// One line of the evaluation report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLine {
    pub task: String,
    pub baseline_uar: f64,
    pub method_uar: f64,
    pub method_ds: usize,
}

enum Msg {
    Stage(String, f32),
    Epoch(String, EpochLosses),
    Report(Vec<ReportLine>),
    Saved(PathBuf),
    Failed(String),
}

struct Job {
    rx: Receiver<Msg>,
    cancel: Arc<AtomicBool>,
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
    pub device: DeviceChoice,
    pub name: String,
    pub evaluate: bool,
    job: Option<Job>,
    pub stage: String,
    pub progress: f32,
    pub losses: Vec<(String, EpochLosses)>,
    pub report: Option<Vec<ReportLine>>,
    pub saved: Option<PathBuf>,
    pub failed: Option<String>,
}

impl Default for TrainTab {
    fn default() -> Self {
        Self {
            in_context: None,
            out_of_context: None,
            enrich: true,
            dims: AaeConfig::default().dims,
            neighbours: 10,
            epochs: 100,
            learning_rate: 0.0005,
            device: DeviceChoice::Auto,
            name: "my-model".into(),
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

/// Everything a training run needs, moved into the worker.
struct Request {
    in_context: PathBuf,
    out_of_context: Option<PathBuf>,
    aae: AaeConfig,
    enrich: bool,
    evaluate: bool,
    device: DeviceChoice,
    output: PathBuf,
    cache_dir: PathBuf,
}

impl TrainTab {
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Starts training; the model is saved under `services.user_models/<name>`.
    pub fn start(&mut self, model: Option<&ActiveModel>, services: &Services, notes: &mut Vec<(bool, String)>) {
        if self.job.is_some() {
            return;
        }
        let Some(inside) = self.in_context.clone() else {
            notes.push((true, "choose an in-context corpus first".into()));
            return;
        };
        let name: String = self.name.trim().chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
        if name.is_empty() {
            notes.push((true, "give the model a name".into()));
            return;
        }
        let ooc = match (&self.out_of_context, model) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(m)) if m.path.join(BANK_FILE).is_file() => Some(m.path.join(BANK_FILE)),
            _ => None,
        };
        if self.enrich && ooc.is_none() {
            notes.push((true, "enrichment needs an out-of-context bank: the active model has none, choose one".into()));
            return;
        }
        let req = Request {
            in_context: inside,
            out_of_context: if self.enrich { ooc } else { None },
            aae: AaeConfig {
                dims: self.dims,
                neighbours: self.neighbours,
                epochs: self.epochs,
                learning_rate: self.learning_rate,
                ..AaeConfig::default()
            },
            enrich: self.enrich,
            evaluate: self.evaluate,
            device: self.device,
            output: services.user_models.join(name),
            cache_dir: services.cache_dir.clone(),
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let c = cancel.clone();
        std::thread::spawn(move || {
            let r = run(req, &tx, &c);
            let _ = tx.send(match r {
                Ok(p) => Msg::Saved(p),
                Err(e) => Msg::Failed(e),
            });
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
            j.cancel.store(true, Ordering::SeqCst);
        }
    }

    /// Applies worker messages; returns the path of a newly saved model to activate.
    pub fn poll(&mut self, notes: &mut Vec<(bool, String)>) -> Option<PathBuf> {
        let job = self.job.as_ref()?;
        let mut out = None;
        let mut finished = false;
        for m in job.rx.try_iter() {
            match m {
                Msg::Stage(s, p) => {
                    self.stage = s;
                    self.progress = p;
                }
                Msg::Epoch(stage, l) => self.losses.push((stage, l)),
                Msg::Report(r) => self.report = Some(r),
                Msg::Saved(p) => {
                    notes.push((false, format!("model saved to {} and activated", p.display())));
                    self.stage = "done".into();
                    self.progress = 1.0;
                    self.saved = Some(p.clone());
                    out = Some(p);
                    finished = true;
                }
                Msg::Failed(e) => {
                    notes.push((e != "cancelled", format!("training: {e}")));
                    self.stage = e.clone();
                    self.failed = Some(e);
                    finished = true;
                }
            }
        }
        if finished {
            self.job = None;
        }
        out
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        model: Option<&ActiveModel>,
        settings: &mut Settings,
        services: &Services,
        notes: &mut Vec<(bool, String)>,
    ) {
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
                        settings.last_corpus = Some(p.clone());
                        self.in_context = Some(p);
                    }
                    if ui.button("Emotion folders…").clicked()
                        && let Some(p) = services.dialogs.pick_folder("Folder with one subfolder per emotion")
                    {
                        settings.last_corpus = Some(p.clone());
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
                self.start(model, services, notes);
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
                        ui.label("baseline (88 features)");
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

fn run(req: Request, tx: &Sender<Msg>, cancel: &AtomicBool) -> Result<PathBuf, String> {
    let stage = |s: &str, p: f32| {
        let _ = tx.send(Msg::Stage(s.into(), p));
    };
    let cancelled = || cancel.load(Ordering::Relaxed);
    let mut cache = FeatureCache::open(&req.cache_dir);
    let load = |path: &PathBuf, what: &str, cache: &mut FeatureCache| -> Result<LabelledData, String> {
        let what = what.to_string();
        load_labelled(path, cache, &|d, t| stage(&format!("{what}: features {d}/{t}"), 0.2 * d as f32 / t.max(1) as f32))
            .map_err(|e| e.to_string())
    };
    let inside = load(&req.in_context, "in-context", &mut cache)?;
    let outside = match &req.out_of_context {
        Some(p) => Some(load(p, "out-of-context", &mut cache)?),
        None => None,
    };
    if cancelled() {
        return Err("cancelled".into());
    }
    let (device, device_name) = select_device(req.device);
    let representation = if req.enrich { Representation::Enriched(req.aae.clone()) } else { Representation::Aae(req.aae.clone()) };
    let cfg = PipelineConfig { representation: representation.clone(), grid: Grid::default() };
    let epochs = req.aae.epochs.max(1) as f32;
    let stages = if req.enrich { 2.0 } else { 1.0 };
    let mut stage_no = 0.0;
    let mut last_stage = String::new();
    let out_set = outside.as_ref().map(LabelledSet::from);
    let predictor = train_predictor(&LabelledSet::from(&inside), out_set.as_ref(), &cfg, &device, &mut |s, l| {
        if s != last_stage {
            if !last_stage.is_empty() {
                stage_no += 1.0;
            }
            last_stage = s.to_string();
        }
        let _ = tx.send(Msg::Epoch(s.to_string(), *l));
        stage(&format!("training {s} (epoch {})", l.epoch), 0.2 + 0.4 * (stage_no + l.epoch as f32 / epochs) / stages);
        !cancelled()
    })
    .map_err(|e| e.to_string())?;

    let mut evaluation = serde_json::Value::Null;
    let mut speakers = inside.speakers.clone();
    speakers.sort();
    speakers.dedup();
    if req.evaluate && speakers.len() >= 2 {
        let ecfg = ExperimentConfig {
            dims: vec![req.aae.dims],
            samples: vec![None],
            seeds: 1,
            first_seed: 0,
            aae: req.aae.clone(),
            grid: Grid::default(),
            per_speaker: false,
            conditions: vec!["baselinefs".into(), if req.enrich { "enriched".into() } else { "aae".into() }],
        };
        let ooc: Vec<OutOfContext<'_>> = outside.iter().map(|d| OutOfContext { name: d.name.clone(), set: LabelledSet::from(d) }).collect();
        let rows = run_experiment(&LabelledSet::from(&inside), &ooc, &ecfg, &device, &|p| {
            stage(&format!("leave-one-speaker-out {}/{}", p.done, p.total), 0.6 + 0.38 * p.done as f32 / p.total.max(1) as f32);
            !cancelled()
        })
        .map_err(|e| e.to_string())?;
        let lines: Vec<ReportLine> = ["activation", "valence"]
            .iter()
            .filter_map(|t| {
                let base = rows.iter().find(|r| r.task == *t && r.condition == "baselinefs")?;
                let m = rows.iter().find(|r| r.task == *t && r.condition != "baselinefs")?;
                Some(ReportLine { task: t.to_string(), baseline_uar: base.uar, method_uar: m.uar, method_ds: m.ds })
            })
            .collect();
        evaluation = serde_json::json!({ "protocol": "leave-one-speaker-out", "rows": rows });
        let _ = tx.send(Msg::Report(lines));
    } else if req.evaluate {
        let _ = tx.send(Msg::Report(Vec::new()));
    }
    if cancelled() {
        return Err("cancelled".into());
    }
    stage("saving", 0.99);
    let counts = |d: &LabelledData| vec![(d.name.clone(), d.len())];
    let metadata = Metadata {
        name: req.output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        created: crate::cli::now_iso(),
        command: "trained in the valar app".into(),
        in_context: counts(&inside),
        out_of_context: outside.as_ref().map(counts).unwrap_or_default(),
        device: device_name,
        evaluation,
        notes: String::new(),
    };
    let bank = outside.as_ref().map(|o| o.to_bank());
    Bundle::save(&predictor, &representation, &metadata, bank.as_ref(), &req.output).map_err(|e| e.to_string())?;
    Ok(req.output)
}
