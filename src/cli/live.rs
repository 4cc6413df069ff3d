//! `valar live`: a microphone (or a file played as one) analysed live, one line per estimate
//! on stdout (JSON lines with `--json`), until the file ends or Ctrl-C, which stops cleanly and
//! finishes the recording — so another program can consume valar's estimates.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::classify::bundle::{Bundle, default_model_dir};
use crate::jobs::live::{self, Calibration, LiveConfig, LivePlan, LiveSource};
use crate::jobs::{CancelToken, Event};
use crate::model::{DeviceChoice, select_device};

#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Input device id (see `valar devices`); the default input if neither this nor --file.
    #[arg(long, conflicts_with = "file")]
    pub device: Option<String>,
    /// Play this file in real time as the microphone.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Seconds of audio each estimate describes.
    #[arg(long, default_value_t = LiveConfig::default().window_s)]
    pub window: f64,
    /// Seconds between estimates.
    #[arg(long, default_value_t = LiveConfig::default().update_s)]
    pub every: f64,
    /// Calibrate to the speaker on the first S seconds of speech.
    #[arg(long, value_name = "S")]
    pub calibrate: Option<f64>,
    /// Record the session to BASE.wav and BASE.csv.
    #[arg(long, value_name = "BASE")]
    pub record: Option<PathBuf>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Model folder (default: the bundled models/default).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

pub fn run(a: LiveArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.window.is_finite() && (0.1..=60.0).contains(&a.window), "--window must be 0.1–60 seconds");
    anyhow::ensure!(a.every.is_finite() && (0.01..=60.0).contains(&a.every), "--every must be 0.01–60 seconds");
    if let Some(s) = a.calibrate {
        anyhow::ensure!(s.is_finite() && s > 0.0, "--calibrate must be a positive number of seconds");
    }
    let (device, _) = select_device(DeviceChoice::Cpu);
    let bundle = Bundle::load(&a.model.clone().unwrap_or_else(default_model_dir), &device)?;
    let plan = LivePlan {
        source: match a.file {
            Some(f) => LiveSource::File(f),
            None => LiveSource::Microphone(a.device),
        },
        config: LiveConfig {
            window_s: a.window,
            update_s: a.every,
            calibration_s: a.calibrate.unwrap_or(LiveConfig::default().calibration_s),
        },
        record: a.record,
        calibrate_at_start: a.calibrate.is_some(),
    };
    let cancel = CancelToken::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, cancel.flag())?;
    }
    let json = a.json;
    let out = std::sync::Mutex::new(std::io::stdout());
    let sink = |e: Event| match e {
        Event::Estimate(e) => {
            let line = if json { e.to_json().to_string() } else { e.to_line() };
            if let Ok(mut o) = out.lock() {
                // A closed pipe (the consumer went away) is not worth a panic.
                let _ = writeln!(o, "{line}").and_then(|_| o.flush());
            }
        }
        Event::Calibration(Calibration::Calibrated { windows }) => eprintln!("calibrated on {windows} windows of speech"),
        Event::Notice(t) => eprintln!("{t}"),
        _ => {}
    };
    let summary = live::run(&plan, Arc::new(bundle.predictor), &sink, &cancel, &crossbeam_channel::never())?;
    eprintln!("{} estimates over {:.1} s of audio", summary.estimates, summary.audio_s);
    Ok(ExitCode::SUCCESS)
}
