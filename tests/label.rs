//! `valar label` with the bundled model: the demo clip, folders with bad files, identical
//! results for any number of jobs, `--resume`, and windows with `--segment`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::Part;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn valar(args: &[&str], paths: &[&Path]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_valar"));
    c.args(args);
    for p in paths {
        c.arg(p);
    }
    c.env_remove("VALAR_MODEL").current_dir(root()).output().unwrap()
}

fn rows(csv: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(csv).unwrap();
    r.records().map(|x| x.unwrap().iter().map(|s| s.to_string()).collect()).collect()
}

/// A folder with both demo clips, a corrupt FLAC, a text file named .wav, and a .txt.
fn messy_folder() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::fs::copy(root().join("assets/demo-calm.wav"), d.path().join("calm.wav")).unwrap();
    std::fs::copy(root().join("assets/demo-excited.wav"), d.path().join("sub/excited.wav")).unwrap();
    std::fs::copy(root().join("tests/fixtures/truncated.flac"), d.path().join("broken.flac")).unwrap();
    std::fs::copy(root().join("tests/fixtures/not-audio.wav"), d.path().join("text.wav")).unwrap();
    std::fs::write(d.path().join("notes.txt"), "not audio").unwrap();
    d
}

#[test]
fn demo_clip_is_labelled_headless() {
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("labels.csv");
    let o = valar(&["label", "assets/demo-excited.wav", "-o"], &[&csv]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("file,duration_s,activation,activation_score,valence,valence_score,voiced_ratio,error\n"), "{text}");
    let r = rows(&csv);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0][0], "demo-excited.wav");
    assert!((r[0][1].parse::<f64>().unwrap() - 4.30).abs() < 0.01);
    assert!(["high", "low"].contains(&r[0][2].as_str()));
    assert!(["positive", "negative"].contains(&r[0][4].as_str()));
    for c in [3, 5] {
        let s: f64 = r[0][c].parse().unwrap();
        assert!((0.0..=1.0).contains(&s), "score {s}");
    }
    assert!(r[0][6].parse::<f64>().unwrap() > 0.2, "voiced ratio of speech");
    assert!(r[0][7].is_empty());
}

#[test]
fn bad_files_do_not_stop_the_good_ones_and_jobs_do_not_matter() {
    let d = messy_folder();
    let out = tempfile::tempdir().unwrap();
    let (a, b) = (out.path().join("j1.csv"), out.path().join("j2.csv"));
    let o1 = valar(&["label", "--jobs", "1", "-o"], &[&a, d.path()]);
    let _o2 = valar(&["label", "--jobs", "2", "-o"], &[&b, d.path()]);
    assert!(!o1.status.success(), "a failed file gives a non-zero exit");
    let stderr = String::from_utf8_lossy(&o1.stderr);
    assert!(stderr.contains("broken.flac") && stderr.contains("text.wav"), "{stderr}");
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "--jobs 1 and --jobs 2 differ");
    let r = rows(&a);
    let names: Vec<&str> = r.iter().map(|x| x[0].as_str()).collect();
    assert_eq!(names, vec!["broken.flac", "calm.wav", "sub/excited.wav", "text.wav"]);
    for x in &r {
        let good = x[0].ends_with("calm.wav") || x[0].ends_with("excited.wav");
        assert_eq!(x[2].is_empty(), !good, "{x:?}");
        assert_eq!(x[7].is_empty(), good, "{x:?}");
    }
    assert!(r[0][7].contains("truncated"), "{:?}", r[0]);
}

#[test]
fn resume_labels_only_what_is_missing() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("assets/demo-calm.wav"), d.path().join("a.wav")).unwrap();
    let csv = d.path().join("out").join("labels.csv");
    let o = valar(&["label", "-o"], &[&csv, d.path()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = std::fs::read_to_string(&csv).unwrap();
    std::fs::copy(root().join("assets/demo-excited.wav"), d.path().join("b.wav")).unwrap();
    let o = valar(&["label", "--resume", "-o"], &[&csv, d.path()]);
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("labelled 1 file") && stderr.contains("1 already present"), "{stderr}");
    let second = std::fs::read_to_string(&csv).unwrap();
    assert!(second.starts_with(&first), "existing rows are kept as they were");
    assert_eq!(rows(&csv).len(), 2);
    let o = valar(&["label", "--resume", "-o"], &[&csv, d.path()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("labelled 0 files"));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), second);
}

#[test]
fn segments_cover_the_recording() {
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("seg.csv");
    let o = valar(&["label", "assets/demo-calm.wav", "--segment", "2", "-o"], &[&csv]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = rows(&csv);
    // 6.11 s → windows 0–2, 2–4, 4–6 and a final 0.11 s piece.
    assert_eq!(r.len(), 4, "{r:?}");
    let bounds: Vec<(f64, f64)> = r.iter().map(|x| (x[1].parse().unwrap(), x[2].parse().unwrap())).collect();
    assert_eq!(bounds[0], (0.0, 2.0));
    assert_eq!(bounds[2], (4.0, 6.0));
    assert!((bounds[3].1 - 6.111).abs() < 0.002);
}

/// A long recording's segments are analysed in parallel; the rows are the same, in the same
/// order, with one job as with two.
#[test]
fn segments_of_one_long_file_are_the_same_on_one_core_and_two() {
    let d = tempfile::tempdir().unwrap();
    let long = d.path().join("long.wav");
    common::long_recording(&long, &[Part::Calm, Part::Excited].repeat(4));
    let (one, two) = (d.path().join("one.csv"), d.path().join("two.csv"));
    for (jobs, csv) in [("1", &one), ("2", &two)] {
        let o = valar(&["label", "--segment", "1.5", "--jobs", jobs, "-o"], &[csv, &long]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("real time"), "the summary gives a real-time factor");
    }
    let r = rows(&one);
    assert!(r.len() >= 25, "{} segments", r.len());
    assert_eq!(r, rows(&two));
    // Each segment's row is what that stretch alone gives: segment boundaries are contiguous.
    for w in r.windows(2) {
        assert_eq!(w[0][2], w[1][1]);
    }
}

/// `n` synthetic vowels whose pitch and loudness vary, so a batch has spread to adapt by.
fn varied_folder(n: usize) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    varied_into(d.path(), n, 100.0);
    d
}

/// [`varied_folder`]'s vowels into `dir`, their pitch starting at `f0` Hz.
fn varied_into(dir: &Path, n: usize, f0: f64) {
    use valar::audio::synth::{self, Pulses};
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let f0 = f0 + 12.0 * i as f64;
        let p = Pulses { f0_start: f0, f0_end: f0 * 1.1, jitter: 0.01, shimmer: 0.04, amp: 1.0 };
        let x = synth::vowel(16_000, 1.0, p, &[(700.0, 90.0), (1220.0, 110.0), (2600.0, 160.0)], 0.1 + 0.03 * i as f64);
        valar::audio::write_wav(&dir.join(format!("v{i:02}.wav")), &x, 16_000).unwrap();
    }
}

#[test]
fn adapt_standardises_by_the_batch_and_refuses_small_batches() {
    let out = tempfile::tempdir().unwrap();
    let big = varied_folder(24);
    let plain = out.path().join("plain.csv");
    let adapted = out.path().join("adapted.csv");
    assert!(valar(&["label", "-o"], &[&plain, big.path()]).status.success());
    let o = valar(&["label", "--adapt", "-o"], &[&adapted, big.path()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("batch-adapted"));
    let (p, a) = (rows(&plain), rows(&adapted));
    assert_eq!(p.len(), 24);
    assert_eq!(a.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), p.iter().map(|r| r[0].clone()).collect::<Vec<_>>());
    assert_ne!(p, a, "adaptation changes the scores");
    // Adapted scores spread over both classes of activation: the batch's own middle is the boundary.
    let high = a.iter().filter(|r| r[2] == "high").count();
    assert!(high > 0 && high < 24, "{high} of 24 high");

    let small = varied_folder(5);
    let s = out.path().join("small.csv");
    let o = valar(&["label", "--adapt", "-o"], &[&s, small.path()]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not adapted: batch adaptation needs at least 20 analysable files (this batch has 5)"), "{err}");
}

/// The per-speaker route: each folder (one per speaker) adapted by its own statistics is what
/// adapting that folder alone gives; a folder too small to adapt keeps its unadapted labels.
#[test]
fn adapt_per_folder_adapts_each_folder_alone_and_names_those_too_small() {
    let d = tempfile::tempdir().unwrap();
    let speakers = d.path().join("speakers");
    varied_into(&speakers.join("low"), 24, 90.0);
    varied_into(&speakers.join("high"), 24, 180.0);
    varied_into(&speakers.join("few"), 5, 120.0);
    let all = d.path().join("all.csv");
    let o = valar(&["label", "--adapt-per-folder", "-o"], &[&all, &speakers]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("adapted per folder: 2 folders by their own statistics, 1 too small"), "{err}");
    assert!(err.contains("not adapted: 1 folder with fewer than 20 analysable files (few)"), "{err}");
    let all = rows(&all);
    assert_eq!(all.len(), 53);
    let of = |folder: &str| -> Vec<Vec<String>> {
        all.iter()
            .filter_map(|r| r[0].strip_prefix(&format!("{folder}/")).map(|n| [vec![n.to_string()], r[1..].to_vec()].concat()))
            .collect()
    };
    for (folder, args) in [("low", &["label", "--adapt", "-o"][..]), ("high", &["label", "--adapt", "-o"]), ("few", &["label", "-o"])] {
        let alone = d.path().join(format!("{folder}.csv"));
        assert!(valar(args, &[&alone, &speakers.join(folder)]).status.success());
        assert_eq!(of(folder), rows(&alone), "{folder}");
    }
    assert_ne!(of("low")[..5], of("high")[..5], "the folders were adapted apart");
}

/// The grouped adaptation the CLI and the Files tab share: each group adapted alone, exactly as
/// `adapt_rows` adapts it; a small group predicted plain (even over a prediction made before).
#[test]
fn adapt_groups_adapts_each_group_alone_and_predicts_small_ones_plain() {
    use valar::classify::Adaptation;
    use valar::classify::bundle::Bundle;
    use valar::classify::label::{AdaptedGroups, adapt_groups, adapt_rows, label_file};
    let d = tempfile::tempdir().unwrap();
    varied_into(&d.path().join("big"), 24, 90.0);
    varied_into(&d.path().join("small"), 5, 150.0);
    let bundle = Bundle::load(&root().join("models/default"), &burn::tensor::Device::flex()).unwrap();
    let p = &bundle.predictor;
    let label = |folder: &str, n: usize| -> Vec<valar::classify::label::LabelRow> {
        (0..n).flat_map(|i| label_file(&d.path().join(folder).join(format!("v{i:02}.wav")), p, None, 1)).collect()
    };
    let predictions = |rows: &[valar::classify::label::LabelRow]| rows.iter().map(|r| r.prediction).collect::<Vec<_>>();
    let (big0, small0) = (label("big", 24), label("small", 5));
    let (plain_big, plain_small) = (predictions(&big0), predictions(&small0));
    let mut adapted_alone = Vec::new();
    for adaptation in [Adaptation::Features, Adaptation::Representation] {
        let (mut big, mut small) = (big0.clone(), small0.clone());
        let mut alone = big.clone();
        assert!(adapt_rows(&mut alone.iter_mut().collect::<Vec<_>>(), p, adaptation));
        // A stale prediction in the small group (as a table adapted before holds) is replaced.
        small[0].prediction = alone[0].prediction;
        let keyed = big.iter_mut().map(|r| ("big", r)).chain(small.iter_mut().map(|r| ("small", r)));
        assert_eq!(adapt_groups(keyed, p, adaptation), AdaptedGroups { adapted: 1, too_small: vec!["small"] });
        assert_eq!(predictions(&big), predictions(&alone), "{adaptation}");
        assert_ne!(predictions(&big), plain_big, "the big group was adapted ({adaptation})");
        assert_eq!(predictions(&small), plain_small, "{adaptation}");
        adapted_alone.push(predictions(&alone));
    }
    // The bundled model has a code, so adapting it too changes the scores.
    assert_ne!(adapted_alone[0], adapted_alone[1]);
}

#[test]
fn silence_gets_no_labels_but_a_no_speech_reason() {
    let d = tempfile::tempdir().unwrap();
    valar::audio::write_wav(&d.path().join("silence.wav"), &vec![0.0f32; 32_000], 16_000).unwrap();
    std::fs::copy(root().join("assets/demo-excited.wav"), d.path().join("speech.wav")).unwrap();
    let csv = d.path().join("labels.csv");
    let o = valar(&["label", "-o"], &[&csv, d.path()]);
    assert!(o.status.success(), "no speech is an answer, not a failure: {}", String::from_utf8_lossy(&o.stderr));
    let r = rows(&csv);
    let silence = r.iter().find(|x| x[0] == "silence.wav").unwrap();
    // file, duration_s, activation, activation_score, valence, valence_score, voiced_ratio, error
    assert_eq!(silence[1], "2.000");
    assert!(silence[2..7].iter().all(|v| v.is_empty()), "{silence:?}");
    assert_eq!(silence[7], "no speech");
    let speech = r.iter().find(|x| x[0] == "speech.wav").unwrap();
    assert!(["high", "low"].contains(&speech[2].as_str()), "{speech:?}");
    // Segments: each silent window says so too.
    let seg = d.path().join("segments.csv");
    assert!(valar(&["label", "--segment", "1", "-o"], &[&seg, &d.path().join("silence.wav")]).status.success());
    let r = rows(&seg);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|x| x[4].is_empty() && x[9] == "no speech"), "{r:?}");
}

#[test]
fn non_finite_samples_are_refused_with_how_many_and_where() {
    // 2 s of a float WAV with NaN at 0.5 s and ±Inf at 1.0 s.
    let d = tempfile::tempdir().unwrap();
    let n = 32_000usize;
    let mut x: Vec<f32> = (0..n).map(|i| 0.1 * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / 16_000.0).sin()).collect();
    x[8_000] = f32::NAN;
    x[16_000] = f32::INFINITY;
    x[16_001] = f32::NEG_INFINITY;
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 32, sample_format: hound::SampleFormat::Float };
    let path = d.path().join("nan.wav");
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for v in x {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let csv = d.path().join("labels.csv");
    let o = valar(&["label", "-o"], &[&csv, &path]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("(0.0 s of audio)") && !err.contains("-0"), "{err}");
    let r = rows(&csv);
    assert!(r[0][7].ends_with("nan.wav: 3 samples are not numbers (NaN or infinite), the first at 0.500 s: refused"), "{:?}", r[0]);
    let out = d.path().join("features.csv");
    let o = valar(&["extract", "-o"], &[&out, &path]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("3 samples are not numbers"), "{err}");
    // Nothing was analysed: the summary says 0.0 s (a sum of no durations is −0.0 in Rust).
    assert!(err.contains("0 files extracted (0.0 s of audio"), "{err}");
}

/// Exports of a long recording read back by Praat's and ELAN's Python readers (praatio,
/// pympi-ling), and the Audacity label track checked against its format: tab-separated start,
/// end (seconds) and label, one line per segment.
#[test]
fn exports_are_read_by_praat_and_elan_readers() {
    let d = tempfile::tempdir().unwrap();
    let long = d.path().join("long.wav");
    let seconds = common::long_recording(&long, &[Part::Excited, Part::Silence(2.0), Part::Calm]);
    let segments = (seconds / 2.0).ceil() as usize;
    let csv = d.path().join("long.csv");
    let o = valar(&["label", "--segment", "2", "-o"], &[&csv, &long]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let labels: Vec<String> = rows(&csv).iter().map(|r| r[4].clone()).collect();
    assert_eq!(labels.len(), segments);
    for (format, ext) in [("textgrid", "TextGrid"), ("eaf", "eaf"), ("audacity", "txt")] {
        let out = d.path().join(format!("long.{ext}"));
        let o = valar(&["label", "--segment", "2", "--format", format, "-o"], &[&out, &long]);
        assert!(o.status.success(), "{format}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let script = r#"
import json, sys
from praatio import textgrid
import pympi
tg = textgrid.openTextgrid(sys.argv[1], includeEmptyIntervals=True)
e = pympi.Elan.Eaf(sys.argv[2])
print(json.dumps({
  "tg_tiers": list(tg.tierNames),
  "tg": {n: [[i.start, i.end, i.label] for i in tg.getTier(n).entries] for n in tg.tierNames},
  "eaf_tiers": sorted(e.get_tier_names()),
  "eaf": {n: [list(a) for a in e.get_annotation_data_for_tier(n)] for n in e.get_tier_names()},
}))
"#;
    let py = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(d.path().join("long.TextGrid"))
        .arg(d.path().join("long.eaf"))
        .output()
        .expect("python3 runs the readers");
    assert!(py.status.success(), "praatio / pympi-ling (scripts/setup.sh installs them): {}", String::from_utf8_lossy(&py.stderr));
    let v: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(v["tg_tiers"], serde_json::json!(["activation", "valence"]));
    assert_eq!(v["eaf_tiers"], serde_json::json!(["activation", "valence"]));
    for tier in ["activation", "valence"] {
        let tg = v["tg"][tier].as_array().unwrap();
        let eaf = v["eaf"][tier].as_array().unwrap();
        assert_eq!((tg.len(), eaf.len()), (segments, segments), "{tier}: one interval per segment");
        assert!((tg.last().unwrap()[1].as_f64().unwrap() - seconds).abs() < 1e-3, "the tier ends with the recording");
        for (k, (t, e)) in tg.iter().zip(eaf).enumerate() {
            assert_eq!(t[2], e[2], "{tier} {k}: same text in both");
            assert_eq!(e[0].as_i64().unwrap(), (t[0].as_f64().unwrap() * 1000.0).round() as i64);
        }
    }
    // The activation tier's texts are the CSV's labels with their scores; the silent stretch
    // in the middle says so.
    let tg_act = v["tg"]["activation"].as_array().unwrap();
    for (t, l) in tg_act.iter().zip(&labels) {
        let text = t[2].as_str().unwrap();
        if l.is_empty() {
            assert_eq!(text, "no speech");
        } else {
            assert!(text.starts_with(&format!("{l} ")), "{text} vs {l}");
        }
    }
    assert!(tg_act.iter().any(|t| t[2] == "no speech"), "the 2 s of silence is marked");
    let track = std::fs::read_to_string(d.path().join("long.txt")).unwrap();
    let lines: Vec<&str> = track.lines().collect();
    assert_eq!(lines.len(), segments);
    let mut last_end = 0.0;
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 3, "start, end, label: {l:?}");
        let (a, b): (f64, f64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        assert!(a <= b && (a - last_end).abs() < 1e-6 && !f[2].is_empty(), "{l:?}");
        last_end = b;
    }
    // A folder gives one export per recording and the summary CSV.
    let folder = d.path().join("many");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(&long, folder.join("a.wav")).unwrap();
    std::fs::copy(root().join("assets/demo-calm.wav"), folder.join("b.wav")).unwrap();
    let out = d.path().join("exports");
    let o = valar(&["label", "--segment", "2", "--format", "textgrid", "-o"], &[&out, &folder]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["a.TextGrid", "b.TextGrid", "labels.csv"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let o = valar(&["label", "--resume", "--format", "eaf", "-o"], &[&out, &folder]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("CSV format only"));
}
