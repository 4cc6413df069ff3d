//! Decoding every supported format and bit depth, rates from 8 to 192 kHz, and a clear error
//! for each kind of bad file.

use std::path::{Path, PathBuf};
use std::process::Command;

use valar::audio::{self, AudioError, synth};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Zero crossings per second / 2 — enough to tell a 1 kHz tone from anything else.
fn tone_frequency(x: &[f32], rate: u32) -> f64 {
    let mid = &x[x.len() / 10..x.len() * 9 / 10];
    let crossings = mid.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
    crossings as f64 / 2.0 / (mid.len() as f64 / rate as f64)
}

fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, float: bool, frames: &[(f64, f64)]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let full = ((1i64 << (bits - 1)) - 1) as f64;
    for &(l, r) in frames {
        for (c, v) in [l, r].iter().enumerate().take(channels as usize) {
            let _ = c;
            if float {
                w.write_sample(*v as f32).unwrap();
            } else if bits == 8 {
                w.write_sample((v * full).round() as i8).unwrap();
            } else if bits == 16 {
                w.write_sample((v * full).round() as i16).unwrap();
            } else {
                w.write_sample((v * full).round() as i32).unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

#[test]
fn wav_every_bit_depth_and_the_first_channel() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 16_000;
    let tone: Vec<f64> = (0..4000).map(|n| (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / rate as f64).sin()).collect();
    for (bits, float) in [(8u16, false), (16, false), (24, false), (32, false), (32, true)] {
        let p = dir.path().join(format!("t{bits}{}.wav", if float { "f" } else { "" }));
        let frames: Vec<(f64, f64)> = tone.iter().map(|&s| (0.5 * s, 0.3 * s)).collect();
        write_wav(&p, rate, 2, bits, float, &frames);
        let (a, info) = audio::decode_file(&p).unwrap();
        assert_eq!((info.sample_rate, info.channels), (rate, 2), "{bits}-bit");
        assert_eq!(a.samples.len(), 4000);
        // The first channel is analysed, as openSMILE does: 0.5·sin (not the channels' mean,
        // 0.4·sin), times openSMILE's 32768/32767 for integers.
        let gain = if float { 1.0 } else { 32768.0 / 32767.0 };
        let quant = if bits == 8 { 2.0 / 127.0 } else { 1e-4 };
        for (i, (&got, &s)) in a.samples.iter().zip(&tone).enumerate() {
            let want = 0.5 * s * gain;
            assert!((got as f64 - want).abs() < quant, "{bits}-bit sample {i}: {got} vs {want}");
        }
    }
}

#[test]
fn sixteen_bit_is_scaled_exactly_like_opensmile() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s16.wav");
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(&p, spec).unwrap();
    for v in [-32768i16, -1, 0, 1, 12345, 32767] {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let (a, _) = audio::decode_file(&p).unwrap();
    let want: Vec<f32> = [-32768i32, -1, 0, 1, 12345, 32767].iter().map(|&v| (v as f64 / 32767.0) as f32).collect();
    assert_eq!(a.samples, want);
}

#[test]
fn every_rate_from_8_to_192_khz() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [8_000u32, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 96_000, 192_000] {
        let p = dir.path().join(format!("r{rate}.wav"));
        let x = synth::tone(1000.0, rate, 0.2, 0.5);
        let frames: Vec<(f64, f64)> = x.iter().map(|&v| (v as f64, v as f64)).collect();
        write_wav(&p, rate, 1, 16, false, &frames);
        let a = audio::load_canonical(&p).unwrap();
        assert_eq!(a.sample_rate, 16_000);
        assert!((a.samples.len() as i64 - 3200).abs() <= 1, "{rate}: {} samples", a.samples.len());
        assert!((tone_frequency(&a.samples, 16_000) - 1000.0).abs() < 10.0, "{rate}");
    }
    let p = dir.path().join("r7999.wav");
    write_wav(&p, 7_999, 1, 16, false, &[(0.0, 0.0); 100]);
    assert!(matches!(audio::decode_file(&p), Err(AudioError::Rate { rate: 7_999, .. })));
}

#[test]
fn compressed_formats_decode_to_the_right_tone() {
    // (file, rate, channels, expected RMS of what is analysed, dB tolerance). The stereo FLAC's
    // channels are 0.5 and 0.3 sines: the first is analysed (their mean would be 0.4).
    let cases = [
        ("tone-44k-stereo.flac", 44_100, 2, 0.5 / 2f64.sqrt(), 0.05),
        ("tone-48k-24bit.flac", 48_000, 1, 0.5 / 2f64.sqrt(), 0.05),
        ("tone-22k.ogg", 22_050, 1, 0.5 / 2f64.sqrt(), 1.0),
        ("tone-32k-stereo.mp3", 32_000, 2, 0.5 / 2f64.sqrt(), 1.0),
    ];
    for (name, rate, ch, want_rms, tol_db) in cases {
        let (a, info) = audio::decode_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((info.sample_rate, info.channels as usize), (rate, ch), "{name}");
        assert!(a.duration_s() > 0.45 && a.duration_s() < 0.6, "{name}: {} s", a.duration_s());
        let f = tone_frequency(&a.samples, rate);
        assert!((f - 1000.0).abs() < 5.0, "{name}: {f} Hz");
        let mid = &a.samples[a.samples.len() / 5..a.samples.len() * 4 / 5];
        let db = 20.0 * (rms(mid) / want_rms).log10();
        assert!(db.abs() < tol_db, "{name}: level off by {db:.3} dB");
    }
}

#[test]
fn bad_files_get_their_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(matches!(audio::decode_file(&d.join("missing.wav")), Err(AudioError::NotFound { .. })));
    std::fs::write(d.join("empty.wav"), b"").unwrap();
    assert!(matches!(audio::decode_file(&d.join("empty.wav")), Err(AudioError::Empty { .. })));
    assert!(matches!(audio::decode_file(&fixture("not-audio.wav")), Err(AudioError::Unsupported { .. })));
    assert!(
        matches!(audio::decode_file(&fixture("truncated.flac")), Err(AudioError::Truncated { .. })),
        "{:?}",
        audio::decode_file(&fixture("truncated.flac")).err()
    );
    // A WAV whose data chunk claims more than the file holds.
    let full = d.join("full.wav");
    write_wav(&full, 16_000, 1, 16, false, &vec![(0.1, 0.1); 8000]);
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(d.join("cut.wav"), &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(audio::decode_file(&d.join("cut.wav")), Err(AudioError::Truncated { .. })));
    // A header that ends inside the format chunk.
    std::fs::write(d.join("header.wav"), &bytes[..30]).unwrap();
    let e = audio::decode_file(&d.join("header.wav")).unwrap_err();
    assert!(matches!(e, AudioError::Truncated { .. } | AudioError::Corrupt { .. }), "{e}");
    // Valid header, no samples.
    write_wav(&d.join("zero.wav"), 16_000, 1, 16, false, &[]);
    assert!(matches!(audio::decode_file(&d.join("zero.wav")), Err(AudioError::NoSamples { .. })));
    // Garbage after a RIFF/WAVE signature (a chunk whose size runs past the end of the file,
    // which is indistinguishable from truncation).
    let mut junk = b"RIFF\x24\x00\x00\x00WAVEjunk".to_vec();
    junk.extend(std::iter::repeat_n(0xAB, 64));
    std::fs::write(d.join("junk.wav"), junk).unwrap();
    let e = audio::decode_file(&d.join("junk.wav")).unwrap_err();
    assert!(matches!(e, AudioError::Corrupt { .. } | AudioError::Unsupported { .. } | AudioError::Truncated { .. }), "{e}");
    // Every message names its file.
    for f in ["empty.wav", "cut.wav", "zero.wav", "junk.wav"] {
        let msg = audio::decode_file(&d.join(f)).unwrap_err().to_string();
        assert!(msg.contains(f), "{msg}");
    }
}

#[test]
fn info_reports_good_files_and_names_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wav");
    write_wav(&good, 22_050, 2, 24, false, &vec![(0.1, 0.2); 22_050]);
    std::fs::write(dir.path().join("bad.wav"), b"nope").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_valar"))
        .args(["info"])
        .arg(&good)
        .arg(dir.path().join("bad.wav"))
        .arg(fixture("tone-22k.ogg"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a bad file must give a non-zero exit");
    assert!(
        stdout.contains("good.wav") && stdout.contains("22050 Hz") && stdout.contains("2 channels") && stdout.contains("1.000 s"),
        "{stdout}"
    );
    assert!(stdout.contains("tone-22k.ogg"), "the file after the bad one still goes through: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "one line per bad file: {stderr}");
    assert!(stderr.contains("bad.wav"), "{stderr}");
}
