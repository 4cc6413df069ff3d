//! Helpers shared by the integration tests (each test crate uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use valar::audio::synth::{self, Pulses};

/// 4 speakers × 6 synthetic utterances whose pitch and loudness follow the activation label.
pub fn tiny_manifest(dir: &Path) -> PathBuf {
    let mut m = String::from("path,speaker,gender,emotion,activation,valence\n");
    for spk in 0..4 {
        for i in 0..6 {
            let high = i % 2 == 0;
            let pos = i % 3 == 0;
            let f0 = if high { 220.0 + 10.0 * spk as f64 } else { 110.0 + 5.0 * spk as f64 };
            let p = Pulses { f0_start: f0, f0_end: f0 * if high { 1.3 } else { 0.95 }, jitter: 0.01, shimmer: 0.04, amp: 1.0 };
            let formants =
                if pos { [(700.0, 90.0), (1220.0, 110.0), (2600.0, 160.0)] } else { [(300.0, 60.0), (2300.0, 100.0), (3000.0, 150.0)] };
            let x = synth::vowel(16_000, 1.0, p, &formants, if high { 0.7 } else { 0.15 });
            let name = format!("s{spk}_{i}.wav");
            valar::audio::write_wav(&dir.join(&name), &x, 16_000).unwrap();
            m += &format!("{name},{spk},,,{},{}\n", if high { 1 } else { -1 }, if pos { 1 } else { -1 });
        }
    }
    let p = dir.join("manifest.csv");
    std::fs::write(&p, m).unwrap();
    p
}

/// A stretch of a made-up long recording.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// `assets/demo-calm.wav`.
    Calm,
    /// `assets/demo-excited.wav`.
    Excited,
    /// Digital silence of this many seconds.
    Silence(f64),
}

/// Writes `parts` one after the other to the WAV file `path` (at the demo clips' rate) and
/// returns the recording's length in seconds.
pub fn long_recording(path: &Path, parts: &[Part]) -> f64 {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let (calm, _) = valar::audio::decode_file(&assets.join("demo-calm.wav")).unwrap();
    let (excited, _) = valar::audio::decode_file(&assets.join("demo-excited.wav")).unwrap();
    let rate = calm.sample_rate;
    let mut x = Vec::new();
    for p in parts {
        match *p {
            Part::Calm => x.extend_from_slice(&calm.samples),
            Part::Excited => x.extend_from_slice(&excited.samples),
            Part::Silence(s) => x.extend(std::iter::repeat_n(0.0f32, (s * rate as f64) as usize)),
        }
    }
    valar::audio::write_wav(path, &x, rate).unwrap();
    x.len() as f64 / rate as f64
}
