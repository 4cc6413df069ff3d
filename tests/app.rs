//! The real app driven headless with egui_kittest: dialogs answer with paths the test chooses,
//! workers run for real, and each tab is rendered (wgpu; Mesa's lavapipe on CI) and compared
//! with the committed snapshot in tests/snapshots/.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use valar::app::{Dialogs, Services, Settings, Tab, ValarApp};

mod common;

use common::Part;
use common::tiny_manifest;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Dialog answers chosen by the test.
#[derive(Default)]
struct Answers {
    files: Mutex<Option<Vec<PathBuf>>>,
    folder: Mutex<Option<PathBuf>>,
    csv: Mutex<Option<PathBuf>>,
    save: Mutex<Option<PathBuf>>,
}

impl Dialogs for Answers {
    fn pick_audio_files(&self) -> Option<Vec<PathBuf>> {
        self.files.lock().unwrap().clone()
    }
    fn pick_folder(&self, _: &str) -> Option<PathBuf> {
        self.folder.lock().unwrap().clone()
    }
    fn pick_csv(&self, _: &str) -> Option<PathBuf> {
        self.csv.lock().unwrap().clone()
    }
    fn save_csv(&self, _: &str) -> Option<PathBuf> {
        self.save.lock().unwrap().clone()
    }
}

fn app(tab: Tab, answers: Answers, tmp: &Path) -> Harness<'static, ValarApp> {
    let services = Services {
        dialogs: Box::new(answers),
        bundled_models: root().join("models"),
        user_models: tmp.join("models"),
        cache_dir: tmp.join("cache"),
    };
    let settings = Settings { tab, ..Settings::default() };
    Harness::builder().with_size([1100.0, 760.0]).build_eframe(move |cc| ValarApp::new(&cc.egui_ctx, settings, services))
}

/// Steps the app (with real time passing for its workers) until `done` or the timeout.
fn run_until(h: &mut Harness<'_, ValarApp>, secs: u64, what: &str, done: impl Fn(&ValarApp) -> bool) {
    let t0 = Instant::now();
    while !done(h.state()) {
        assert!(t0.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}; messages: {:?}", h.state().messages);
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(3);
}

fn snapshot(h: &mut Harness<'_, ValarApp>, name: &str) {
    // Tolerate small rasterisation differences between GPU drivers.
    h.snapshot_options(name, &SnapshotOptions::new().threshold(2.0).max_failed_pixels(2000));
}

#[test]
fn files_tab_labels_a_folder_given_by_path() {
    let tmp = tempfile::tempdir().unwrap();
    let answers = Answers::default();
    *answers.folder.lock().unwrap() = Some(root().join("assets"));
    *answers.save.lock().unwrap() = Some(tmp.path().join("export.csv"));
    let mut h = app(Tab::Files, answers, tmp.path());
    h.run_steps(2);
    h.get_by_label("Add folder…").click();
    run_until(&mut h, 120, "labels", |a| {
        a.files.rows.len() == 2 && a.files.rows.iter().all(|r| r.result.is_some()) && a.files.progress().is_none()
    });
    let names: Vec<String> = h.state().files.rows.iter().map(|r| r.name.clone()).collect();
    assert_eq!(names, vec!["demo-calm.wav", "demo-excited.wav"]);
    for r in &h.state().files.rows {
        let p = r.result.as_ref().unwrap().prediction.expect("a prediction");
        assert!((0.0..=1.0).contains(&p.activation_score));
    }
    h.get_by_label("demo-excited.wav").click();
    run_until(&mut h, 60, "contours", |a| a.files.detail.as_ref().is_some_and(|d| !d.f0.is_empty() && !d.loudness.is_empty()));
    h.get_by_label("Export CSV…").click();
    h.run_steps(2);
    let csv = std::fs::read_to_string(tmp.path().join("export.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // The message names a temporary path, which differs per run.
    h.state_mut().messages.clear();
    h.run_steps(2);
    snapshot(&mut h, "files");
}

/// A long recording's detail: its activation and valence over 3-second segments (auto for files
/// over 10 s), the silent stretch marked, and the TextGrid export of those segments.
#[test]
fn files_tab_shows_a_long_files_timeline_and_exports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("long");
    std::fs::create_dir(&folder).unwrap();
    let seconds = common::long_recording(&folder.join("interview.wav"), &[Part::Excited, Part::Silence(3.0), Part::Calm, Part::Excited]);
    let answers = Answers::default();
    *answers.save.lock().unwrap() = Some(tmp.path().join("interview.TextGrid"));
    let mut h = app(Tab::Files, answers, tmp.path());
    h.run_steps(2);
    h.state_mut().files.path_input = folder.display().to_string();
    h.get_by_label("Add").click();
    run_until(&mut h, 120, "the file's label", |a| a.files.rows.len() == 1 && a.files.progress().is_none());
    assert!(h.state().files.rows[0].result.as_ref().is_some_and(|r| r.prediction.is_some()), "one row with the overall result");
    h.get_by_label("interview.wav").click();
    run_until(&mut h, 120, "the timeline", |a| a.files.detail.as_ref().is_some_and(|d| !d.segments.is_empty()));
    let d = h.state().files.detail.as_ref().unwrap();
    assert_eq!(d.segment_s, Some(3.0));
    assert_eq!(d.segments.len(), (seconds / 3.0).ceil() as usize);
    assert!(d.segments.iter().any(|r| r.no_speech), "the 3 s of silence has no labels");
    assert!(d.segments.iter().filter(|r| r.prediction.is_some()).count() >= 4);
    h.get_by_label("TextGrid…").click();
    h.run_steps(2);
    let tg = std::fs::read_to_string(tmp.path().join("interview.TextGrid")).unwrap();
    assert_eq!(tg.matches(&format!("intervals: size = {}", d_len(&h))).count(), 2, "{tg}");
    h.state_mut().messages.clear();
    h.run_steps(3);
    snapshot(&mut h, "files-long");
    // Playback through the default output (PulseAudio's null sink under scripts/test.sh): the
    // cursor moves, and Space stops it.
    assert!(std::env::var_os("PULSE_SERVER").is_some(), "PulseAudio is not running: run the suite with scripts/test.sh");
    h.get_by_label("▶ Play").click();
    h.run_steps(2);
    assert!(h.state().files.player.is_some(), "{:?}", h.state().messages.iter().map(|m| m.text().to_string()).collect::<Vec<_>>());
    let t0 = h.state().files.playback_position().unwrap_or(0.0);
    run_until(&mut h, 20, "the cursor to move", |a| a.files.playback_position().is_some_and(|t| t > t0 + 0.2));
    h.key_press(egui::Key::Space);
    h.run_steps(2);
    assert!(h.state().files.player.is_none(), "Space stops playback");
    // Playing one segment stops at its end.
    h.state_mut().files.toggle_playback(Some((3.0, 3.5)), &mut Vec::new());
    let (a, b) = h.state().files.player.as_ref().map(|(_, p)| p.range_s()).unwrap();
    assert!((a - 3.0).abs() < 1e-3 && (b - 3.5).abs() < 1e-3);
    run_until(&mut h, 20, "the segment to end", |a| a.files.player.is_none());
}

fn d_len(h: &Harness<'_, ValarApp>) -> usize {
    h.state().files.detail.as_ref().map_or(0, |d| d.segments.len())
}

#[test]
fn files_tab_takes_a_typed_path_where_no_dialog_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(Tab::Files, Answers::default(), tmp.path());
    h.run_steps(2);
    h.state_mut().files.path_input = tmp.path().join("no-such-folder").display().to_string();
    h.get_by_label("Add").click();
    h.run_steps(2);
    assert!(h.state().files.rows.is_empty());
    assert!(h.state().messages.iter().any(|m| m.is_error() && m.text().contains("no-such-folder")), "{:?}", h.state().messages);
    h.state_mut().files.path_input = root().join("assets").display().to_string();
    h.get_by_label("Add").click();
    run_until(&mut h, 120, "labels", |a| a.files.rows.len() == 2 && a.files.progress().is_none());
    assert!(h.state().files.path_input.is_empty(), "the field clears once the path is taken");
    assert!(h.state().files.rows.iter().all(|r| r.result.as_ref().is_some_and(|x| x.prediction.is_some())));
}

#[test]
fn live_tab_moves_the_point_when_fed_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(Tab::Live, Answers::default(), tmp.path());
    h.run_steps(2);
    h.state_mut().live.set_file_source(root().join("assets/demo-excited.wav"));
    h.get_by_label("▶ Start").click();
    run_until(&mut h, 60, "two estimates", |a| a.live.trail.len() >= 2);
    let pts: Vec<egui::Vec2> = h.state().live.trail.iter().map(|t| t.1).collect();
    assert!(pts.windows(2).any(|w| (w[0] - w[1]).length() > 1e-4), "the point never moved: {pts:?}");
    assert!(h.state().live.latency_ms.is_some_and(|l| l > 0.0 && l < 5000.0), "latency {:?}", h.state().live.latency_ms);
    // The file ends; the session stops by itself and the display settles.
    run_until(&mut h, 60, "the end of the file", |a| !a.live.is_running());
    h.state_mut().live.latency_ms = None;
    h.state_mut().messages.clear();
    h.run_steps(2);
    snapshot(&mut h, "live");
}

#[test]
fn train_tab_trains_reports_and_activates_a_model() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let answers = Answers::default();
    *answers.csv.lock().unwrap() = Some(tiny_manifest(&corpus));
    let mut h = app(Tab::Train, answers, tmp.path());
    h.run_steps(2);
    h.get_by_label("Manifest CSV…").click();
    h.run_steps(1);
    {
        let t = &mut h.state_mut().train;
        t.epochs = 4;
        t.dims = 4;
        t.name = "tiny".into();
        t.device = valar::model::DeviceChoice::Cpu;
        t.input = valar::classify::InputFeatures::LevelFree;
    }
    h.get_by_label("Start training").click();
    run_until(&mut h, 300, "training", |a| !a.train.is_running() && (a.train.saved.is_some() || a.train.failed.is_some()));
    let st = h.state();
    assert!(st.train.failed.is_none(), "training failed: {:?}", st.train.failed);
    let saved = st.train.saved.clone().unwrap();
    assert_eq!(saved, tmp.path().join("models/tiny"));
    assert!(saved.join("model.json").is_file() && saved.join("encoder.bpk").is_file());
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(saved.join("model.json")).unwrap()).unwrap();
    assert_eq!(meta["input"], "level-free", "the tab's input choice reaches the model");
    assert_eq!(st.model.as_ref().map(|m| m.path.clone()), Some(saved), "the new model is active");
    assert!(st.train.losses.iter().any(|(s, _)| s == "autoencoder"), "loss curves were reported");
    let report = st.train.report.clone().expect("a leave-one-speaker-out report");
    assert_eq!(report.len(), 2);
    assert!(report.iter().all(|r| (0.0..=1.0).contains(&r.baseline_uar) && (0.0..=1.0).contains(&r.method_uar)));
    // Mask the file paths, which differ per run.
    h.state_mut().train.in_context = Some(PathBuf::from("corpus/manifest.csv"));
    h.state_mut().messages.clear();
    h.run_steps(2);
    snapshot(&mut h, "train");
}

/// eframe's storage in memory, as it holds what it read from `app.ron`.
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn damaged_settings_start_the_app_with_defaults_and_say_so() {
    use eframe::{App, Storage};
    use valar::app::restore_settings;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("app.ron");

    // Saved settings come back as they were.
    let saved = Settings { tab: Tab::Train, window_s: 5.0, ..Settings::default() };
    let mut good = MemoryStorage::default();
    eframe::set_value(&mut good, "valar-settings", &saved);
    std::fs::write(&file, "(settings)").unwrap();
    assert_eq!(restore_settings(Some(&good), Some(&file)), (saved, None));

    // A damaged entry (a crash while eframe wrote it, a hand edit): defaults, and a notice.
    let mut damaged = MemoryStorage::default();
    damaged.set_string("valar-settings", "(tab: Trian, window_s: \"five\"".into());
    let (settings, notice) = restore_settings(Some(&damaged), Some(&file));
    assert_eq!(settings, Settings::default());
    assert!(notice.as_deref().is_some_and(|n| n.contains("could not be read") && n.contains("app.ron")), "{notice:?}");

    // A file eframe could not parse at all leaves its storage empty: said as well, naming it.
    std::fs::write(&file, b"\x00\x9f garbage (((").unwrap();
    let (settings, notice) = restore_settings(Some(&MemoryStorage::default()), Some(&file));
    assert_eq!(settings, Settings::default());
    assert!(notice.as_deref().is_some_and(|n| n.contains(&file.display().to_string())), "{notice:?}");

    // A first start (no file): defaults, nothing to say.
    assert_eq!(restore_settings(None, Some(&tmp.path().join("none.ron"))), (Settings::default(), None));

    // The app itself starts on the defaults and shows the notice; its next save is readable.
    let services = Services {
        dialogs: Box::new(Answers::default()),
        bundled_models: root().join("models"),
        user_models: tmp.path().join("models"),
        cache_dir: tmp.path().join("cache"),
    };
    let mut h = Harness::builder()
        .with_size([1100.0, 760.0])
        .build_eframe(|cc| ValarApp::restored(&cc.egui_ctx, Some(&damaged), Some(&file), services));
    h.run_steps(3);
    // Defaults (the model line then names the bundled model it loaded).
    let started = &h.state().settings;
    assert_eq!(Settings { active_model: None, ..started.clone() }, Settings::default());
    h.get_by_label_contains("could not be read");
    let mut after = MemoryStorage::default();
    h.state_mut().save(&mut after);
    assert_eq!(restore_settings(Some(&after), Some(&file)).1, None);
}
