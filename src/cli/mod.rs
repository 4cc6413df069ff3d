//! The command line. Each subcommand is a thin layer over the library; errors become one
//! readable line per problem on stderr and a non-zero exit code.

mod extract;
mod label;
mod parity;
mod record;
mod train;

pub use train::now_iso;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Train a model (enriched conditional AAE + SVMs) on labelled corpora.
    Train(train::TrainArgs),
    /// Leave-one-speaker-out evaluation of the paper's conditions (Exp1/Exp2).
    Evaluate(train::EvaluateArgs),
    /// Leave-one-corpus-out evaluation: train on all corpora but one, test on it, in turn.
    CrossCorpus(train::CrossCorpusArgs),
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
        Some(Command::Train(a)) => train::train(a),
        Some(Command::Evaluate(a)) => train::evaluate(a),
        Some(Command::CrossCorpus(a)) => train::cross_corpus(a),
        Some(Command::Report(a)) => train::report(a),
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

/// Path of `file` relative to the folder of `input` (or to `input` itself when it is a
/// folder), with `/` separators — exactly what `egemaps_ref.py` writes, so CSVs join on it.
pub(crate) fn relative_name(input: &std::path::Path, file: &std::path::Path) -> String {
    let base = if input.is_dir() { input.to_path_buf() } else { input.parent().map(|p| p.to_path_buf()).unwrap_or_default() };
    let rel = file.strip_prefix(&base).unwrap_or(file);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// A progress bar on a terminal, nothing otherwise.
pub(crate) fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Formats a float for CSV: shortest round-trip form; NaN as empty (as pandas writes it).
pub(crate) fn fmt_value(v: f64) -> String {
    if v.is_nan() { String::new() } else { format!("{v}") }
}

/// A compact local timestamp for file names (UTC, e.g. `20261129-231500`).
pub(crate) fn timestamp_for_file() -> String {
    train::now_iso().replace(['-', ':'], "").replace('T', "-").trim_end_matches('Z').to_string()
}
