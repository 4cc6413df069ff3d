//! `valar extract`: eGeMAPSv02 functionals (and LLDs) of a file or folder, as CSV.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::{fmt_value, progress_bar, relative_name};
use crate::egemaps::{self, Analysis, FEATURE_NAMES, LLD_NAMES, Rate};
use crate::fsutil::csv_field;

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
}

/// Extracts every audio file under `input` in parallel; results in path order.
pub(crate) fn extract_all(
    input: &Path,
    jobs: Option<usize>,
    rate: Rate,
    with_lld: bool,
) -> anyhow::Result<Vec<(PathBuf, Result<Analysis, egemaps::ExtractError>)>> {
    anyhow::ensure!(input.exists(), "{}: no such file or folder", input.display());
    let files = crate::audio::find_audio_files(input).with_context(|| format!("reading {}", input.display()))?;
    let pb = progress_bar(files.len() as u64, "extracting");
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?;
    let results = pool.install(|| {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|f| {
                let r = egemaps::extract_file(f, rate, with_lld);
                if let Err(e) = &r {
                    pb.suspend(|| eprintln!("{e}"));
                }
                pb.inc(1);
                (f.clone(), r)
            })
            .collect::<Vec<_>>()
    });
    pb.finish_and_clear();
    Ok(results)
}

pub fn run(a: ExtractArgs) -> anyhow::Result<ExitCode> {
    let t0 = Instant::now();
    let rate = if a.canonical { Rate::Canonical } else { Rate::Native };
    let results = extract_all(&a.input, a.jobs, rate, a.lld.is_some())?;
    anyhow::ensure!(!results.is_empty(), "{}: no audio files found", a.input.display());
    let ok: Vec<(String, &Analysis)> =
        results.iter().filter_map(|(f, r)| r.as_ref().ok().map(|an| (relative_name(&a.input, f), an))).collect();
    let failed = results.len() - ok.len();

    crate::fsutil::write_atomic(&a.output, |w| {
        write!(w, "file")?;
        for n in FEATURE_NAMES {
            write!(w, ",{n}")?;
        }
        writeln!(w)?;
        for (name, an) in &ok {
            write!(w, "{}", csv_field(name))?;
            for v in an.functionals.values() {
                write!(w, ",{}", fmt_value(*v))?;
            }
            writeln!(w)?;
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", a.output.display()))?;

    if let Some(lld_path) = &a.lld {
        crate::fsutil::write_atomic(lld_path, |w| {
            write!(w, "file,start_s,end_s")?;
            for n in LLD_NAMES {
                write!(w, ",{n}")?;
            }
            writeln!(w)?;
            for (name, an) in &ok {
                let Some(t) = &an.lld else { continue };
                for (i, row) in t.rows.iter().enumerate() {
                    let (s, e) = t.row_time(i);
                    write!(w, "{},{},{}", csv_field(name), fmt_value(s), fmt_value(e))?;
                    for v in row {
                        write!(w, ",{}", fmt_value(*v))?;
                    }
                    writeln!(w)?;
                }
            }
            Ok(())
        })
        .with_context(|| format!("writing {}", lld_path.display()))?;
    }

    let audio_s: f64 = ok.iter().map(|(_, an)| an.duration_s).sum();
    let wall = t0.elapsed().as_secs_f64();
    eprintln!(
        "{} file{} extracted ({:.1} s of audio in {:.2} s, {:.0}× real time){}",
        ok.len(),
        if ok.len() == 1 { "" } else { "s" },
        audio_s,
        wall,
        audio_s / wall.max(1e-9),
        if failed > 0 { format!(", {failed} failed") } else { String::new() }
    );
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
