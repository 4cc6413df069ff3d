//! Files tab: label files and folders in the background, a sortable table that fills in as
//! the batch runs (cancellable), CSV export, and per-file contours and point on the plane.

use std::path::PathBuf;

use crossbeam_channel::Receiver;

use super::plane::{plane, to_plane};
use super::{ActiveModel, Message, Notifier, TabContext, View};
use crate::classify::label::{ADAPT_MIN_ROWS, CSV_HEADER, LabelRow, activation_word, adapt_rows, csv_line, valence_word};
use crate::egemaps::{self, Rate};
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

/// Pitch and loudness contours of the selected file.
pub struct Detail {
    pub index: usize,
    pub f0: Vec<[f64; 2]>,
    pub loudness: Vec<[f64; 2]>,
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
    /// and the table has enough rows (otherwise unadapted, and says so).
    pub fn apply_adaptation(&mut self, model: &ActiveModel, notes: &mut Vec<Message>) {
        let predictor = &model.predictor;
        let mut rows: Vec<&mut LabelRow> = self.rows.iter_mut().filter_map(|r| r.result.as_mut()).collect();
        let adapted = self.adapt && adapt_rows(&mut rows, predictor);
        if !adapted {
            for r in rows {
                if let Some(f) = &r.functionals {
                    r.prediction = predictor.predict(&[f.to_vec()]).first().copied();
                }
            }
        }
        if self.adapt && !adapted {
            notes.push(Message::Notice(format!("batch adaptation needs at least {ADAPT_MIN_ROWS} labelled files: labels are unadapted")));
        }
    }

    pub fn poll(&mut self, notes: &mut Vec<Message>) -> bool {
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

    fn select(&mut self, index: usize, egui: &egui::Context) {
        self.selected = Some(index);
        self.detail = None;
        let Some(row) = self.rows.get(index) else { return };
        let path = row.path.clone();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let tx = Notifier::new(tx, egui);
        std::thread::spawn(move || {
            let r = egemaps::extract_file(&path, Rate::Canonical, true).map(|an| {
                let lld = an.lld.unwrap_or(egemaps::LldTable { rows: Vec::new(), duration_s: 0.0 });
                let t = |i: usize| lld.row_time(i).0;
                let f0 = lld.column("F0semitoneFrom27.5Hz_sma3nz").unwrap_or_default();
                let loud = lld.column("Loudness_sma3").unwrap_or_default();
                Detail {
                    index,
                    // Unvoiced frames (0) are left out so the pitch line shows voiced stretches.
                    f0: f0.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(i, v)| [t(i), *v]).collect(),
                    loudness: loud.iter().enumerate().map(|(i, v)| [t(i), *v]).collect(),
                }
            });
            tx.send(r);
        });
        self.detail_rx = Some(rx);
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
                let text = self.csv();
                match crate::fsutil::write_atomic(&p, |w| w.write_all(text.as_bytes())) {
                    Ok(()) => notes.push(Message::Notice(format!("saved {}", p.display()))),
                    Err(e) => notes.push(Message::Error(format!("{}: {e}", p.display()))),
                }
            }
            let adapt = ui
                .add_enabled(self.job.is_none(), egui::Checkbox::new(&mut self.adapt, "adapt to this batch"))
                .on_hover_text(format!(
                    "Standardise the features by this table's own statistics (needs at least {ADAPT_MIN_ROWS} files; assumes they are not all one emotion)"
                ));
            if adapt.changed()
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
                self.table(ui, cx.egui);
            });
            ui.vertical(|ui| self.detail_ui(ui, detail_w));
        });
    }

    fn table(&mut self, ui: &mut egui::Ui, egui: &egui::Context) {
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
            self.select(i, egui);
        }
    }

    fn detail_ui(&mut self, ui: &mut egui::Ui, width: f32) {
        ui.set_width(width);
        let Some(i) = self.selected else {
            ui.label(egui::RichText::new("Select a file to see its contours").weak());
            return;
        };
        let Some(row) = self.rows.get(i) else { return };
        ui.strong(&row.name);
        let point = row.result.as_ref().and_then(|r| r.prediction).map(|p| to_plane(p.valence_score, p.activation_score));
        plane(ui, width.min(260.0), &point.into_iter().collect::<Vec<_>>(), true);
        match &self.detail {
            Some(d) if d.index == i => {
                let f0 = egui_plot::PlotPoints::from(d.f0.clone());
                egui_plot::Plot::new("detail-f0").height(110.0).y_axis_label("F0 (st)").allow_scroll(false).show(ui, |p| {
                    p.points(egui_plot::Points::new("F0", f0).radius(1.5).color(egui::Color32::from_rgb(230, 90, 60)));
                });
                let l = egui_plot::PlotPoints::from(d.loudness.clone());
                egui_plot::Plot::new("detail-loudness").height(110.0).y_axis_label("loudness").x_axis_label("s").allow_scroll(false).show(
                    ui,
                    |p| {
                        p.line(egui_plot::Line::new("loudness", l).color(egui::Color32::from_rgb(70, 150, 240)));
                    },
                );
            }
            _ => {
                ui.spinner();
            }
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
