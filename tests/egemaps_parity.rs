//! valar's eGeMAPSv02 against openSMILE itself.
//!
//! (a) Synthetic signals with known structure at 8, 16, 22.05, 44.1 and 48 kHz, run through
//!     `../shared/tools/egemaps_ref.py` (the pinned `opensmile` package) in this test.
//! (b) 200 real utterances, 50 from each corpus in `../shared/corpora`, against the
//!     corpora's own `egemaps_opensmile.csv` (openSMILE's output for every file there).
//! (c) The same 200 utterances resampled with sox to 22.05, 24, 32, 44.1 and 48 kHz (and a
//!     quarter of them as two-channel files), against openSMILE run at each file's own rate:
//!     functionals and the 25 LLDs frame by frame. The audio and references are generated on the
//!     first run and cached outside the repository (`$VALAR_PARITY_CACHE`, else the system's
//!     temporary folder).
//! Tolerances are egemaps-spec §9.4's (`valar::egemaps::parity::tolerance`). Every one of the 88
//! functionals must agree on every synthetic file, and on ≥ 99 % of the real utterances with
//! Pearson r ≥ 0.999, at every rate — the 20 formant-dependent ones and HNR included, which
//! are chaotic (spec §8.2, §4.10) and agree only because the formant path and the 60 ms spectrum
//! repeat openSMILE's single-precision arithmetic (Ooura's FFT, forward and inverse, in f32).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use valar::audio::synth::{self, Pulses};
use valar::egemaps::parity::{compare, compare_lld, tolerance};
use valar::egemaps::{self, FEATURE_NAMES, LLD_NAMES, N_FEATURES, N_LLD, Rate};

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
            let an = egemaps::extract_file(&dir.path().join(&rel), Rate::Native, false, 1).unwrap();
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
                let an = egemaps::extract_file(p, Rate::Native, false, 1).unwrap_or_else(|e| panic!("{name}: {e}"));
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

/// Rates people's recordings come at, besides the 8 and 16 kHz the corpora cover. 11.025 kHz is
/// the one where 20 and 60 ms are not whole numbers of samples (220.5, 661.5), so openSMILE's
/// bin spacing is not `fs/Nfft` there.
const NATIVE_RATES: [u32; 6] = [11_025, 22_050, 24_000, 32_000, 44_100, 48_000];
/// Utterances per rate whose LLDs are compared frame by frame (openSMILE's LLD pass doubles its
/// cost), and every how many-th utterance is also tested as a two-channel file.
const LLD_FILES: usize = 40;
const STEREO_EVERY: usize = 4;

fn parity_cache() -> PathBuf {
    std::env::var_os("VALAR_PARITY_CACHE").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("valar-parity-v3"))
}

/// One rate's test set: `mono/NAME.wav` for all 200 utterances, `stereo/NAME.wav` (the utterance
/// in the first channel, the same time-reversed at 0.7 in the second) for every STEREO_EVERY-th, `lld/NAME.wav` for the first LLD_FILES; openSMILE's
/// `ref.csv` over mono and stereo and `lld.csv` over lld/. Built once, then reused.
fn resampled_set(rate: u32, sample: &[(PathBuf, String, [f64; N_FEATURES])]) -> PathBuf {
    let dir = parity_cache().join(rate.to_string());
    let stamp = dir.join("complete");
    if stamp.is_file() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["func/mono", "func/stereo", "lld"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let sox = |src: &Path, dst: &Path| {
        let st = Command::new("sox")
            // -R: sox's dither is seeded, so every machine builds the same set.
            .args(["-V1", "-R"])
            .arg(src)
            .args(["-b", "16", "-r", &rate.to_string()])
            .arg(dst)
            .status()
            .expect("sox is needed to resample the parity set (scripts/setup.sh installs it)");
        assert!(st.success(), "sox failed on {}", src.display());
    };
    for (k, (path, name, _)) in sample.iter().enumerate() {
        let file = format!("{}.wav", name.replace(['/', '\\'], "_").trim_end_matches(".flac"));
        sox(path, &dir.join("func/mono").join(&file));
        if k % STEREO_EVERY == 0 {
            // The first channel is the mono file's samples (sox would dither them anew); the
            // second differs in every frame, so a mean of the channels would change every feature.
            let mono = dir.join("func/mono").join(&file);
            let mut r = hound::WavReader::open(&mono).unwrap();
            let spec = hound::WavSpec { channels: 2, ..r.spec() };
            let first: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
            let mut w = hound::WavWriter::create(dir.join("func/stereo").join(&file), spec).unwrap();
            for (&a, &b) in first.iter().zip(first.iter().rev()) {
                w.write_sample(a).unwrap();
                w.write_sample((b as f64 * 0.7).round() as i16).unwrap();
            }
            w.finalize().unwrap();
        }
        if k % (sample.len() / LLD_FILES) == 0 {
            std::fs::copy(dir.join("func/mono").join(&file), dir.join("lld").join(&file)).unwrap();
        }
    }
    let script = shared().join("tools/egemaps_ref.py");
    let func = Command::new("python3").arg(&script).arg(dir.join("func")).arg(dir.join("ref.csv")).spawn();
    let lld = Command::new("python3")
        .arg(&script)
        .arg(dir.join("lld"))
        .arg(dir.join("lld-func.csv"))
        .arg("--lld")
        .arg(dir.join("lld.csv"))
        .spawn();
    for child in [func, lld] {
        let st = child.expect("python3 is needed for the openSMILE reference").wait().unwrap();
        assert!(st.success(), "egemaps_ref.py failed at {rate} Hz");
    }
    std::fs::write(&stamp, "").unwrap();
    dir
}

/// openSMILE's LLD CSV as rows per file.
fn read_lld_csv(path: &Path) -> HashMap<String, Vec<[f64; N_LLD]>> {
    let mut rdr = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let h = rdr.headers().unwrap().clone();
    let file = h.iter().position(|c| c == "file").unwrap();
    let cols: Vec<usize> = LLD_NAMES.iter().map(|n| h.iter().position(|c| c == *n).unwrap()).collect();
    let mut out: HashMap<String, Vec<[f64; N_LLD]>> = HashMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let mut v = [f64::NAN; N_LLD];
        for (i, &c) in cols.iter().enumerate() {
            v[i] = r.get(c).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
        }
        out.entry(r.get(file).unwrap().to_string()).or_default().push(v);
    }
    out
}

#[test]
fn native_rates_match_opensmile_on_real_speech() {
    use rayon::prelude::*;
    let sample = corpus_sample();
    // The rates' sets are built in parallel (sox and openSMILE are single-threaded).
    let dirs: Vec<PathBuf> = NATIVE_RATES.par_iter().map(|&rate| resampled_set(rate, &sample)).collect();
    let mut report = String::new();
    let mut failures = Vec::new();
    for (&rate, dir) in NATIVE_RATES.iter().zip(&dirs) {
        let reference = read_csv(&dir.join("ref.csv"));
        let mut names: Vec<&String> = reference.keys().collect();
        names.sort();
        let ours: Vec<(String, egemaps::Functionals)> = names
            .par_iter()
            .map(|rel| {
                let an =
                    egemaps::extract_file(&dir.join("func").join(rel), Rate::Native, false, 1).unwrap_or_else(|e| panic!("{rel}: {e}"));
                assert_eq!(an.sample_rate, rate, "{rel} is analysed at its own rate");
                (rel.to_string(), an.functionals)
            })
            .collect();
        let ours: HashMap<String, egemaps::Functionals> = ours.into_iter().collect();
        let mono_names: Vec<&String> = names.iter().copied().filter(|n| n.starts_with("mono/")).collect();
        let mono: Vec<_> = mono_names.iter().map(|n| (ours[n.as_str()].0, reference[n.as_str()])).collect();
        assert_eq!(mono.len(), 200, "{rate} Hz: one-channel files with a reference");
        for f in compare(&mono) {
            report += &format!("{rate} {:50} within {:6.1} %  r {:.6}\n", f.name, 100.0 * f.within_tolerance, f.pearson_r);
            if f.within_tolerance < 0.99 || f.pearson_r < 0.999 {
                failures.push(format!("{rate} Hz {}: {:.1} % within tolerance, r {:.6}", f.name, 100.0 * f.within_tolerance, f.pearson_r));
            }
        }
        // Two channels that differ: openSMILE (opensmile-python analyses channel 0) and valar
        // (which takes the first channel) must both give exactly the first channel's one-channel
        // numbers, so the two-channel files agree exactly as the one-channel ones do.
        let stereo: Vec<&&String> = names.iter().filter(|n| n.starts_with("stereo/")).collect();
        assert_eq!(stereo.len(), 200 / STEREO_EVERY, "{rate} Hz: two-channel files with a reference");
        for n in stereo {
            let mono = format!("mono/{}", &n["stereo/".len()..]);
            if ours[n.as_str()].0.map(f64::to_bits) != ours[&mono].0.map(f64::to_bits) {
                failures.push(format!("{rate} Hz {n}: valar's two-channel numbers differ from its one-channel ones"));
            }
            if reference[n.as_str()].map(f64::to_bits) != reference[&mono].map(f64::to_bits) {
                failures.push(format!("{rate} Hz {n}: openSMILE's two-channel numbers differ from its one-channel ones"));
            }
        }
        let lld_ref = read_lld_csv(&dir.join("lld.csv"));
        let mut lld_names: Vec<&String> = lld_ref.keys().collect();
        lld_names.sort();
        assert_eq!(lld_names.len(), LLD_FILES, "{rate} Hz: files with reference LLDs");
        let tables: Vec<_> = lld_names
            .par_iter()
            .map(|rel| {
                let an = egemaps::extract_file(&dir.join("lld").join(rel), Rate::Native, true, 1).unwrap_or_else(|e| panic!("{rel}: {e}"));
                (an.lld.expect("LLDs were asked for").rows, lld_ref[rel.as_str()].clone())
            })
            .collect();
        for l in compare_lld(&tables) {
            report += &format!(
                "{rate} LLD    {:50} within {:6.2} % of {} frames (needs {:.1} %)\n",
                l.name,
                100.0 * l.within_tolerance,
                l.frames,
                100.0 * l.required
            );
            if !l.passes() {
                failures.push(format!(
                    "{rate} Hz LLD {}: {:.2} % of frames within tolerance (needs {:.1} %), {} files with other row counts",
                    l.name,
                    100.0 * l.within_tolerance,
                    100.0 * l.required,
                    l.files_mismatched
                ));
            }
        }
    }
    println!("{report}");
    assert!(failures.is_empty(), "{}\n{report}", failures.join("\n"));
}
