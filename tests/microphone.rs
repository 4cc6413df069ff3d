//! End to end through a real audio stack: PulseAudio with a null sink and a virtual source
//! (started by `scripts/test.sh`), a tone sweep played into it, and `valar record` capturing
//! through cpal's ALSA host. The dominant-frequency track of the recording must follow the
//! sweep.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const STEPS: [f64; 4] = [500.0, 1000.0, 1500.0, 2000.0];
const STEP_S: f64 = 0.6;

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
