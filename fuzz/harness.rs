//! What each fuzz target does with its bytes, shared by the targets (fuzz_targets/) and by
//! tests/fuzz_replay.rs, which replays the committed corpus and crash reproducers. Each
//! function must return, whatever the bytes: an error is a fine answer, a panic is a bug.
// Each target uses one of these functions.
#![allow(dead_code)]

use std::path::Path;

/// Decoding: the first byte picks the file's extension (WAV, FLAC, OGG, MP3), the rest is the
/// file. Decoded audio must be mono at a supported rate, and streaming it must give the same.
pub fn decode(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else { return };
    let ext = ["wav", "flac", "ogg", "mp3"][pick as usize % 4];
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, body).expect("write input");
    if let Ok((audio, info)) = valar::audio::decode_file(&path) {
        assert!((valar::audio::MIN_RATE..=valar::audio::MAX_RATE).contains(&audio.sample_rate));
        assert_eq!(audio.sample_rate, info.sample_rate);
        let mut streamed = 0;
        let again = valar::audio::stream_file(&path, 1000, |block, _| {
            streamed += block.len();
            true
        });
        assert!(again.is_ok() && streamed == audio.samples.len(), "streaming differs from decoding");
    }
}

/// An encoder's bytes, for model.json inputs that carry no encoder of their own: the encoder of
/// the enriched model bundled until stop 22 (`corpus/model/bundled.json` is its model.json);
/// the bundled model is now features-only and has none.
const ENCODER: &[u8] = include_bytes!("encoder.bpk");

/// Model loading: `model.json` is the bytes up to the first NUL, `encoder.bpk` the bytes after
/// it (the bundled encoder when there is no NUL). A model that loads must label a row of
/// features.
pub fn model(data: &[u8]) {
    let (json, encoder) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, ENCODER),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("model.json"), json).expect("write model.json");
    std::fs::write(dir.path().join("encoder.bpk"), encoder).expect("write encoder");
    let (device, _) = valar::model::select_device(valar::model::DeviceChoice::Cpu);
    if let Ok(bundle) = valar::classify::bundle::Bundle::load(dir.path(), &device) {
        let p = bundle.predictor.predict(&[vec![0.5; valar::egemaps::N_FEATURES]]);
        assert_eq!(p.len(), 1);
    }
}

/// CSV parsing: the first byte picks a corpus manifest or a feature bank, the rest is the file.
pub fn csv(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(if pick.is_multiple_of(2) { "manifest.csv" } else { "bank.csv" });
    std::fs::write(&path, body).expect("write csv");
    if pick.is_multiple_of(2) {
        if let Ok(corpus) = valar::corpus::load_manifest(&path) {
            let _ = corpus.samples.len();
        }
    } else if let Ok(bank) = valar::corpus::FeatureBank::load(&path) {
        let _ = bank.calm_mean();
    }
}

/// The extractor: 4 bytes of sample rate (any u32, out-of-range ones included), then f32
/// samples (NaN and infinities included), put on openSMILE's 16-bit grid as every input path
/// puts them (decoder, Python signals), then through the path a decoded file takes. (Raw,
/// off-grid amplitudes near 1e19 and above overflow the f32 energies into some NaN
/// functionals — the first crash this target found, kept in fuzz/artifacts/extractor — but
/// no input path lets such a sample through.)
pub fn extractor(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let raw = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    // Mostly rates the extractor takes, sometimes the rest of u32.
    let rate = if raw.is_multiple_of(8) { raw } else { 8_000 + raw % (192_000 - 8_000 + 1) };
    let samples: Vec<f32> =
        data[4..].chunks_exact(4).map(|b| valar::audio::on_opensmile_grid(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)).collect();
    let name = Path::new("fuzz");
    let source = valar::audio::Source::Signal { name, samples: &samples, rate };
    match valar::egemaps::extract_source(source, valar::egemaps::Rate::Native, true, 1) {
        Ok(an) => {
            let finite = an.functionals.values().iter().all(|v| v.is_finite());
            let all_nan = an.functionals.values().iter().all(|v| v.is_nan());
            assert!(finite || all_nan, "some functionals are not numbers: {:?}", an.functionals);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
