//! Leave-one-speaker-out evaluation of the paper's conditions (Exp1/Exp2) on one in-context
//! corpus, and the joining of several such reports into one set of tables.

use std::path::PathBuf;

use super::{CancelToken, Event, JobError, ReportProblem, Sink, load_pool, write_json, write_text};
use crate::classify::experiment::{Condition, ExperimentConfig, OutOfContext, ResultRow, markdown_report, run_experiment};
use crate::classify::pipeline::LabelledSet;
use crate::corpus::FeatureCache;
use crate::model::{DeviceChoice, select_device};

/// An evaluation run.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatePlan {
    /// The in-context corpus (manifest CSV, emotion folders or feature bank).
    pub in_context: PathBuf,
    /// Out-of-context sets, each its own condition; each set pools its corpora.
    pub out_of_context: Vec<Vec<PathBuf>>,
    pub experiment: ExperimentConfig,
    pub device: DeviceChoice,
    pub cache_dir: PathBuf,
    /// The JSON report to write.
    pub report: PathBuf,
    /// Also write the Markdown tables here.
    pub markdown: Option<PathBuf>,
    /// How the run was started, for the report.
    pub command: String,
}

impl Default for EvaluatePlan {
    fn default() -> Self {
        Self {
            in_context: PathBuf::new(),
            out_of_context: Vec::new(),
            experiment: ExperimentConfig::default(),
            device: DeviceChoice::default(),
            cache_dir: FeatureCache::default_dir(),
            report: PathBuf::from("evaluation.json"),
            markdown: None,
            command: String::new(),
        }
    }
}

/// A finished evaluation.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub rows: Vec<ResultRow>,
    /// The paper-shaped tables and paired tests.
    pub markdown: String,
    pub seconds: f64,
}

pub fn run(plan: &EvaluatePlan, sink: &dyn Sink, cancel: &CancelToken) -> Result<Evaluated, JobError> {
    let t0 = std::time::Instant::now();
    let mut cache = FeatureCache::open(&plan.cache_dir);
    let inside = load_pool(std::slice::from_ref(&plan.in_context), &mut cache, sink, cancel, (0.0, 0.05))?;
    let mut outside = Vec::new();
    let wants_outside = plan.experiment.conditions.iter().any(|c| matches!(c, Condition::Enriched | Condition::Oracle));
    let default_bank;
    let sets: &[Vec<PathBuf>] = if plan.out_of_context.is_empty() && wants_outside {
        // Enrichment needs an out-of-context set: the bundled model's bank (the guard drops any
        // of its rows that share corpus and speaker with the in-context corpus).
        let bank = crate::classify::bundle::default_model_dir().join("out-of-context.csv");
        if !bank.is_file() {
            return Err(JobError::NoOutOfContext);
        }
        sink.event(Event::Notice(format!("out-of-context: the bundled bank {}", bank.display())));
        default_bank = vec![vec![bank]];
        &default_bank
    } else {
        &plan.out_of_context
    };
    for set in sets {
        outside.push(load_pool(set, &mut cache, sink, cancel, (0.05, 0.1))?);
    }
    let (device, device_name) = select_device(plan.device);
    let mut speakers = inside.speakers.clone();
    speakers.sort();
    speakers.dedup();
    sink.event(Event::Notice(format!("{}: {} samples, {} speakers; device: {device_name}", inside.name, inside.len(), speakers.len())));
    let ooc: Vec<OutOfContext<'_>> = outside.iter().map(|d| OutOfContext { name: d.name.clone(), set: LabelledSet::from(d) }).collect();
    let rows = run_experiment(&LabelledSet::from(&inside), &ooc, &plan.experiment, &device, &|p| {
        sink.event(Event::Step { done: p.done, total: p.total, what: p.what.clone() });
        !cancel.is_cancelled()
    })?;
    let seconds = t0.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "in_context": inside.name,
        "out_of_context": outside.iter().map(|o| o.name.clone()).collect::<Vec<_>>(),
        "device": device_name,
        "config": plan.experiment,
        "command": plan.command,
        "seconds": seconds,
        "rows": rows,
    });
    write_json(&plan.report, &report)?;
    let markdown = markdown_report(&rows);
    if let Some(p) = &plan.markdown {
        write_text(p, &markdown)?;
    }
    Ok(Evaluated { rows, markdown, seconds })
}

/// Joins the rows of several `evaluate` reports of one in-context corpus; a result present in
/// more than one (same task, condition, out-of-context set, D, samples and seed) is taken from
/// the first.
pub fn join_reports(paths: &[PathBuf]) -> Result<Vec<ResultRow>, JobError> {
    let mut rows: Vec<ResultRow> = Vec::new();
    let mut in_context: Option<String> = None;
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(JobError::io(path))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|source| JobError::Json { path: path.clone(), source })?;
        let name = v.get("in_context").and_then(|n| n.as_str()).map(str::to_string);
        match (&in_context, &name) {
            (Some(first), Some(this)) if first != this => {
                return Err(JobError::Report {
                    path: path.clone(),
                    problem: ReportProblem::OtherCorpus { found: this.clone(), first: first.clone() },
                });
            }
            (None, Some(_)) => in_context = name,
            _ => {}
        }
        let these: Vec<ResultRow> = serde_json::from_value(v.get("rows").cloned().unwrap_or_default())
            .map_err(|_| JobError::Report { path: path.clone(), problem: ReportProblem::NoRows })?;
        for r in these {
            let same = |o: &ResultRow| {
                (&o.task, o.condition, &o.out_of_context, o.dims, &o.samples, o.seed)
                    == (&r.task, r.condition, &r.out_of_context, r.dims, &r.samples, r.seed)
            };
            if !rows.iter().any(same) {
                rows.push(r);
            }
        }
    }
    Ok(rows)
}
