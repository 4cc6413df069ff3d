//! valar's eGeMAPSv02 against openSMILE itself.
//!
//! (a) Synthetic signals with known structure at 8, 16, 22.05, 44.1 and 48 kHz, run through
//!     `../shared/tools/egemaps_ref.py` (the pinned `opensmile` package) in this test.
//! (b) 200 real utterances, 50 from each corpus in `../shared/corpora`, against the
//!     corpora's own `egemaps_opensmile.csv` (openSMILE's output for every file there).
//! Tolerances are egemaps-spec §9.4's (`valar::egemaps::parity::tolerance`). Every one of the 88
//! functionals must agree on every synthetic file, and on ≥ 99 % of the real utterances with
//! Pearson r ≥ 0.999 — the 20 formant-dependent ones included, which are chaotic (spec §8.2)
//! and agree only because the formant path repeats openSMILE's single-precision arithmetic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use valar::audio::synth::{self, Pulses};
use valar::egemaps::parity::{compare, tolerance};
use valar::egemaps::{self, FEATURE_NAMES, N_FEATURES, Rate};

/// The workplace's shared folder: `$VALAR_SHARED_DIR`, else `shared/` beside the checkout
/// (`../shared`), else one inside it.
fn shared() -> PathBuf {
    if let Some(d) = std::env::var_os("VALAR_SHARED_DIR") {
        return PathBuf::from(d);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let beside = root.join("../shared");
    if beside.is_dir() { beside } else { root.join("shared") }
}

fn read_csv(path: &Path) -> HashMap<String, [f64; N_FEATURES]> {
    let mut rdr = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let h = rdr.headers().unwrap().clone();
    let file = h.iter().position(|c| c == "file").unwrap();
    let cols: Vec<usize> = FEATURE_NAMES.iter().map(|n| h.iter().position(|c| c == *n).unwrap()).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            let mut v = [f64::NAN; N_FEATURES];
            for (i, &c) in cols.iter().enumerate() {
                v[i] = r.get(c).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
            }
            (r.get(file).unwrap().to_string(), v)
        })
        .collect()
}

fn write_wav16(path: &Path, rate: u32, x: &[f32]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &v in x {
        w.write_sample((v as f64 * 32767.0).round().clamp(-32768.0, 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// The synthetic test set: name → signal, for one rate.
fn synthetic(rate: u32) -> Vec<(String, Vec<f32>)> {
    let s = |secs: f64| (rate as f64 * secs).round() as usize;
    let steady = |f0: f64, jitter: f64, shimmer: f64| Pulses { f0_start: f0, f0_end: f0, jitter, shimmer, amp: 1.0 };
    let vowel_a = [(700.0, 90.0), (1220.0, 110.0), (2600.0, 160.0)];
    let vowel_i = [(300.0, 60.0), (2300.0, 100.0), (3000.0, 150.0)];
    let mut out = vec![
        ("silence".to_string(), vec![0.0; s(1.0)]),
        ("noise".into(), synth::noise(rate, 1.0, 0.1, 7)),
        ("tone200".into(), synth::tone(200.0, rate, 1.0, 0.5)),
        ("tone440".into(), synth::tone(440.0, rate, 1.0, 0.3)),
        ("pulses120".into(), synth::formant_filter(&synth::pulse_train(rate, 1.2, steady(120.0, 0.0, 0.0)), rate, &[(500.0, 200.0)])),
        ("jitter2pct".into(), synth::vowel(rate, 1.2, steady(150.0, 0.02, 0.0), &vowel_a, 0.5)),
        ("shimmer10pct".into(), synth::vowel(rate, 1.2, steady(150.0, 0.0, 0.10), &vowel_a, 0.5)),
        ("vowel_a".into(), synth::vowel(rate, 1.5, steady(130.0, 0.005, 0.03), &vowel_a, 0.6)),
        ("vowel_i".into(), synth::vowel(rate, 1.5, steady(220.0, 0.005, 0.03), &vowel_i, 0.6)),
        (
            "glide".into(),
            synth::vowel(rate, 1.5, Pulses { f0_start: 100.0, f0_end: 220.0, jitter: 0.0, shimmer: 0.0, amp: 1.0 }, &vowel_a, 0.6),
        ),
    ];
    // Silence, a vowel, noise, a vowel cut mid-voicing at the end.
    let mut mixed = vec![0.0f32; s(0.3)];
    mixed.extend(synth::vowel(rate, 0.8, Pulses { f0_start: 180.0, f0_end: 140.0, jitter: 0.01, shimmer: 0.05, amp: 1.0 }, &vowel_i, 0.5));
    mixed.extend(synth::noise(rate, 0.3, 0.02, 3));
    mixed.extend(synth::vowel(rate, 0.7, Pulses { f0_start: 120.0, f0_end: 160.0, jitter: 0.01, shimmer: 0.05, amp: 1.0 }, &vowel_a, 0.5));
    out.push(("ends_mid_voicing".into(), mixed));
    if rate == 16_000 {
        for n in [959usize, 960, 1000, 1600] {
            out.push((format!("len{n}"), synth::vowel(rate, n as f64 / rate as f64, steady(150.0, 0.0, 0.0), &vowel_a, 0.5)));
        }
    }
    out
}

fn run_reference(dir: &Path, out: &Path) {
    let script = shared().join("tools/egemaps_ref.py");
    let st = Command::new("python3").arg(&script).arg(dir).arg(out).status().expect("python3 is needed for the openSMILE reference");
    assert!(st.success(), "egemaps_ref.py failed (install: pip install -r ../shared/tools/requirements.txt)");
}

#[test]
fn synthetic_signals_match_opensmile_at_five_rates() {
    let dir = tempfile::tempdir().unwrap();
    let rates = [8_000u32, 16_000, 22_050, 44_100, 48_000];
    let mut ours: HashMap<String, egemaps::Functionals> = HashMap::new();
    for rate in rates {
        for (name, x) in synthetic(rate) {
            let rel = format!("{rate}/{name}.wav");
            write_wav16(&dir.path().join(&rel), rate, &x);
            let an = egemaps::extract_file(&dir.path().join(&rel), Rate::Native, false).unwrap();
            ours.insert(rel, an.functionals);
        }
    }
    let ref_csv = dir.path().join("ref.csv");
    run_reference(dir.path(), &ref_csv);
    let reference = read_csv(&ref_csv);
    let mut failures = Vec::new();
    for (file, theirs) in &reference {
        let mine = ours.get(file).unwrap_or_else(|| panic!("no valar result for {file}"));
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            let (a, b) = (mine.0[i], theirs[i]);
            if !tolerance(name).passes(a, b) {
                failures.push(format!("{file} {name}: valar {a} vs openSMILE {b}"));
            }
        }
    }
    assert_eq!(reference.len(), ours.len(), "every synthetic file has a reference row");
    assert!(failures.is_empty(), "{} values out of tolerance:\n{}", failures.len(), failures.join("\n"));
}

/// 50 files per corpus, spread evenly over each corpus's sorted file list.
fn corpus_sample() -> Vec<(PathBuf, String, [f64; N_FEATURES])> {
    let mut out = Vec::new();
    for corpus in ["emodb", "ravdess", "banglaser", "baved"] {
        let root = shared().join("corpora").join(corpus);
        let reference = read_csv(&root.join("egemaps_opensmile.csv"));
        let mut files: Vec<&String> = reference.keys().collect();
        files.sort();
        let step = files.len() / 50;
        for k in 0..50 {
            let f = files[k * step];
            out.push((root.join(f), format!("{corpus}/{f}"), reference[f]));
        }
    }
    out
}

#[test]
fn two_hundred_real_utterances_match_opensmile() {
    let sample = corpus_sample();
    assert_eq!(sample.len(), 200);
    let pairs: Vec<([f64; N_FEATURES], [f64; N_FEATURES])> = {
        use rayon::prelude::*;
        sample
            .par_iter()
            .map(|(p, name, r)| {
                let an = egemaps::extract_file(p, Rate::Native, false).unwrap_or_else(|e| panic!("{name}: {e}"));
                (an.functionals.0, *r)
            })
            .collect()
    };
    let table = compare(&pairs);
    let mut report = String::new();
    for f in &table {
        report += &format!("{:50} within {:6.1} %  r {:.6}\n", f.name, 100.0 * f.within_tolerance, f.pearson_r);
    }
    println!("{report}");
    for f in &table {
        assert!(f.pearson_r >= 0.999, "{}: Pearson r {:.6} < 0.999\n{report}", f.name, f.pearson_r);
        assert!(f.within_tolerance >= 0.99, "{}: only {:.1} % within tolerance\n{report}", f.name, 100.0 * f.within_tolerance);
    }
}
