//! Crash safety: `valar label`, `valar extract` and `valar train` killed with SIGKILL at
//! seeded random moments leave each output either as it was before (the previous complete
//! file), absent, or complete — never partial; `label --resume` and `extract --resume`
//! afterwards give exactly what a clean run gives. An output folder that cannot be written
//! gives a clear error and leaves nothing behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn valar() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_valar"));
    c.env_remove("VALAR_MODEL").current_dir(root()).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// `n` recordings (the two demo clips, alternating).
fn folder(dir: &Path, n: usize) -> PathBuf {
    let d = dir.join("audio");
    std::fs::create_dir_all(&d).unwrap();
    for i in 0..n {
        let src = if i % 2 == 0 { "assets/demo-calm.wav" } else { "assets/demo-excited.wav" };
        std::fs::copy(root().join(src), d.join(format!("clip{i:03}.wav"))).unwrap();
    }
    d
}

/// Seeded kill moments spread over how long a run takes. The window starts at a timed run's
/// length, stretched by `stretch` so that some kills come after the end; other tests share
/// the machine, so a run may be faster later than when it was timed, and the window then
/// shrinks to the fastest finished run, so most kills still land mid-run.
struct Kills {
    state: u64,
    run_ms: f64,
    stretch: f64,
}

impl Kills {
    fn new(seed: u64, run_ms: f64, stretch: f64) -> Self {
        Self { state: seed | 1, run_ms, stretch }
    }

    /// Runs `cmd` and SIGKILLs it at the next moment unless it finished first: the moment in
    /// milliseconds, and whether it finished.
    fn run(&mut self, mut cmd: Command) -> (u64, bool) {
        let s = &mut self.state;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        let at = ((*s % 10_000) as f64 / 10_000.0 * (self.run_ms * self.stretch + 20.0)) as u64;
        let mut child = cmd.spawn().unwrap();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(at) {
            if child.try_wait().unwrap().is_some() {
                self.run_ms = self.run_ms.min(t0.elapsed().as_secs_f64() * 1000.0);
                return (at, true);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        (at, false)
    }
}

fn timed(mut cmd: Command) -> (f64, std::process::Output) {
    let t0 = Instant::now();
    let out = cmd.output().unwrap();
    (t0.elapsed().as_secs_f64() * 1000.0, out)
}

#[test]
fn killed_label_runs_leave_the_previous_file_or_a_complete_one_and_resume_matches_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let audio = folder(dir.path(), 24);
    let label = |out: &Path| {
        let mut c = valar();
        c.args(["label", "--jobs", "2", "-o"]).arg(out).arg(&audio);
        c
    };
    let clean = dir.path().join("clean.csv");
    let (ms, o) = timed(label(&clean));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let clean_text = std::fs::read_to_string(&clean).unwrap();
    // "Previous" output: a complete run over the first 8 recordings.
    let few = folder(&dir.path().join("few"), 8);
    let previous = dir.path().join("previous.csv");
    let o = valar().args(["label", "-o"]).arg(&previous).arg(&few).output().unwrap();
    assert!(o.status.success());
    let previous_text = std::fs::read_to_string(&previous).unwrap();
    let out = dir.path().join("out.csv");
    let mut killed = 0;
    let mut kills = Kills::new(7, ms, 1.2);
    for k in 0..8 {
        std::fs::write(&out, &previous_text).unwrap();
        let (at, finished) = kills.run(label(&out));
        killed += usize::from(!finished);
        let now = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(now == previous_text || now == clean_text, "kill {k} at {at} ms left a partial output:\n{now}");
        // Resume completes it to exactly the clean run's output.
        let o = valar().args(["label", "--jobs", "2", "--resume", "-o"]).arg(&out).arg(&audio).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), clean_text, "resume after kill {k} at {at} ms");
    }
    assert!(killed >= 3, "most kills landed mid-run ({killed} of 8)");
}

#[test]
fn killed_extract_runs_leave_the_previous_csvs_or_complete_ones_and_resume_matches_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let audio = folder(dir.path(), 24);
    let extract = |input: &Path, out: &Path, lld: &Path, resume: bool| {
        let mut c = valar();
        c.args(["extract", "--jobs", "2", "-o"]).arg(out).arg(input).arg("--lld").arg(lld);
        if resume {
            c.arg("--resume");
        }
        c
    };
    let (clean, clean_lld) = (dir.path().join("clean.csv"), dir.path().join("clean-lld.csv"));
    let (ms, o) = timed(extract(&audio, &clean, &clean_lld, false));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let clean = [std::fs::read_to_string(&clean).unwrap(), std::fs::read_to_string(&clean_lld).unwrap()];
    // "Previous" outputs: a complete run over the first 8 recordings.
    let few = folder(&dir.path().join("few"), 8);
    let (prev, prev_lld) = (dir.path().join("previous.csv"), dir.path().join("previous-lld.csv"));
    assert!(extract(&few, &prev, &prev_lld, false).output().unwrap().status.success());
    let previous = [std::fs::read_to_string(&prev).unwrap(), std::fs::read_to_string(&prev_lld).unwrap()];
    let (out, lld) = (dir.path().join("out.csv"), dir.path().join("lld.csv"));
    // A kill between the two renames: the functionals complete, the LLDs the previous run's.
    // Resume extracts the 16 files the LLDs lack and must not add them to the functionals twice.
    std::fs::write(&out, &clean[0]).unwrap();
    std::fs::write(&lld, &previous[1]).unwrap();
    assert!(extract(&audio, &out, &lld, true).output().unwrap().status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), clean[0], "functionals after resuming a kill between the renames");
    assert_eq!(std::fs::read_to_string(&lld).unwrap(), clean[1], "LLDs after resuming a kill between the renames");
    let mut killed = 0;
    let mut kills = Kills::new(11, ms, 1.2);
    for k in 0..6 {
        std::fs::write(&out, &previous[0]).unwrap();
        std::fs::write(&lld, &previous[1]).unwrap();
        let (at, finished) = kills.run(extract(&audio, &out, &lld, false));
        killed += usize::from(!finished);
        for (i, path) in [&out, &lld].into_iter().enumerate() {
            let now = std::fs::read_to_string(path).unwrap_or_default();
            assert!(now == previous[i] || now == clean[i], "kill {k} at {at} ms left a partial {}", path.display());
        }
        // Resume completes both to exactly the clean run's.
        let o = extract(&audio, &out, &lld, true).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), clean[0], "resume after kill {k} at {at} ms");
        assert_eq!(std::fs::read_to_string(&lld).unwrap(), clean[1], "LLDs: resume after kill {k} at {at} ms");
    }
    assert!(killed >= 2, "most kills landed mid-run ({killed} of 6)");
    // Outputs written without the LLDs: that file is extracted again for them.
    std::fs::write(&out, &clean[0]).unwrap();
    std::fs::write(&lld, &previous[1]).unwrap();
    let o = extract(&audio, &out, &lld, true).output().unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&lld).unwrap(), clean[1]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("8 files kept"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn killed_training_leaves_no_half_written_model() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::tiny_manifest(dir.path());
    let model = dir.path().join("model");
    let train = |model: &Path| {
        let mut c = valar();
        c.args(["train", "--in-context"]).arg(&manifest).args(["--dims", "4", "--epochs", "30", "--device", "cpu", "-o"]).arg(model);
        c
    };
    let (ms, o) = timed(train(&dir.path().join("clean")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut kills = Kills::new(3, ms, 1.1);
    for k in 0..5 {
        let _ = std::fs::remove_dir_all(&model);
        let (at, finished) = kills.run(train(&model));
        if model.exists() {
            let label = valar()
                .args(["label", "assets/demo-calm.wav", "--model"])
                .arg(&model)
                .arg("-o")
                .arg(dir.path().join("x.csv"))
                .output()
                .unwrap();
            assert!(
                label.status.success(),
                "kill {k} at {at} ms (finished: {finished}) left a model that does not load: {}",
                String::from_utf8_lossy(&label.stderr)
            );
        }
        // Nothing but the model itself (and hidden temporary folders) appears beside it.
        for e in std::fs::read_dir(dir.path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                ["model", "clean", "manifest.csv", "x.csv"].contains(&name.as_str())
                    || name.ends_with(".wav")
                    || name.starts_with(".valar-"),
                "unexpected {name}"
            );
        }
    }
}

/// A small tmpfs of `size` mounted at `at`, if this machine lets us mount (root in a container
/// that allows it); unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(at).status().ok()?.success();
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
    fn read_only(&self) -> bool {
        Command::new("mount").args(["-o", "remount,ro"]).arg(&self.0).status().is_ok_and(|s| s.success())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Whatever is in `dir` that is not in `before`.
fn new_entries(dir: &Path, before: &[String]) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| !before.contains(n)).collect())
        .unwrap_or_default()
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let audio = folder(dir.path(), 6);
    let Some(fs) = Tmpfs::mount(&dir.path().join("small"), "16k") else {
        // Without mount rights, fill nothing: say so in the output (the read-only test below
        // still runs its fallback).
        eprintln!("tmpfs cannot be mounted here: full-disk case not exercised");
        return;
    };
    // Fill most of it, then ask for more than is left (the LLDs of six clips are ~1 MB).
    std::fs::write(fs.0.join("filler"), vec![0u8; 8 * 1024]).unwrap();
    let before = vec!["filler".to_string()];
    let o = valar().args(["extract", "-o"]).arg(fs.0.join("f.csv")).arg(&audio).arg("--lld").arg(fs.0.join("lld.csv")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "extract onto a full disk must fail");
    assert!(err.contains("No space left") && (err.contains("lld.csv") || err.contains("f.csv")), "names the file and the problem: {err}");
    let left = new_entries(&fs.0, &before);
    assert!(left.iter().all(|n| n == "f.csv"), "no partial or temporary files: {left:?}");
    if let Ok(t) = std::fs::read_to_string(fs.0.join("f.csv")) {
        assert!(t.lines().count() == 7, "the functionals CSV, if written, is complete");
    }
}

#[test]
fn an_unwritable_output_folder_is_a_clear_error_and_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("read-only");
    let mounted = Tmpfs::mount(&ro, "1m").filter(|t| t.read_only());
    if mounted.is_none() {
        std::fs::create_dir_all(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    // Root ignores permission bits: then the output goes under a plain file, which no one can
    // write into either.
    let writable = std::fs::write(ro.join("probe"), "x").is_ok();
    let _ = std::fs::remove_file(ro.join("probe"));
    let (target, problem) = if writable {
        std::fs::write(dir.path().join("plain-file"), "x").unwrap();
        (dir.path().join("plain-file"), "Not a directory")
    } else {
        (ro.clone(), if mounted.is_some() { "Read-only file system" } else { "Permission denied" })
    };
    for args in [vec!["label", "assets/demo-calm.wav", "-o"], vec!["extract", "assets/demo-calm.wav", "-o"]] {
        let out = target.join("out.csv");
        let o = valar().args(&args).arg(&out).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(problem) && err.contains("out.csv"), "{args:?}: {err}");
        if target.is_dir() {
            assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "nothing left in the folder");
        }
    }
    drop(mounted);
    let _ = std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755));
}
