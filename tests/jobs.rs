//! The jobs layer driven directly, as the CLI and the app drive it: a training plan on a tiny
//! corpus (events, saved model, leave-one-speaker-out check), a cancelled one (a cancel is not
//! an error and leaves nothing behind), a live session fed by a file (estimates, calibration,
//! a streamed recording), and `valar live --file … --json` end to end.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod common;
use common::tiny_manifest;
use valar::classify::Normalization;
use valar::classify::bundle::Bundle;
use valar::jobs::label::LabelPlan;
use valar::jobs::live::{Calibration, LiveAnalyzer, LiveConfig, LivePlan, LiveSource};
use valar::jobs::train::{Recipe, TrainPlan};
use valar::jobs::{CancelToken, Event, JobError};
use valar::model::{AaeConfig, DeviceChoice, select_device};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tiny_plan(tmp: &Path) -> TrainPlan {
    let corpus = tmp.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    TrainPlan {
        in_context: vec![tiny_manifest(&corpus)],
        recipe: Recipe::Aae,
        aae: AaeConfig { dims: 4, hidden: 16, epochs: 3, ..AaeConfig::default() },
        device: DeviceChoice::Cpu,
        check: true,
        output: tmp.join("models/tiny"),
        cache_dir: tmp.join("cache"),
        command: "tests/jobs.rs".into(),
        ..TrainPlan::default()
    }
}

#[test]
fn a_training_plan_reports_its_epochs_saves_the_model_and_checks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tiny_plan(tmp.path());
    let events = Mutex::new(Vec::new());
    let trained = valar::jobs::train::run(&plan, &|e| events.lock().unwrap().push(e), &CancelToken::new()).expect("training");
    let events = events.into_inner().unwrap();
    let epochs: Vec<usize> =
        events.iter().filter_map(|e| if let Event::Epoch { losses, .. } = e { Some(losses.epoch) } else { None }).collect();
    assert_eq!(epochs.len(), 3, "one event per epoch of the single (plain AAE) stage: {epochs:?}");
    let fractions: Vec<f32> =
        events.iter().filter_map(|e| if let Event::Stage { fraction, .. } = e { Some(*fraction) } else { None }).collect();
    assert!(fractions.windows(2).all(|w| w[1] >= w[0] - 1e-6), "progress never goes back: {fractions:?}");
    assert!(fractions.iter().all(|f| (0.0..=1.0).contains(f)));

    assert_eq!(trained.path, tmp.path().join("models/tiny"));
    assert_eq!(trained.samples, 24);
    let check = trained.check.expect("the leave-one-speaker-out check ran");
    assert_eq!(check.iter().map(|l| l.task.as_str()).collect::<Vec<_>>(), ["activation", "valence"]);
    assert!(check.iter().all(|l| (0.0..=1.0).contains(&l.baseline_uar) && (0.0..=1.0).contains(&l.method_uar)));
    // Activation is loud and high-pitched by construction: the baseline separates it.
    assert!(check[0].baseline_uar > 0.9, "{check:?}");

    let (device, _) = select_device(DeviceChoice::Cpu);
    let bundle = Bundle::load(&trained.path, &device).expect("the saved model loads");
    assert_eq!(bundle.metadata.in_context, vec![("corpus".to_string(), 24)]);
    assert_eq!(bundle.metadata.command, "tests/jobs.rs");
    assert_eq!(bundle.representation.aae().map(|a| a.dims), Some(4));
}

#[test]
fn a_model_trained_per_speaker_asks_for_adapted_labelling_and_one_trained_per_corpus_does_not() {
    for normalization in [Normalization::PerCorpus, Normalization::PerSpeaker] {
        let tmp = tempfile::tempdir().unwrap();
        let plan = TrainPlan { recipe: Recipe::Features, normalization, check: false, ..tiny_plan(tmp.path()) };
        let trained = valar::jobs::train::run(&plan, &|_| {}, &CancelToken::new()).expect("training");
        let (device, _) = select_device(DeviceChoice::Cpu);
        assert_eq!(Bundle::load(&trained.path, &device).unwrap().predictor.normalization, normalization);
        let label = |adapt: bool| {
            let events = Mutex::new(Vec::new());
            let plan = LabelPlan {
                input: tmp.path().join("corpus"),
                output: tmp.path().join(format!("labels-{adapt}.csv")),
                model: trained.path.clone(),
                adapt,
                ..LabelPlan::default()
            };
            let r = valar::jobs::label::run(&plan, &|e| events.lock().unwrap().push(e), &CancelToken::new()).expect("labelling");
            let notices: Vec<String> =
                events.into_inner().unwrap().into_iter().filter_map(|e| if let Event::Notice(n) = e { Some(n) } else { None }).collect();
            (r, notices)
        };
        let (plain, notices) = label(false);
        assert_eq!(plain.files, 24);
        assert!(!plain.adapted);
        // A per-corpus model labels one recording by the average corpus's statistics.
        let asks =
            notices.iter().any(|n| n.contains(&format!("trained with {normalization} normalisation and is meant for adapted labelling")));
        assert_eq!(asks, normalization == Normalization::PerSpeaker, "{normalization}: {notices:?}");
        let (adapted, notices) = label(true);
        assert!(adapted.adapted, "24 files are enough to adapt");
        assert!(notices.iter().all(|n| !n.contains("meant for adapted labelling")), "{notices:?}");
    }
}

#[test]
fn degraded_copies_train_and_test_from_the_cache_and_a_bank_cannot_be_degraded() {
    use valar::classify::experiment::Condition;
    use valar::corpus::{FeatureCache, load_labelled_degraded};
    use valar::jobs::cross_corpus::{self, CrossCorpusPlan, DEGRADED_COPY};
    let tmp = tempfile::tempdir().unwrap();
    let plan = TrainPlan { recipe: Recipe::Features, degrade: 1.0, clip: Some(3.0), check: false, ..tiny_plan(tmp.path()) };
    let trained = valar::jobs::train::run(&plan, &|_| {}, &CancelToken::new()).expect("training on degraded copies");
    let (device, _) = select_device(DeviceChoice::Cpu);
    assert_eq!(Bundle::load(&trained.path, &device).unwrap().predictor.clip, Some(3.0));
    // Each recording's clean features and its copy's are cached (the tiny corpus holds 16
    // distinct recordings; equal files share both): loading again extracts nothing.
    let mut cache = FeatureCache::open(&plan.cache_dir);
    assert_eq!(cache.len(), 32);
    let d = load_labelled_degraded(&plan.in_context[0], &mut cache, DEGRADED_COPY, &|_, _| {}).unwrap();
    assert_eq!(cache.len(), 32);
    assert_eq!((d.rows.len(), d.degraded.len()), (24, 24));
    // Every copy went through another chain: no copy equals its recording's features.
    assert!(d.rows.iter().zip(&d.degraded).all(|(r, c)| r != c));
    let bank = tmp.path().join("bank.csv");
    d.to_bank().save(&bank).unwrap();
    let e = load_labelled_degraded(&bank, &mut cache, DEGRADED_COPY, &|_, _| {}).unwrap_err().to_string();
    assert!(e.contains("bank.csv") && e.contains("no audio to degrade"), "{e}");

    // Leave-one-corpus-out over two copies of the corpus scores each on its degraded copy too.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let cc = CrossCorpusPlan {
        corpora: vec![plan.in_context[0].clone(), tiny_manifest(&other)],
        conditions: vec![Condition::Baselinefs],
        degrade: 0.5,
        score_degraded: true,
        clip: Some(3.0),
        device: DeviceChoice::Cpu,
        cache_dir: plan.cache_dir.clone(),
        report: tmp.path().join("loco.json"),
        ..CrossCorpusPlan::default()
    };
    let r = cross_corpus::run(&cc, &|_| {}, &CancelToken::new()).expect("leave-one-corpus-out");
    assert_eq!(r.rows.len(), 4);
    assert!(r.rows.iter().all(|row| row.degraded_uar.is_some_and(|u| (0.0..=1.0).contains(&u))), "{:?}", r.rows);
    assert!(r.markdown.contains(" / degraded "), "{}", r.markdown);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cc.report).unwrap()).unwrap();
    assert_eq!((report["clip"].as_f64(), report["degrade"].as_f64()), (Some(3.0), Some(0.5)));
}

#[test]
fn a_model_whose_inner_cross_validation_had_nothing_to_choose_saves_and_loads() {
    // One C and no selection: the inner UAR is NaN, which JSON writes as null.
    let tmp = tempfile::tempdir().unwrap();
    let grid = valar::classify::Grid { select: false, cs: vec![0.01], ..Default::default() };
    let plan = TrainPlan { recipe: Recipe::Features, grid, check: false, ..tiny_plan(tmp.path()) };
    let trained = valar::jobs::train::run(&plan, &|_| {}, &CancelToken::new()).expect("training");
    let (device, _) = select_device(DeviceChoice::Cpu);
    let b = Bundle::load(&trained.path, &device).expect("it loads");
    assert!(b.predictor.tasks[0].inner_uar.is_nan());
    assert_eq!(b.predictor.tasks[0].selected.len(), 88, "every feature");
}

#[test]
fn a_cancelled_training_is_not_an_error_and_leaves_no_model() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = TrainPlan { aae: AaeConfig { epochs: 50, ..tiny_plan(tmp.path()).aae }, ..tiny_plan(tmp.path()) };
    let cancel = CancelToken::new();
    let epochs_seen = Mutex::new(0);
    let r = valar::jobs::train::run(
        &plan,
        &|e| {
            if let Event::Epoch { .. } = e {
                *epochs_seen.lock().unwrap() += 1;
                // Cancelled during the autoencoder's epochs, as a user would.
                cancel.cancel();
            }
        },
        &cancel,
    );
    let e = r.expect_err("cancelled");
    assert!(e.is_cancelled(), "{e:?}");
    assert!(matches!(e, JobError::Cancelled));
    assert_eq!(e.to_string(), "cancelled");
    assert!(*epochs_seen.lock().unwrap() < 50, "training stopped early");
    assert!(!plan.output.exists(), "nothing half-written");
}

#[test]
fn enrichment_without_out_of_context_data_is_refused_before_any_work() {
    let plan = TrainPlan { in_context: vec![PathBuf::from("no/such/manifest.csv")], recipe: Recipe::Enriched, ..TrainPlan::default() };
    let e = valar::jobs::train::run(&plan, &valar::jobs::ignore, &CancelToken::new()).unwrap_err();
    assert!(matches!(e, JobError::NoOutOfContext), "{e:?}");
}

fn bundled() -> Arc<valar::classify::pipeline::Predictor> {
    let (device, _) = select_device(DeviceChoice::Cpu);
    Arc::new(Bundle::load(&root().join("models/default"), &device).unwrap().predictor)
}

#[test]
fn the_live_analyzer_yields_estimates_every_hop_and_calibrates_on_speech() {
    let (audio, _) = valar::audio::decode_file(&root().join("assets/demo-excited.wav")).unwrap();
    assert_eq!(audio.sample_rate, 16_000);
    let config = LiveConfig { window_s: 3.0, update_s: 0.5, calibration_s: 1.0 };
    assert_eq!(config.calibration_windows(), 2);
    let mut a = LiveAnalyzer::new(bundled(), config).unwrap();
    a.start_calibration();
    assert_eq!(a.calibration(), Calibration::Collecting { have: 0, need: 2 });
    let mut estimates = Vec::new();
    for block in audio.samples.chunks(320) {
        estimates.extend(a.push(block, Instant::now()));
    }
    // 4.30 s of audio: the first window ends after 1 s, then one every 0.5 s while whole frames
    // complete (the last frame needs 60 ms of audio).
    let times: Vec<f64> = estimates.iter().map(|e| e.t_s).collect();
    assert_eq!(times.first().copied(), Some(1.0), "{times:?}");
    assert!(times.windows(2).all(|w| (w[1] - w[0] - 0.5).abs() < 1e-9), "{times:?}");
    assert_eq!(times.len(), 7, "{times:?}");
    assert!(estimates.iter().filter(|e| e.speech).count() >= 2, "the demo clip is speech-like");
    for e in &estimates {
        assert_eq!(e.prediction.is_some(), e.speech, "only speech is classified");
        assert!((0.0..=1.0).contains(&e.voiced_ratio));
        assert!(e.latency_ms >= 0.0);
    }
    assert_eq!(a.calibration(), Calibration::Calibrated { windows: 2 });
    a.reset_calibration();
    assert_eq!(a.calibration(), Calibration::Off);
}

#[test]
fn a_live_session_fed_by_a_file_yields_estimates_and_streams_its_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("session");
    let plan = LivePlan {
        source: LiveSource::File(root().join("assets/demo-excited.wav")),
        record: Some(base.clone()),
        calibrate_at_start: true,
        config: LiveConfig { calibration_s: 1.0, ..LiveConfig::default() },
    };
    let estimates = Mutex::new(Vec::new());
    let calibrations = Mutex::new(Vec::new());
    let sink = |e: Event| match e {
        Event::Estimate(e) => estimates.lock().unwrap().push(e),
        Event::Calibration(c) => calibrations.lock().unwrap().push(c),
        _ => {}
    };
    let summary = valar::jobs::live::run(&plan, bundled(), &sink, &CancelToken::new(), &crossbeam_channel::never()).expect("session");
    let estimates = estimates.into_inner().unwrap();
    assert_eq!(summary.estimates, estimates.len());
    assert_eq!(estimates.len(), 7);
    assert!((summary.audio_s - 4.304).abs() < 0.03, "{}", summary.audio_s);
    let calibrations = calibrations.into_inner().unwrap();
    assert_eq!(calibrations.first(), Some(&Calibration::Collecting { have: 0, need: 2 }));
    assert_eq!(calibrations.last(), Some(&Calibration::Calibrated { windows: 2 }));

    let (wav, csv) = summary.recording.expect("recorded");
    assert_eq!((wav.clone(), csv.clone()), (base.with_extension("wav"), base.with_extension("csv")));
    assert!(!tmp.path().join("session.wav.part").exists() && !tmp.path().join("session.csv.part").exists());
    let (rec, _) = valar::audio::decode_file(&wav).unwrap();
    let (orig, _) = valar::audio::decode_file(&root().join("assets/demo-excited.wav")).unwrap();
    assert_eq!(rec.samples.len(), orig.samples.len(), "every sample heard is recorded");
    assert!(rec.samples.iter().zip(&orig.samples).all(|(a, b)| (a - b).abs() < 1e-6), "16-bit round trip is exact");
    let text = std::fs::read_to_string(&csv).unwrap();
    let speech = estimates.iter().filter(|e| e.speech).count();
    assert_eq!(text.lines().count(), 1 + speech, "{text}");
    assert!(text.starts_with("t_s,activation,activation_score,valence,valence_score,voiced_ratio\n"));
}

#[test]
fn valar_live_prints_json_lines_until_the_file_ends() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_valar"))
        .args(["live", "--file", "assets/demo-excited.wav", "--json"])
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 7, "{lines:?}");
    let t: Vec<f64> = lines.iter().map(|l| l["t_s"].as_f64().unwrap()).collect();
    assert_eq!(t, [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]);
    for l in &lines {
        let speech = l["speech"].as_bool().unwrap();
        assert_eq!(l["activation"].is_string(), speech, "{l}");
        if speech {
            assert!(["high", "low"].contains(&l["activation"].as_str().unwrap()));
            assert!(["positive", "negative"].contains(&l["valence"].as_str().unwrap()));
            assert!((0.0..=1.0).contains(&l["activation_score"].as_f64().unwrap()));
        }
        assert!(l["latency_ms"].as_f64().unwrap() >= 0.0);
    }
    assert!(stderr.contains("7 estimates"), "{stderr}");
}

#[test]
fn an_unknown_condition_is_an_error_listing_the_valid_ones() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_valar"))
        .args(["evaluate", "--in-context", "x.csv", "--report", "r.json", "--conditions", "baselinefs,enrichd"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown condition 'enrichd' (valid: baseline, baselinefs, aae, enriched, oracle)"), "{stderr}");
}

#[test]
fn ctrl_c_stops_valar_live_cleanly_and_finishes_the_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("take");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_valar"))
        .args(["live", "--file", "assets/demo-calm.wav", "--json", "--record"])
        .arg(&base)
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The 6.1 s clip plays in real time: interrupt it after about 2.5 s.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("session saved to"), "{stderr}");
    let (rec, _) = valar::audio::decode_file(&base.with_extension("wav")).expect("a complete WAV");
    let secs = rec.samples.len() as f64 / 16_000.0;
    assert!((1.5..5.5).contains(&secs), "recorded {secs} s of a 6.1 s clip stopped after 2.5 s");
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!((1..11).contains(&lines), "{lines} estimates before the stop");
    assert!(!tmp.path().join("take.wav.part").exists());
}

/// Calibration within a corpus trains both classifiers in every fold: a corpus without valence
/// labels (as BAVED) is skipped with its reason instead of failing the whole measurement, and
/// a corpus with both is measured (each speaker's "neutral" utterances calibrate the rest).
#[test]
fn calibration_skips_a_corpus_without_valence_and_measures_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let both = tmp.path().join("both");
    std::fs::create_dir_all(&both).unwrap();
    let manifest = tiny_manifest(&both);
    // Every speaker's low-activation, non-positive utterances are their calm ones.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut lines = text.lines();
    let mut with_emotions = format!("{}\n", lines.next().unwrap());
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let emotion = if f[4] == "-1" && f[5] == "-1" { "neutral" } else { "other" };
        with_emotions += &format!("{},{},,{emotion},{},{}\n", f[0], f[1], f[4], f[5]);
    }
    std::fs::write(&manifest, &with_emotions).unwrap();
    let no_valence = tmp.path().join("no-valence");
    std::fs::create_dir_all(&no_valence).unwrap();
    for l in with_emotions.lines().skip(1) {
        let name = l.split(',').next().unwrap();
        std::fs::copy(both.join(name), no_valence.join(name)).unwrap();
    }
    let stripped: String = with_emotions
        .lines()
        .map(|l| if l.starts_with("path") { format!("{l}\n") } else { format!("{},\n", l.rsplit_once(',').unwrap().0) })
        .collect();
    std::fs::write(no_valence.join("manifest.csv"), stripped).unwrap();

    let plan = valar::jobs::calibration::CalibrationPlan {
        corpora: vec![no_valence.join("manifest.csv"), manifest],
        device: DeviceChoice::Cpu,
        cache_dir: tmp.path().join("cache"),
        report: tmp.path().join("calibration.json"),
        ..Default::default()
    };
    let events = Mutex::new(Vec::new());
    let measured = valar::jobs::calibration::run(&plan, &|e| events.lock().unwrap().push(e), &CancelToken::new()).expect("calibration");
    let steps: Vec<String> =
        events.into_inner().unwrap().into_iter().filter_map(|e| if let Event::Step { what, .. } = e { Some(what) } else { None }).collect();
    assert_eq!(steps, ["leave-one-speaker-out: no-valence skipped (no valence labels)", "leave-one-speaker-out: both"]);
    assert!(measured.rows.iter().all(|r| r.corpus == "both"), "{:?}", measured.rows);
    // Four speakers, each with calm utterances: both tasks, four methods.
    assert_eq!(measured.rows.len(), 8, "{:?}", measured.rows);
    assert!(measured.rows.iter().all(|r| r.speakers == 4 && (0.0..=1.0).contains(&r.uar)));
}

/// A corpus labelled for activation only (as BAVED is): `evaluate` scores the task it has
/// labels for, and `train` refuses it up front, naming the corpus and the missing task.
#[test]
fn a_corpus_without_valence_is_evaluated_for_activation_and_refused_for_a_model() {
    use valar::classify::experiment::{Condition, ExperimentConfig};
    use valar::jobs::evaluate::{self, EvaluatePlan};
    let tmp = tempfile::tempdir().unwrap();
    let plan = tiny_plan(tmp.path());
    // The same recordings with their valence labels removed.
    let manifest = &plan.in_context[0];
    let text = std::fs::read_to_string(manifest).unwrap();
    let no_valence: String = text.lines().map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string() + ",\n").collect();
    std::fs::write(manifest, no_valence.replacen("activation,\n", "activation,valence\n", 1)).unwrap();
    let epochs = Mutex::new(0);
    let sink = |e: Event| {
        if matches!(e, Event::Epoch { .. }) {
            *epochs.lock().unwrap() += 1;
        }
    };
    let err = valar::jobs::train::run(&plan, &sink, &CancelToken::new()).expect_err("a model needs both tasks");
    assert!(matches!(err, JobError::MissingTask { task: "valence", .. }), "{err}");
    assert!(err.to_string().contains("no recording of corpus has a valence label"), "{err}");
    assert_eq!(*epochs.lock().unwrap(), 0, "refused before any training");
    assert!(!plan.output.exists());
    let eval = EvaluatePlan {
        in_context: manifest.clone(),
        experiment: ExperimentConfig { seeds: 1, conditions: vec![Condition::Baselinefs], ..ExperimentConfig::default() },
        device: DeviceChoice::Cpu,
        cache_dir: plan.cache_dir.clone(),
        report: tmp.path().join("report.json"),
        ..EvaluatePlan::default()
    };
    let done = evaluate::run(&eval, &|_| {}, &CancelToken::new()).expect("evaluated for activation");
    assert_eq!(done.rows.iter().map(|r| r.task.as_str()).collect::<Vec<_>>(), ["activation"]);
    // Activation is loud and high-pitched by construction.
    assert!(done.rows[0].uar > 0.9, "{:?}", done.rows[0].uar);
}
