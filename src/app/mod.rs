//! The desktop app (eframe/egui): Live, Files and Train tabs over the same library.
//!
//! Each tab is a [`View`] over the library's jobs (`crate::jobs`): it builds a plan, runs it on
//! a worker thread whose events arrive through a channel — each one also asks egui for a
//! repaint, so the window wakes exactly when there is news — and shows them. The UI thread
//! only drains those channels and paints, so it never waits on audio, analysis or training.
//! File dialogs and model locations come from [`Services`], so tests can drive the real app
//! with injected paths.

mod files;
mod live;
mod plane;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::classify::InputFeatures;
use crate::classify::bundle::{Bundle, BundleError, default_model_dir};
use crate::classify::pipeline::{Predictor, Representation};
use crate::model::{DeviceChoice, select_device};

pub use files::FilesTab;
pub use live::LiveTab;
pub use train::TrainTab;

/// File dialogs, behind an interface so tests can answer them.
pub trait Dialogs {
    fn pick_audio_files(&self) -> Option<Vec<PathBuf>>;
    fn pick_folder(&self, title: &str) -> Option<PathBuf>;
    fn pick_csv(&self, title: &str) -> Option<PathBuf>;
    fn save_csv(&self, suggested: &str) -> Option<PathBuf>;
    /// Where to save an annotation export with extension `ext` (default: the CSV dialog).
    fn save_export(&self, suggested: &str, ext: &str) -> Option<PathBuf> {
        let _ = ext;
        self.save_csv(suggested)
    }
}

/// Native dialogs (rfd).
pub struct NativeDialogs;

impl Dialogs for NativeDialogs {
    fn pick_audio_files(&self) -> Option<Vec<PathBuf>> {
        rfd::FileDialog::new().add_filter("audio", &crate::audio::AUDIO_EXTENSIONS).pick_files()
    }
    fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).pick_folder()
    }
    fn pick_csv(&self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).add_filter("CSV", &["csv"]).pick_file()
    }
    fn save_csv(&self, suggested: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_file_name(suggested).add_filter("CSV", &["csv"]).save_file()
    }
    fn save_export(&self, suggested: &str, ext: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_file_name(suggested).add_filter(ext, &[ext]).save_file()
    }
}

/// What the app needs from its surroundings.
pub struct Services {
    pub dialogs: Box<dyn Dialogs>,
    /// Folder holding the bundled models (`models/`).
    pub bundled_models: PathBuf,
    /// Where models trained in the app are saved.
    pub user_models: PathBuf,
    /// Feature cache folder.
    pub cache_dir: PathBuf,
}

impl Services {
    pub fn native() -> Self {
        let data = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        Self {
            dialogs: Box::new(NativeDialogs),
            bundled_models: default_model_dir().parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("models")),
            user_models: data.join("valar/models"),
            cache_dir: crate::corpus::FeatureCache::default_dir(),
        }
    }
}

/// Settings that persist between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub input_device: Option<String>,
    pub active_model: Option<PathBuf>,
    pub window_s: f64,
    pub update_s: f64,
    pub last_audio_folder: Option<PathBuf>,
    pub last_corpus: Option<PathBuf>,
    pub tab: Tab,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            input_device: None,
            active_model: None,
            window_s: 3.0,
            update_s: 0.5,
            last_audio_folder: None,
            last_corpus: None,
            tab: Tab::Live,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    Live,
    Files,
    Train,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Live, Tab::Files, Tab::Train];

    pub fn label(self) -> &'static str {
        match self {
            Tab::Live => "Live",
            Tab::Files => "Files",
            Tab::Train => "Train",
        }
    }
}

/// A message for the user, shown in the bar at the bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Notice(String),
    Error(String),
}

impl Message {
    pub fn is_error(&self) -> bool {
        matches!(self, Message::Error(_))
    }

    pub fn text(&self) -> &str {
        match self {
            Message::Notice(t) | Message::Error(t) => t,
        }
    }
}

/// What a tab may reach of the app while it polls or draws.
pub struct TabContext<'a> {
    pub model: Option<&'a ActiveModel>,
    pub settings: &'a mut Settings,
    pub services: &'a Services,
    /// Messages for the user, appended.
    pub messages: &'a mut Vec<Message>,
    /// A model folder to activate after this frame (a model a tab just trained).
    pub activate: Option<PathBuf>,
    /// For workers to request a repaint when they have news.
    pub egui: &'a egui::Context,
}

/// One tab of the app.
pub trait View {
    /// Applies what the tab's workers reported since the last frame.
    fn poll(&mut self, cx: &mut TabContext<'_>);
    /// Draws the tab.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut TabContext<'_>);
    /// Whether one of the tab's workers is running.
    fn is_running(&self) -> bool;
}

/// A channel sender that wakes the UI for every message it delivers.
#[derive(Clone)]
pub(crate) struct Notifier<T> {
    tx: crossbeam_channel::Sender<T>,
    ctx: egui::Context,
}

impl<T> Notifier<T> {
    pub(crate) fn new(tx: crossbeam_channel::Sender<T>, ctx: &egui::Context) -> Self {
        Self { tx, ctx: ctx.clone() }
    }

    pub(crate) fn send(&self, v: T) {
        let _ = self.tx.send(v);
        self.ctx.request_repaint();
    }
}

/// The loaded model the tabs share.
#[derive(Clone)]
pub struct ActiveModel {
    pub name: String,
    pub path: PathBuf,
    pub predictor: Arc<Predictor>,
    pub summary: String,
}

pub(crate) fn load_model(path: &Path) -> Result<ActiveModel, BundleError> {
    let (device, _) = select_device(DeviceChoice::Cpu);
    let b = Bundle::load(path, &device)?;
    let features = match b.predictor.input {
        InputFeatures::All => "88 features",
        InputFeatures::LevelFree => "features (level-free)",
    };
    let summary = format!(
        "{} · activation on {} dims, valence on {} dims{}",
        match &b.representation {
            Representation::Features => format!("eGeMAPS {features}"),
            Representation::Aae(a) | Representation::Enriched(a) => format!(
                "{}AAE D={}{}{}",
                if matches!(b.representation, Representation::Enriched(_)) { "enriched " } else { "" },
                a.dims,
                if a.append_features { format!(" ⊕ {features}") } else { String::new() },
                match b.predictor.members.len() {
                    0 => String::new(),
                    n => format!(", an ensemble of {}", n + 1),
                }
            ),
        },
        b.predictor.tasks[0].ds(),
        b.predictor.tasks[1].ds(),
        if b.metadata.in_context.is_empty() {
            String::new()
        } else {
            format!(" · trained on {}", b.metadata.in_context.iter().map(|(n, k)| format!("{n} ({k})")).collect::<Vec<_>>().join(", "))
        }
    );
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
    Ok(ActiveModel { name, path: path.to_path_buf(), predictor: Arc::new(b.predictor), summary })
}

/// Model folders found in `root` (each subfolder holding a model.json).
pub(crate) fn list_models(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("model.json").is_file()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

pub struct ValarApp {
    pub settings: Settings,
    pub services: Services,
    pub model: Option<ActiveModel>,
    pub model_error: Option<String>,
    pub live: LiveTab,
    pub files: FilesTab,
    pub train: TrainTab,
    /// Messages for the user (errors and notices), newest last.
    pub messages: Vec<Message>,
}

const SETTINGS_KEY: &str = "valar-settings";
/// eframe's name for the app: its settings live in `eframe::storage_dir(APP_ID)/app.ron`.
const APP_ID: &str = "valar";

/// The settings saved in `storage`, or the defaults and a notice naming the problem when they
/// cannot be read: a damaged entry (eframe then gives nothing), or a settings `file` that
/// eframe could not parse at all (a crash while it was being written, a hand edit).
pub fn restore_settings(storage: Option<&dyn eframe::Storage>, file: Option<&Path>) -> (Settings, Option<String>) {
    let place = || file.map(|f| f.display().to_string()).unwrap_or_else(|| "the app's storage".into());
    match storage.and_then(|s| s.get_string(SETTINGS_KEY).map(|raw| (s, raw))) {
        Some((s, _)) => match eframe::get_value::<Settings>(s, SETTINGS_KEY) {
            Some(settings) => (settings, None),
            None => {
                (Settings::default(), Some(format!("the saved settings in {} could not be read: valar started with its defaults", place())))
            }
        },
        None => {
            let damaged = file.and_then(|f| std::fs::metadata(f).ok()).is_some_and(|m| m.len() > 0);
            let notice = damaged
                .then(|| format!("the settings file {} could not be read: valar started with its defaults and will replace it", place()));
            (Settings::default(), notice)
        }
    }
}

impl ValarApp {
    /// The app for `ctx` (whose fonts it extends) with these settings and services.
    pub fn new(ctx: &egui::Context, settings: Settings, services: Services) -> Self {
        install_fonts(ctx);
        let mut app = Self {
            live: LiveTab::new(&settings),
            files: FilesTab::default(),
            train: TrainTab::default(),
            settings,
            services,
            model: None,
            model_error: None,
            messages: Vec::new(),
        };
        let path = app
            .settings
            .active_model
            .clone()
            .filter(|p| p.join("model.json").is_file())
            .unwrap_or_else(|| app.services.bundled_models.join("default"));
        app.activate_model(&path);
        app
    }

    /// Creates the app from eframe's context, restoring settings (defaults, and a notice
    /// saying so, when the saved ones cannot be read).
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>) -> Self {
        let file = eframe::storage_dir(APP_ID).map(|d| d.join("app.ron"));
        Self::restored(&cc.egui_ctx, cc.storage, file.as_deref(), Services::native())
    }

    /// The app with the settings saved in `storage` (see [`restore_settings`]); a notice
    /// tells the user when they could not be read.
    pub fn restored(ctx: &egui::Context, storage: Option<&dyn eframe::Storage>, file: Option<&Path>, services: Services) -> Self {
        let (settings, notice) = restore_settings(storage, file);
        let mut app = Self::new(ctx, settings, services);
        if let Some(n) = notice {
            app.notify(Message::Notice(n));
        }
        app
    }

    pub fn activate_model(&mut self, path: &Path) {
        match load_model(path) {
            Ok(m) => {
                self.settings.active_model = Some(m.path.clone());
                self.model = Some(m);
                self.model_error = None;
            }
            Err(e) => {
                self.model_error = Some(e.to_string());
                self.notify(Message::Error(format!("could not load model: {e}")));
            }
        }
    }

    pub fn notify(&mut self, m: Message) {
        self.messages.push(m);
        if self.messages.len() > 50 {
            self.messages.remove(0);
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("valar");
            ui.separator();
            for tab in Tab::ALL {
                ui.selectable_value(&mut self.settings.tab, tab, tab.label());
            }
            ui.separator();
            let model_label = ui.label("Model:");
            let current = self.model.as_ref().map(|m| m.name.clone()).unwrap_or_else(|| "(none)".into());
            let mut choice: Option<PathBuf> = None;
            let picker = egui::ComboBox::from_id_salt("model-picker").selected_text(current).show_ui(ui, |ui| {
                ui.label(egui::RichText::new("bundled").weak());
                for p in list_models(&self.services.bundled_models) {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    if ui.selectable_label(self.model.as_ref().is_some_and(|m| m.path == p), name).clicked() {
                        choice = Some(p);
                    }
                }
                let mine = list_models(&self.services.user_models);
                if !mine.is_empty() {
                    ui.label(egui::RichText::new("yours").weak());
                }
                for p in mine {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    if ui.selectable_label(self.model.as_ref().is_some_and(|m| m.path == p), name).clicked() {
                        choice = Some(p);
                    }
                }
            });
            picker.response.labelled_by(model_label.id);
            if let Some(p) = choice {
                self.activate_model(&p);
            }
            if let Some(m) = &self.model {
                ui.label(egui::RichText::new(&m.summary).small().weak());
            }
        });
    }

    fn message_bar(&mut self, ui: &mut egui::Ui) {
        let Some(m) = self.messages.last().cloned() else { return };
        ui.horizontal(|ui| {
            let color = if m.is_error() { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
            ui.label(egui::RichText::new(m.text()).color(color));
            if ui.small_button("dismiss").clicked() {
                self.messages.clear();
            }
        });
    }

    /// Runs `f` on every tab (or only the `only` one) with the app's context, then applies
    /// the messages and the model activation it produced.
    fn with_views(&mut self, egui: &egui::Context, only: Option<Tab>, mut f: impl FnMut(&mut dyn View, &mut TabContext<'_>)) {
        let mut messages = Vec::new();
        let Self { live, files, train, settings, services, model, .. } = self;
        let mut cx = TabContext { model: model.as_ref(), settings, services, messages: &mut messages, activate: None, egui };
        let views: [(Tab, &mut dyn View); 3] = [(Tab::Live, live), (Tab::Files, files), (Tab::Train, train)];
        for (tab, view) in views {
            if only.is_none_or(|o| o == tab) {
                f(view, &mut cx);
            }
        }
        let activate = cx.activate.take();
        for m in messages {
            self.notify(m);
        }
        if let Some(p) = activate {
            self.activate_model(&p);
        }
    }

    /// One frame of the whole app (what eframe's `App::ui` calls).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        // Drain workers first, so this frame paints their latest results.
        self.with_views(&ctx, None, |v, cx| v.poll(cx));
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        egui::Panel::bottom("messages").show(ui, |ui| self.message_bar(ui));
        egui::CentralPanel::default_margins().show(ui, |ui| {
            let tab = self.settings.tab;
            self.with_views(&ctx, Some(tab), |v, cx| v.ui(ui, cx));
        });
    }
}

/// egui's default proportional font (Ubuntu Light) lacks arrows and geometric shapes (▶ ■ ●
/// ▲ ▼ ↻); falling back to the bundled Hack face draws them instead of tofu.
fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if fonts.font_data.contains_key("Hack")
        && let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional)
        && !family.iter().any(|f| f == "Hack")
    {
        family.push("Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

impl eframe::App for ValarApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}

/// Opens the app window.
pub fn run() -> anyhow::Result<ExitCode> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_inner_size([1100.0, 760.0]).with_min_inner_size([720.0, 480.0]).with_title("valar"),
        persist_window: true,
        ..Default::default()
    };
    eframe::run_native(APP_ID, options, Box::new(|cc| Ok(Box::new(ValarApp::from_creation_context(cc)))))
        .map_err(|e| anyhow::anyhow!("could not open the app window: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
