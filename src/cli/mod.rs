//! The command line: clap arguments become the library's job plans, job events become
//! progress bars (on a terminal) or log lines, and errors become one readable line per
//! problem on stderr and a non-zero exit code.

mod extract;
mod label;
mod live;
mod parity;
mod record;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::jobs::Event;

#[derive(Parser, Debug)]
#[command(name = "valar", version, about = "Hears how a voice feels: activation and valence from speech.")]
#[command(long_about = "Hears how a voice feels: activation (calm ↔ aroused) and valence (negative ↔ positive) \
from speech.\n\nRun without arguments to open the app.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List audio input devices (id and description).
    Devices,
    /// Record the microphone to a 16 kHz mono WAV file.
    Record {
        /// Seconds to record.
        #[arg(short, long)]
        duration: f64,
        /// Output WAV file.
        #[arg(short, long)]
        output: PathBuf,
        /// Input device id (see `valar devices`); the default input if omitted.
        #[arg(long)]
        device: Option<String>,
    },
    /// Show format, sample rate, channels and duration of audio files.
    Info {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Extract the 88 eGeMAPSv02 functionals (and optionally the 25 LLDs) of a file or folder.
    Extract(extract::ExtractArgs),
    /// Activation and valence of every recording under a file or folder, as CSV.
    Label(label::LabelArgs),
    /// Activation and valence of a microphone (or a file played as one), live: one line per
    /// estimate until the file ends or Ctrl-C.
    Live(live::LiveArgs),
    /// Train a model (enriched conditional AAE + SVMs) on labelled corpora.
    Train(train::TrainArgs),
    /// Leave-one-speaker-out evaluation of the paper's conditions (Exp1/Exp2).
    Evaluate(train::EvaluateArgs),
    /// Leave-one-corpus-out evaluation: train on all corpora but one, test on it, in turn.
    CrossCorpus(train::CrossCorpusArgs),
    /// Calibration to a speaker, measured: each test speaker's calm utterances calibrate the
    /// classification of their others (leave-one-speaker-out; `--across`: leave-one-corpus-out).
    Calibration(train::CalibrationArgs),
    /// Combine the JSON reports of several `evaluate` runs into one set of tables.
    Report(train::ReportArgs),
    /// Compare valar's eGeMAPS with openSMILE's on a folder: per-feature errors and pass rates.
    Parity(parity::ParityArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => crate::app::run(),
        Some(Command::Devices) => record::devices(),
        Some(Command::Record { duration, output, device }) => record::record(duration, &output, device.as_deref()),
        Some(Command::Info { files }) => record::info(&files),
        Some(Command::Extract(a)) => extract::run(a),
        Some(Command::Label(a)) => label::run(a),
        Some(Command::Live(a)) => live::run(a),
        Some(Command::Train(a)) => train::train(a),
        Some(Command::Evaluate(a)) => train::evaluate(a),
        Some(Command::CrossCorpus(a)) => train::cross_corpus(a),
        Some(Command::Report(a)) => train::report(a),
        Some(Command::Calibration(a)) => train::calibration(a),
        Some(Command::Parity(a)) => parity::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("valar: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A job's events on stderr: a progress bar on a terminal; otherwise (logs, CI) one line per
/// finished step, skipped file, failed file and notice.
pub(crate) struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    pub(crate) fn new(what: &str) -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return Self { bar: indicatif::ProgressBar::hidden() };
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        Self { bar }
    }

    fn line(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }

    pub(crate) fn show(&self, e: Event) {
        let hidden = self.bar.is_hidden();
        match e {
            Event::Stage { name, fraction } => {
                self.bar.set_length(1000);
                self.bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
                self.bar.set_message(name);
            }
            Event::Epoch { stage, losses: l, epochs } => {
                self.bar.set_message(format!("{stage}: rec {:.3} adv {:.3} per {:.3}", l.rec, l.adv, l.per));
                self.bar.set_length(epochs as u64);
                self.bar.set_position(l.epoch as u64);
            }
            Event::Step { done, total, what } => {
                self.bar.set_length(total as u64);
                self.bar.set_position(done as u64);
                self.bar.set_message(what.clone());
                if hidden {
                    eprintln!("[{done}/{total}] {what}");
                }
            }
            Event::FileDone { done, total, error, .. } => {
                self.bar.set_length(total as u64);
                self.bar.set_position(done as u64);
                if let Some(e) = error {
                    self.line(&e);
                }
            }
            Event::Skipped(s) => self.line(&format!("skipped: {s}")),
            Event::Notice(s) => self.line(&s),
            Event::Labelled { .. } | Event::Level(_) | Event::Estimate(_) | Event::Calibration(_) => {}
        }
    }

    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
