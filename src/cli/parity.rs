//! `valar parity`: how close valar's eGeMAPS is to openSMILE's on a folder of audio.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::Progress;
use crate::egemaps::parity::{FeatureParity, compare};
use crate::egemaps::{FEATURE_NAMES, N_FEATURES, Rate};
use crate::jobs::extract::extract_files;
use crate::jobs::{CancelToken, relative_name};

#[derive(Args, Debug)]
pub struct ParityArgs {
    /// Audio file or folder.
    pub input: PathBuf,
    /// openSMILE's functionals for the same files (`egemaps_ref.py` output, or a corpus's
    /// `egemaps_opensmile.csv`), joined on the `file` column.
    #[arg(long)]
    pub reference: PathBuf,
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Also write the table (Markdown) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// Reads a CSV with `file` and the 88 functionals (any column order, extra columns ignored).
pub(crate) fn read_reference(path: &std::path::Path) -> anyhow::Result<HashMap<String, [f64; N_FEATURES]>> {
    let mut rdr = csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = rdr.headers()?.clone();
    let file_col = headers.iter().position(|h| h == "file").with_context(|| format!("{}: no `file` column", path.display()))?;
    let cols: Vec<usize> = FEATURE_NAMES
        .iter()
        .map(|n| headers.iter().position(|h| h == *n).with_context(|| format!("{}: missing column {n}", path.display())))
        .collect::<anyhow::Result<_>>()?;
    let mut out = HashMap::new();
    for (line, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: row {}", path.display(), line + 2))?;
        let mut v = [f64::NAN; N_FEATURES];
        for (i, &c) in cols.iter().enumerate() {
            v[i] = rec.get(c).and_then(|s| s.trim().parse().ok()).unwrap_or(f64::NAN);
        }
        out.insert(rec.get(file_col).unwrap_or_default().to_string(), v);
    }
    Ok(out)
}

pub fn run(a: ParityArgs) -> anyhow::Result<ExitCode> {
    let reference = read_reference(&a.reference)?;
    let progress = Progress::new("extracting");
    let results = extract_files(&a.input, a.jobs, Rate::Native, false, &|e| progress.show(e), &CancelToken::new())?;
    progress.finish();
    let mut pairs = Vec::new();
    let mut missing = 0;
    for (f, r) in &results {
        let Ok(an) = r else { continue };
        match reference.get(&relative_name(&a.input, f)) {
            Some(refv) => pairs.push((*an.functionals.values(), *refv)),
            None => missing += 1,
        }
    }
    anyhow::ensure!(!pairs.is_empty(), "no file of {} appears in {}", a.input.display(), a.reference.display());
    let table = compare(&pairs);
    let text = render(&table, pairs.len());
    print!("{text}");
    if missing > 0 {
        eprintln!("{missing} extracted files have no reference row");
    }
    if let Some(p) = &a.report {
        crate::fsutil::write_atomic(p, |w| w.write_all(text.as_bytes())).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn render(table: &[FeatureParity], files: usize) -> String {
    let mut s =
        "| feature | median abs err | max abs err | median rel err | within tol. | Pearson r |\n|---|---|---|---|---|---|\n".to_string();
    for f in table {
        s += &format!(
            "| {} | {:.3e} | {:.3e} | {:.2e} | {:.1} % | {:.6} |\n",
            f.name,
            f.median_abs_err,
            f.max_abs_err,
            f.median_rel_err,
            100.0 * f.within_tolerance,
            f.pearson_r
        );
    }
    let ok99 = table.iter().filter(|f| f.within_tolerance >= 0.99).count();
    let r999 = table.iter().filter(|f| f.pearson_r >= 0.999).count();
    let worst = table.iter().map(|f| f.within_tolerance).fold(f64::INFINITY, f64::min);
    s += &format!(
        "\n{files} files: {ok99}/88 features within tolerance on ≥ 99 % of files, {r999}/88 with r ≥ 0.999; lowest pass rate {:.1} %\n",
        100.0 * worst
    );
    s
}
