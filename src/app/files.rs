//! Files tab: label files and folders in the background, a sortable table that fills in as
//! the batch runs (cancellable), CSV export, and for the selected file its activation and
//! valence over time (segments), aligned above its F0 and loudness contours, its trail on the
//! plane, and exports of its segments for Praat, ELAN and Audacity.

use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;

use super::plane::{plane, to_plane};
use super::{ActiveModel, Message, Notifier, TabContext, View};
use crate::classify::Adaptation;
use crate::classify::label::{
    ADAPT_MIN_ROWS, CSV_HEADER, LabelRow, activation_word, adapt_groups, csv_line, label_file, predict_unadapted, valence_word,
};
use crate::classify::pipeline::Predictor;
use crate::egemaps::{self, Rate};
use crate::jobs::export::{ExportFormat, render};
use crate::jobs::label::label_files;
use crate::jobs::{CancelToken, Event};

/// One file in the table.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub path: PathBuf,
    pub name: String,
    pub result: Option<LabelRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    File,
    Duration,
    Activation,
    Valence,
    Error,
}

struct Job {
    rx: Receiver<(usize, LabelRow)>,
    cancel: CancelToken,
    total: usize,
    done: usize,
}

/// How the selected file is cut into segments for its timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Segments {
    /// Whole file up to [`Segments::AUTO_WHOLE_UP_TO_S`], 3 s segments beyond.
    Auto,
    Whole,
    Seconds(f64),
}

impl Segments {
    /// Files up to this long are one segment in `Auto`.
    pub const AUTO_WHOLE_UP_TO_S: f64 = 10.0;
    pub const CHOICES: [Segments; 6] =
        [Segments::Auto, Segments::Whole, Segments::Seconds(1.0), Segments::Seconds(2.0), Segments::Seconds(3.0), Segments::Seconds(5.0)];

    /// Segment length for a file of `duration_s` (None: the whole file).
    pub fn length_for(self, duration_s: f64) -> Option<f64> {
        match self {
            Segments::Auto => (duration_s > Self::AUTO_WHOLE_UP_TO_S).then_some(3.0),
            Segments::Whole => None,
            Segments::Seconds(s) => Some(s),
        }
    }

    fn label(self) -> String {
        match self {
            Segments::Auto => format!("auto (3 s beyond {:.0} s)", Self::AUTO_WHOLE_UP_TO_S),
            Segments::Whole => "whole file".into(),
            Segments::Seconds(s) => format!("{s:.0} s"),
        }
    }
}

/// The selected file: contours, and its segments' labels when it is cut into segments.
pub struct Detail {
    pub index: usize,
    pub f0: Vec<[f64; 2]>,
    pub loudness: Vec<[f64; 2]>,
    pub duration_s: f64,
    /// Segment length used (None: the whole file, one row).
    pub segment_s: Option<f64>,
    /// One row per segment (the file's own row when not segmented).
    pub segments: Vec<LabelRow>,
}

/// Width of the detail plots' y axes, so that their time axes line up.
const AXIS_W: f32 = 28.0;
/// Beyond this length, times read m:ss.
const LONG_FILE_S: f64 = 120.0;
const ACTIVATION_COLOR: egui::Color32 = egui::Color32::from_rgb(240, 140, 60);
const VALENCE_COLOR: egui::Color32 = egui::Color32::from_rgb(90, 200, 120);

impl Detail {
    fn is_long(&self) -> bool {
        self.duration_s > LONG_FILE_S
    }

    /// One of the detail's plots over the file's time axis: 0 to its duration, linked to the
    /// others in `group`, ticks in s or m:ss, y axes of one width so the time axes line up.
    fn time_plot(&self, id: &str, height: f32, y_label: &str, group: egui::Id) -> egui_plot::Plot<'static> {
        let long = self.is_long();
        egui_plot::Plot::new(id.to_string())
            .height(height)
            .y_axis_label(y_label.to_string())
            .y_axis_min_width(AXIS_W)
            .include_x(0.0)
            .include_x(self.duration_s)
            .link_axis(group, [true, false])
            .x_axis_formatter(move |m, _| time_tick(m.value, long))
            .allow_scroll(false)
    }
}

/// The playback cursor, where something plays.
fn cursor(p: &mut egui_plot::PlotUi<'_>, playing: Option<f64>) {
    if let Some(t) = playing {
        p.vline(egui_plot::VLine::new("", t).color(egui::Color32::WHITE));
    }
}

/// Writes `text` to `path` atomically and says how that went.
fn save_text(path: &std::path::Path, text: &str, notes: &mut Vec<Message>) {
    match crate::fsutil::write_atomic(path, |w| w.write_all(text.as_bytes())) {
        Ok(()) => notes.push(Message::Notice(format!("saved {}", path.display()))),
        Err(e) => notes.push(Message::Error(format!("{}: {e}", path.display()))),
    }
}

/// Axis ticks in seconds for short files, minutes:seconds for long ones.
pub fn time_tick(seconds: f64, long: bool) -> String {
    if long {
        let s = seconds.max(0.0).round() as u64;
        format!("{}:{:02}", s / 60, s % 60)
    } else if seconds.fract().abs() < 1e-9 {
        format!("{seconds:.0}")
    } else {
        format!("{seconds:.1}")
    }
}

pub struct FilesTab {
    pub rows: Vec<FileRow>,
    job: Option<Job>,
    pub sort: (SortBy, bool),
    pub selected: Option<usize>,
    pub detail: Option<Detail>,
    detail_rx: Option<Receiver<Result<Detail, egemaps::FileError>>>,
    /// A typed path: the way in where no file dialog is available (no desktop portal).
    pub path_input: String,
    /// Batch adaptation: the features standardised by this table's own statistics.
    pub adapt: bool,
    /// Adaptation per folder (recordings sorted one folder per speaker), not per table.
    pub adapt_per_folder: bool,
    /// How the selected file's timeline is segmented.
    pub segments: Segments,
    /// Playback of the selected file (or of one of its segments), and the file's row index.
    pub player: Option<(usize, crate::audio::Player)>,
}

impl Default for FilesTab {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            job: None,
            sort: (SortBy::File, true),
            selected: None,
            detail: None,
            detail_rx: None,
            path_input: String::new(),
            adapt: false,
            adapt_per_folder: false,
            segments: Segments::Auto,
            player: None,
        }
    }
}

impl FilesTab {
    pub fn is_running(&self) -> bool {
        self.job.is_some() || self.detail_rx.is_some()
    }

    /// Progress of the running batch (done, total).
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.job.as_ref().map(|j| (j.done, j.total))
    }

    /// Adds files, and every audio file under folders, skipping ones already listed.
    pub fn add_paths(&mut self, paths: &[PathBuf], notes: &mut Vec<Message>) -> usize {
        let mut added = 0;
        for p in paths {
            let found = match crate::audio::find_audio_files(p) {
                Ok(f) => f,
                Err(e) => {
                    notes.push(Message::Error(format!("{}: {e}", p.display())));
                    continue;
                }
            };
            if found.is_empty() {
                notes.push(Message::Error(format!("{}: no audio files", p.display())));
            }
            let base = if p.is_dir() { p.clone() } else { p.parent().map(|x| x.to_path_buf()).unwrap_or_default() };
            for f in found {
                if self.rows.iter().any(|r| r.path == f) {
                    continue;
                }
                let rel = f.strip_prefix(&base).unwrap_or(&f).display().to_string();
                self.rows.push(FileRow { name: rel, path: f, result: None });
                added += 1;
            }
        }
        added
    }

    /// Starts labelling every row without a result.
    pub fn start(&mut self, model: &ActiveModel, egui: &egui::Context) {
        if self.job.is_some() {
            return;
        }
        let todo: Vec<(usize, PathBuf)> =
            self.rows.iter().enumerate().filter(|(_, r)| r.result.is_none()).map(|(i, r)| (i, r.path.clone())).collect();
        if todo.is_empty() {
            return;
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        let tx = Notifier::new(tx, egui);
        let cancel = CancelToken::new();
        let c = cancel.clone();
        let predictor = model.predictor.clone();
        let total = todo.len();
        std::thread::spawn(move || {
            let (rows, paths): (Vec<usize>, Vec<PathBuf>) = todo.into_iter().unzip();
            let sink = |e: Event| {
                if let Event::Labelled { index, rows: labelled } = e
                    && let Some(row) = labelled.into_iter().next()
                {
                    tx.send((rows[index], row));
                }
            };
            // Errors of single files arrive as rows; a cancel simply ends the batch.
            let _ = label_files(&paths, &predictor, None, None, &sink, &c);
        });
        self.job = Some(Job { rx, cancel, total, done: 0 });
    }

    pub fn cancel(&mut self) {
        if let Some(j) = self.job.take() {
            j.cancel.cancel();
        }
    }

    /// Re-predicts every labelled row from its functionals, batch-adapted when `adapt` is on
    /// and the table (or, per folder, each folder) has enough rows; otherwise unadapted, and
    /// says so.
    pub fn apply_adaptation(&mut self, model: &ActiveModel, notes: &mut Vec<Message>) {
        let predictor = &model.predictor;
        let per_folder = self.adapt_per_folder;
        let labelled = self.rows.iter_mut().filter_map(|r| {
            // The rows adapted together: the whole table, or each folder's.
            let key = if per_folder { r.path.parent().map(Path::to_path_buf) } else { None };
            r.result.as_mut().map(|l| (key, l))
        });
        if !self.adapt {
            predict_unadapted(labelled.map(|(_, r)| r), predictor);
            return;
        }
        let short = adapt_groups(labelled, predictor, Adaptation::default()).too_small.len();
        if short > 0 {
            notes.push(Message::Notice(if per_folder {
                format!("adaptation needs at least {ADAPT_MIN_ROWS} labelled files per folder: {short} folder(s) are unadapted")
            } else {
                format!("batch adaptation needs at least {ADAPT_MIN_ROWS} labelled files: labels are unadapted")
            }));
        }
    }

    pub fn poll(&mut self, notes: &mut Vec<Message>) -> bool {
        if self.player.as_ref().is_some_and(|(_, p)| p.is_finished()) {
            self.player = None;
        }
        let mut finished = false;
        if let Some(j) = &mut self.job {
            for (i, row) in j.rx.try_iter() {
                if let Some(e) = row.error.as_ref().filter(|_| !row.no_speech) {
                    notes.push(Message::Error(e.clone()));
                }
                if let Some(r) = self.rows.get_mut(i) {
                    r.result = Some(row);
                }
                j.done += 1;
            }
            if j.done >= j.total {
                self.job = None;
                finished = true;
            }
        }
        if let Some(rx) = &self.detail_rx
            && let Ok(r) = rx.try_recv()
        {
            self.detail_rx = None;
            match r {
                Ok(d) => self.detail = Some(d),
                Err(e) => notes.push(Message::Error(e.to_string())),
            }
        }
        finished
    }

    /// Selects a file and analyses it in the background: contours and, when it is long enough
    /// (see [`Segments`]), its segments' labels with `predictor`.
    pub fn select(&mut self, index: usize, predictor: Option<std::sync::Arc<Predictor>>, egui: &egui::Context) {
        if self.player.as_ref().is_some_and(|(i, _)| *i != index) {
            self.player = None;
        }
        self.selected = Some(index);
        self.detail = None;
        let Some(row) = self.rows.get(index) else { return };
        let path = row.path.clone();
        let own = row.result.clone();
        let segments = self.segments;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let tx = Notifier::new(tx, egui);
        std::thread::spawn(move || {
            // One recording, looked at now: its frames get every core.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let r = egemaps::extract_file(&path, Rate::Canonical, true, threads).map(|an| {
                let lld = an.lld.unwrap_or(egemaps::LldTable { rows: Vec::new(), duration_s: 0.0 });
                let t = |i: usize| lld.row_time(i).0;
                let f0 = lld.column("F0semitoneFrom27.5Hz_sma3nz").unwrap_or_default();
                let loud = lld.column("Loudness_sma3").unwrap_or_default();
                let segment_s = segments.length_for(an.duration_s);
                let rows = match (segment_s, &predictor) {
                    (Some(s), Some(p)) => label_file(&path, p, Some(s), threads),
                    _ => own.into_iter().map(|r| LabelRow { window: Some((0.0, an.duration_s)), ..r }).collect(),
                };
                Detail {
                    index,
                    // Unvoiced frames (0) are left out so the pitch line shows voiced stretches.
                    f0: f0.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(i, v)| [t(i), *v]).collect(),
                    loudness: loud.iter().enumerate().map(|(i, v)| [t(i), *v]).collect(),
                    duration_s: an.duration_s,
                    segment_s: if predictor.is_some() { segment_s } else { None },
                    segments: rows,
                }
            });
            tx.send(r);
        });
        self.detail_rx = Some(rx);
    }

    /// Plays the selected file from `from_s` to `to_s` (the whole file: 0 to its duration), or
    /// stops what is playing.
    pub fn toggle_playback(&mut self, range: Option<(f64, f64)>, notes: &mut Vec<Message>) {
        if self.player.take().is_some() && range.is_none() {
            return;
        }
        let Some(i) = self.selected else { return };
        let Some(row) = self.rows.get(i) else { return };
        let (a, b) = range.unwrap_or((0.0, f64::INFINITY));
        match crate::audio::Player::play(&row.path, a, b) {
            Ok(p) => self.player = Some((i, p)),
            Err(e) => notes.push(Message::Error(format!("cannot play {}: {e}", row.name))),
        }
    }

    /// Playback position in the selected file, while it plays.
    pub fn playback_position(&self) -> Option<f64> {
        self.player.as_ref().filter(|(i, p)| Some(*i) == self.selected && !p.is_finished()).map(|(_, p)| p.position_s())
    }

    /// The selected file's segments in an annotation format (None without a detail).
    pub fn export_selected(&self, format: ExportFormat) -> Option<String> {
        let d = self.detail.as_ref().filter(|d| Some(d.index) == self.selected)?;
        let row = self.rows.get(d.index)?;
        render(format, &d.segments, &row.path)
    }

    pub fn csv(&self) -> String {
        let mut s = format!("{CSV_HEADER}\n");
        for r in &self.rows {
            if let Some(res) = &r.result {
                s += &csv_line(&r.name, res, false);
                s.push('\n');
            }
        }
        s
    }

    fn sorted_indices(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.rows.len()).collect();
        let key = |i: &usize| -> (Option<f64>, String) {
            let r = &self.rows[*i];
            let res = r.result.as_ref();
            match self.sort.0 {
                SortBy::File => (None, r.name.clone()),
                SortBy::Duration => (res.map(|x| x.duration_s), String::new()),
                SortBy::Activation => (res.and_then(|x| x.prediction.map(|p| p.activation_score)), String::new()),
                SortBy::Valence => (res.and_then(|x| x.prediction.map(|p| p.valence_score)), String::new()),
                SortBy::Error => (None, res.and_then(|x| x.error.clone()).unwrap_or_default()),
            }
        };
        idx.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            let o = match (ka.0, kb.0) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => ka.1.cmp(&kb.1),
            };
            if self.sort.1 { o } else { o.reverse() }
        });
        idx
    }

    fn draw(&mut self, ui: &mut egui::Ui, cx: &mut TabContext<'_>) {
        let (model, dialogs, notes) = (cx.model, cx.services.dialogs.as_ref(), &mut *cx.messages);
        // Drag and drop.
        let dropped: Vec<PathBuf> = ui.ctx().input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        let mut added = 0;
        if !dropped.is_empty() {
            added += self.add_paths(&dropped, notes);
        }
        ui.horizontal_wrapped(|ui| {
            if ui.button("Add files…").clicked()
                && let Some(f) = dialogs.pick_audio_files()
            {
                added += self.add_paths(&f, notes);
            }
            if ui.button("Add folder…").clicked()
                && let Some(d) = dialogs.pick_folder("Folder of recordings")
            {
                cx.settings.last_audio_folder = Some(d.clone());
                added += self.add_paths(&[d], notes);
            }
            let typed =
                ui.add(egui::TextEdit::singleline(&mut self.path_input).hint_text("or type a file or folder path").desired_width(240.0));
            let entered = typed.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let has_text = !self.path_input.trim().is_empty();
            if (entered || ui.add_enabled(has_text, egui::Button::new("Add")).clicked()) && has_text {
                // add_paths reports a missing or empty path itself; keep the text to correct it.
                let n = self.add_paths(&[PathBuf::from(self.path_input.trim())], notes);
                if n > 0 {
                    self.path_input.clear();
                }
                added += n;
            }
            let has_results = self.rows.iter().any(|r| r.result.is_some());
            if ui.add_enabled(has_results, egui::Button::new("Export CSV…")).clicked()
                && let Some(p) = dialogs.save_csv("labels.csv")
            {
                save_text(&p, &self.csv(), notes);
            }
            let adapt = ui
                .add_enabled(self.job.is_none(), egui::Checkbox::new(&mut self.adapt, "adapt to this batch"))
                .on_hover_text(format!(
                    "Standardise the features, and the model's code, by this table's own statistics (needs at least {ADAPT_MIN_ROWS} files; assumes they are not all one emotion)"
                ));
            let per_folder = ui
                .add_enabled(self.job.is_none() && self.adapt, egui::Checkbox::new(&mut self.adapt_per_folder, "per folder"))
                .on_hover_text("Adapt each folder's files by their own statistics: for recordings sorted into one folder per speaker");
            if (adapt.changed() || per_folder.changed())
                && let Some(m) = model
            {
                self.apply_adaptation(m, notes);
            }
            if ui.add_enabled(!self.rows.is_empty() && self.job.is_none(), egui::Button::new("Clear")).clicked() {
                self.rows.clear();
                self.selected = None;
                self.detail = None;
            }
            if let Some((done, total)) = self.progress() {
                ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32).desired_width(200.0).text(format!("{done}/{total}")));
                if ui.button("Cancel").clicked() {
                    self.cancel();
                }
            } else if self.rows.is_empty() {
                ui.label(egui::RichText::new("Drop audio files or folders here").weak());
            }
        });
        if added > 0 {
            match model {
                Some(m) => self.start(m, cx.egui),
                None => notes.push(Message::Error("no model loaded: pick one at the top".into())),
            }
        }
        ui.separator();
        let detail_w = 320.0;
        ui.horizontal_top(|ui| {
            let table_w = (ui.available_width() - detail_w - 10.0).max(300.0);
            ui.vertical(|ui| {
                ui.set_width(table_w);
                self.table(ui, model.map(|m| m.predictor.clone()), cx.egui);
            });
            ui.vertical(|ui| self.detail_ui(ui, detail_w, cx));
        });
    }

    fn table(&mut self, ui: &mut egui::Ui, predictor: Option<std::sync::Arc<Predictor>>, egui: &egui::Context) {
        let order = self.sorted_indices();
        let mut clicked_row = None;
        let mut sort_click = None;
        egui::ScrollArea::both().auto_shrink([false, false]).show(ui, |ui| {
            egui::Grid::new("files-table").striped(true).num_columns(6).min_col_width(60.0).show(ui, |ui| {
                for (col, label) in [
                    (SortBy::File, "file"),
                    (SortBy::Duration, "duration"),
                    (SortBy::Activation, "activation"),
                    (SortBy::Valence, "valence"),
                    (SortBy::Error, "error"),
                ] {
                    let arrow = if self.sort.0 == col { if self.sort.1 { " ▲" } else { " ▼" } } else { "" };
                    if ui.button(egui::RichText::new(format!("{label}{arrow}")).strong()).clicked() {
                        sort_click = Some(col);
                    }
                }
                ui.end_row();
                for i in order {
                    let r = &self.rows[i];
                    let sel = self.selected == Some(i);
                    if ui.selectable_label(sel, &r.name).clicked() {
                        clicked_row = Some(i);
                    }
                    match &r.result {
                        None => {
                            ui.label("…");
                            ui.label("");
                            ui.label("");
                            ui.label("");
                        }
                        Some(res) => {
                            ui.label(format!("{:.2} s", res.duration_s));
                            match &res.prediction {
                                Some(p) => {
                                    ui.label(format!("{} {:.0} %", activation_word(p.activation_high), 100.0 * p.activation_score));
                                    ui.label(format!("{} {:.0} %", valence_word(p.valence_positive), 100.0 * p.valence_score));
                                }
                                None => {
                                    ui.label("—");
                                    ui.label("—");
                                }
                            }
                            ui.label(egui::RichText::new(res.error.clone().unwrap_or_default()).color(ui.visuals().error_fg_color));
                        }
                    }
                    ui.end_row();
                }
            });
        });
        if let Some(c) = sort_click {
            self.sort = if self.sort.0 == c { (c, !self.sort.1) } else { (c, true) };
        }
        if let Some(i) = clicked_row {
            self.select(i, predictor, egui);
        }
    }

    fn detail_ui(&mut self, ui: &mut egui::Ui, width: f32, cx: &mut TabContext<'_>) {
        ui.set_width(width);
        let Some(i) = self.selected else {
            ui.label(egui::RichText::new("Select a file to see its contours").weak());
            return;
        };
        let Some(row) = self.rows.get(i) else { return };
        ui.strong(&row.name);
        let mut reselect = false;
        ui.horizontal(|ui| {
            ui.label("segments");
            egui::ComboBox::from_id_salt("files-segments").selected_text(self.segments.label()).show_ui(ui, |ui| {
                for c in Segments::CHOICES {
                    reselect |= ui.selectable_value(&mut self.segments, c, c.label()).changed();
                }
            });
        });
        let playing = self.playback_position();
        let mut play: Option<Option<(f64, f64)>> = None;
        ui.horizontal(|ui| {
            let label = if self.player.is_some() { "■ Stop" } else { "▶ Play" };
            if ui.button(label).on_hover_text("Space plays and stops; click the timeline to play one segment").clicked() {
                play = Some(None);
            }
            if let Some(t) = playing {
                let long = self.detail.as_ref().is_some_and(Detail::is_long);
                ui.label(egui::RichText::new(time_tick(t, long)).monospace());
                ui.ctx().request_repaint_after(std::time::Duration::from_millis(30));
            }
        });
        if ui.ctx().input(|inp| inp.key_pressed(egui::Key::Space)) && !ui.ctx().egui_wants_keyboard_input() {
            play = Some(None);
        }
        let detail = self.detail.as_ref().filter(|d| d.index == i);
        // The trail: every labelled segment's point, in order; the whole file's when not segmented.
        let trail: Vec<egui::Vec2> = match detail {
            Some(d) => d.segments.iter().filter_map(|r| r.prediction).map(|p| to_plane(p.valence_score, p.activation_score)).collect(),
            None => {
                row.result.as_ref().and_then(|r| r.prediction).map(|p| to_plane(p.valence_score, p.activation_score)).into_iter().collect()
            }
        };
        plane(ui, width.min(240.0), &trail, true);
        match detail {
            Some(d) => {
                let group = egui::Id::unique("file-detail-time");
                if d.segment_s.is_some() {
                    let step = |f: &dyn Fn(&crate::classify::pipeline::Prediction) -> f64| -> Vec<[f64; 2]> {
                        d.segments
                            .iter()
                            .filter_map(|r| Some((r.window?, r.prediction.as_ref().map(f)?)))
                            .map(|((a, b), v)| [(a + b) / 2.0, v])
                            .collect()
                    };
                    ui.horizontal(|ui| {
                        ui.label(egui::RichText::new("● activation").color(ACTIVATION_COLOR));
                        ui.label(egui::RichText::new("● valence").color(VALENCE_COLOR));
                        ui.label(egui::RichText::new("▮ no speech").weak());
                        ui.label(egui::RichText::new(format!("{:.0} s segments", d.segment_s.unwrap_or(0.0))).weak());
                    });
                    let act = step(&|p| p.activation_score);
                    let val = step(&|p| p.valence_score);
                    let timeline =
                        d.time_plot("detail-timeline", 100.0, "score", group).include_y(0.0).include_y(1.0).allow_drag(false).show(
                            ui,
                            |p| {
                                cursor(p, playing);
                                for r in d.segments.iter().filter(|r| r.no_speech) {
                                    if let Some((a, b)) = r.window {
                                        p.span(egui_plot::Span::new("", a..=b).fill(egui::Color32::from_gray(60).gamma_multiply(0.5)));
                                    }
                                }
                                // One point per segment, at its middle, joined in time order.
                                for (name, pts, color) in [("activation", act, ACTIVATION_COLOR), ("valence", val, VALENCE_COLOR)] {
                                    p.line(egui_plot::Line::new(name, egui_plot::PlotPoints::from(pts.clone())).color(color));
                                    p.points(egui_plot::Points::new(name, egui_plot::PlotPoints::from(pts)).radius(2.5).color(color));
                                }
                                p.hline(egui_plot::HLine::new("", 0.5).color(egui::Color32::from_gray(90)));
                                p.pointer_coordinate()
                            },
                        );
                    // A click on the timeline plays the segment under it.
                    if timeline.response.clicked()
                        && let Some(pt) = timeline.inner
                        && let Some((a, b)) = d.segments.iter().filter_map(|r| r.window).find(|(a, b)| (*a..*b).contains(&pt.x))
                    {
                        play = Some(Some((a, b)));
                    }
                }
                let f0 = egui_plot::PlotPoints::from(d.f0.clone());
                d.time_plot("detail-f0", 90.0, "F0 (st)", group).show(ui, |p| {
                    cursor(p, playing);
                    p.points(egui_plot::Points::new("F0", f0).radius(1.5).color(egui::Color32::from_rgb(230, 90, 60)));
                });
                let l = egui_plot::PlotPoints::from(d.loudness.clone());
                d.time_plot("detail-loudness", 90.0, "loudness", group).x_axis_label(if d.is_long() { "min:s" } else { "s" }).show(
                    ui,
                    |p| {
                        cursor(p, playing);
                        p.line(egui_plot::Line::new("loudness", l).color(egui::Color32::from_rgb(70, 150, 240)));
                    },
                );
                let dialogs = cx.services.dialogs.as_ref();
                ui.horizontal(|ui| {
                    ui.label("export");
                    for (format, title) in
                        [(ExportFormat::Textgrid, "TextGrid…"), (ExportFormat::Eaf, "ELAN…"), (ExportFormat::Audacity, "Audacity…")]
                    {
                        if ui.button(title).clicked() {
                            let stem = row.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "labels".into());
                            let suggested = format!("{stem}.{}", format.extension());
                            if let (Some(p), Some(text)) =
                                (dialogs.save_export(&suggested, format.extension()), self.export_selected(format))
                            {
                                save_text(&p, &text, cx.messages);
                            }
                        }
                    }
                });
            }
            _ => {
                ui.spinner();
            }
        }
        if let Some(range) = play {
            self.toggle_playback(range, cx.messages);
        }
        if reselect {
            self.select(i, cx.model.map(|m| m.predictor.clone()), cx.egui);
        }
    }
}

impl View for FilesTab {
    fn poll(&mut self, cx: &mut TabContext<'_>) {
        if FilesTab::poll(self, cx.messages)
            && self.adapt
            && let Some(m) = cx.model
        {
            self.apply_adaptation(m, cx.messages);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut TabContext<'_>) {
        self.draw(ui, cx);
    }

    fn is_running(&self) -> bool {
        FilesTab::is_running(self)
    }
}
