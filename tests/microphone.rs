//! End to end through a real audio stack: PulseAudio with a null sink and a virtual source
//! (started by `scripts/test.sh`), a tone sweep played into it, and `valar record` capturing
//! through cpal's ALSA host. The dominant-frequency track of the recording must follow the
//! sweep.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const STEPS: [f64; 4] = [500.0, 1000.0, 1500.0, 2000.0];
const STEP_S: f64 = 0.6;

/// The tests share the virtual microphone (one suspends it), so they take turns.
static MICROPHONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn pulse_running() -> bool {
    Command::new("pactl").arg("info").stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false)
}

fn write_sweep(path: &Path) {
    let rate = 48_000u32;
    let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut phase = 0.0f64;
    for f in STEPS {
        for _ in 0..(STEP_S * rate as f64) as usize {
            phase += 2.0 * std::f64::consts::PI * f / rate as f64;
            w.write_sample((0.4 * phase.sin() * 32767.0) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// Dominant frequency of each 50 ms frame (Goertzel over 50..4000 Hz in 10 Hz steps), or 0
/// for silent frames.
fn frequency_track(x: &[f32], rate: u32) -> Vec<f64> {
    let n = (0.05 * rate as f64) as usize;
    x.chunks_exact(n)
        .map(|fr| {
            let e: f64 = fr.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n as f64;
            if e < 1e-5 {
                return 0.0;
            }
            let mut best = (0.0, 0.0);
            let mut f = 50.0;
            while f <= 4000.0 {
                let w = 2.0 * std::f64::consts::PI * f / rate as f64;
                let (mut s1, mut s2) = (0.0, 0.0);
                for &v in fr {
                    let s = v as f64 + 2.0 * w.cos() * s1 - s2;
                    s2 = s1;
                    s1 = s;
                }
                let p = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
                if p > best.1 {
                    best = (f, p);
                }
                f += 10.0;
            }
            best.0
        })
        .collect()
}

#[test]
fn record_captures_what_the_microphone_hears() {
    let _turn = MICROPHONE.lock().unwrap_or_else(|e| e.into_inner());
    assert!(pulse_running(), "PulseAudio is not running: run the suite with scripts/test.sh, which starts the virtual microphone");
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sweep.wav");
    let out = dir.path().join("recorded.wav");
    write_sweep(&sweep);

    let devices = Command::new(env!("CARGO_BIN_EXE_valar")).arg("devices").output().unwrap();
    assert!(devices.status.success(), "{}", String::from_utf8_lossy(&devices.stderr));
    assert!(!String::from_utf8_lossy(&devices.stdout).trim().is_empty(), "no input device listed");

    let total = STEPS.len() as f64 * STEP_S;
    let rec = Command::new(env!("CARGO_BIN_EXE_valar"))
        .args(["record", "-d", &format!("{}", total + 2.0), "-o"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let play = Command::new("paplay").arg("--device=valar_sink").arg(&sweep).status().unwrap();
    assert!(play.success(), "paplay failed");
    let rec = rec.wait_with_output().unwrap();
    assert!(rec.status.success(), "valar record failed: {}", String::from_utf8_lossy(&rec.stderr));

    let (audio, info) = valar::audio::decode_file(&out).unwrap();
    assert_eq!(info.sample_rate, 16_000);
    assert!((audio.duration_s() - (total + 2.0)).abs() < 0.05, "recorded {} s", audio.duration_s());
    let track = frequency_track(&audio.samples, 16_000);
    // Each step must appear as a run of frames at its frequency, in order.
    let mut pos = 0;
    for f in STEPS {
        let start = track[pos..].iter().position(|&x| (x - f).abs() <= 20.0).map(|p| p + pos);
        let Some(start) = start else { panic!("{f} Hz never heard after frame {pos}: {track:?}") };
        let run = track[start..].iter().take_while(|&&x| (x - f).abs() <= 20.0).count();
        assert!(run as f64 * 0.05 >= STEP_S * 0.6, "{f} Hz lasted only {run} frames: {track:?}");
        pos = start + run;
    }
}

/// Loads a virtual source of its own (so the other microphone test keeps its input) and
/// returns the module's index.
fn load_source(name: &str) -> String {
    let out = Command::new("pactl")
        .args(["load-module", "module-virtual-source", &format!("source_name={name}"), "master=valar_sink.monitor"])
        .output()
        .unwrap();
    assert!(out.status.success(), "pactl load-module: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `valar live` on the PulseAudio source `name` (libpulse's PULSE_SOURCE picks it), stdout
/// and stderr piped.
fn live_on(name: &str, record: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_valar"))
        .args(["live", "--json", "--every", "0.25", "--window", "1", "--record"])
        .arg(record)
        .env("PULSE_SOURCE", name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The child's estimate lines, as they come.
fn lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(rx: &std::sync::mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(20)).expect("valar live printed no estimate within 20 s")
}

/// The stream time (`t_s`, the end of the window it scores) of an estimate line.
fn stream_time(line: &str) -> f64 {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    v["t_s"].as_f64().unwrap_or_else(|| panic!("no t_s: {line}"))
}

#[test]
fn live_session_survives_its_input_disappearing_and_restarts() {
    let _turn = MICROPHONE.lock().unwrap_or_else(|e| e.into_inner());
    assert!(pulse_running(), "PulseAudio is not running: run the suite with scripts/test.sh, which starts the virtual microphone");
    let dir = tempfile::tempdir().unwrap();
    let source = "valar_lost_mic";
    let module = load_source(source);
    let base = dir.path().join("session");
    let mut live = live_on(source, &base);
    let rx = lines(&mut live);
    let line = next_line(&rx);
    assert!(line.starts_with('{') && line.contains("\"speech\""), "{line}");
    // The latest stream time the session scored: all of it must be in the recording.
    let mut scored_s = stream_time(&line);

    // The source is unplugged: PulseAudio moves the stream to the default input, and the
    // session goes on.
    assert!(Command::new("pactl").args(["unload-module", &module]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(3500));
    while let Ok(line) = rx.try_recv() {
        scored_s = scored_s.max(stream_time(&line));
    }
    let line = next_line(&rx);
    assert!(line.contains("\"speech\""), "no estimates after the source was unplugged");
    scored_s = scored_s.max(stream_time(&line));
    assert!(live.try_wait().unwrap().is_none(), "the session ended when PulseAudio moved it");

    // The input it was moved to stops delivering (suspended, as a device that hangs or goes
    // away under plain ALSA): the session ends with an error naming the input, and keeps what
    // it recorded.
    let suspend = |on: &str| Command::new("pactl").args(["suspend-source", "valar_mic", on]).status().unwrap().success();
    // Whatever happens below, the shared microphone comes back for the other test.
    struct Resume;
    impl Drop for Resume {
        fn drop(&mut self) {
            let _ = Command::new("pactl").args(["suspend-source", "valar_mic", "false"]).status();
        }
    }
    let _resume = Resume;
    assert!(suspend("true"));
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = live.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(15) {
            let _ = live.kill();
            panic!("valar live still running 15 s after its input stream was killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(live.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "a lost input must end the session with an error; stderr: {stderr}");
    assert!(stderr.contains("input device"), "unclear message: {stderr}");
    // Every estimate it printed before it ended was scored on audio that must be in the WAV.
    // (How much audio arrives in a given wall time depends on the machine's load, so the
    // check is against what the session itself reports, not against the clock.)
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        scored_s = scored_s.max(stream_time(&line));
    }
    let (audio, _) = valar::audio::decode_file(&base.with_extension("wav")).expect("the session's WAV is readable");
    assert!(scored_s >= 1.0, "the session scored only {scored_s} s");
    assert!(audio.duration_s() >= scored_s - 0.01, "recorded {} s, but scored up to {scored_s} s", audio.duration_s());
    // The score CSV is complete too (its rows are speech windows only; this input was silent).
    let csv = std::fs::read_to_string(base.with_extension("csv")).unwrap();
    assert!(csv.starts_with("t_s,activation"), "{csv}");

    // Back again: a new session starts on it.
    assert!(suspend("false"));
    let module = load_source(source);
    let mut again = live_on(source, &dir.path().join("again"));
    let line = next_line(&lines(&mut again));
    assert!(line.contains("\"speech\""), "{line}");
    let _ = again.kill();
    let _ = again.wait();
    let _ = Command::new("pactl").args(["unload-module", &module]).status();
}
