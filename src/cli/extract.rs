//! `valar extract`: eGeMAPSv02 functionals (and LLDs) of a file or folder, as CSV.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::Progress;
use crate::egemaps::Rate;
use crate::jobs::CancelToken;
use crate::jobs::extract::{self, ExtractPlan};

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// An audio file or a folder (searched recursively).
    pub input: PathBuf,
    /// Output CSV: `file` then the 88 functionals.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the 25 LLDs per 10 ms frame to this CSV.
    #[arg(long)]
    pub lld: Option<PathBuf>,
    /// Parallel jobs (default: all cores).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Resample to valar's canonical 16 kHz first (default: the file's own rate, as openSMILE).
    #[arg(long)]
    pub canonical: bool,
    /// Keep the rows already in the output (and --lld) files and extract only the files they lack.
    #[arg(long)]
    pub resume: bool,
}

pub fn run(a: ExtractArgs) -> anyhow::Result<ExitCode> {
    let t0 = Instant::now();
    let plan = ExtractPlan {
        input: a.input,
        output: a.output,
        lld: a.lld,
        jobs: a.jobs,
        rate: if a.canonical { Rate::Canonical } else { Rate::Native },
        resume: a.resume,
    };
    let progress = Progress::new("extracting");
    let r = extract::run(&plan, &|e| progress.show(e), &CancelToken::new())?;
    progress.finish();
    let ok = r.files - r.failed;
    let wall = t0.elapsed().as_secs_f64();
    eprintln!(
        "{} file{} extracted ({:.1} s of audio in {:.2} s, {:.0}× real time){}",
        ok,
        if ok == 1 { "" } else { "s" },
        r.audio_s,
        wall,
        r.audio_s / wall.max(1e-9),
        if r.failed > 0 { format!(", {} failed", r.failed) } else { String::new() }
    );
    if r.kept > 0 {
        eprintln!("{} file{} kept from the earlier output", r.kept, if r.kept == 1 { "" } else { "s" });
    }
    Ok(if r.failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
