//! The paper's experiments under leave-one-speaker-out: baseline, baselinefs, AAE and the
//! enriched AAE per out-of-context set and code size, for activation and valence, on full or
//! speaker-stratified reduced training data (Exp1 and Exp2). Every fitted part — normaliser,
//! autoencoders, selection, SVM — is trained inside the fold on that fold's training data.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::pipeline::{
    Diagnostics, LabelledSet, PipelineConfig, PipelineError, Representation, TASKS, guard_out_of_context, train_ensemble, train_predictor,
};
use super::{Adaptation, Confusion, Grid, InputFeatures, Normalization, loso_folds, normalize_per_group, paired_permutation_p};
use crate::model::{AaeConfig, EpochLosses, Rng};

/// The paper's experimental conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// SVM on all 88 functionals.
    Baseline,
    /// ANOVA-F selection + SVM on the 88 functionals.
    Baselinefs,
    /// The conditional AAE's code.
    Aae,
    /// The code of the AAE enriched with out-of-context neighbour labels.
    Enriched,
    /// The enriched AAE with each sample's own labels as targets: the ceiling of any
    /// neighbour search (a diagnostic, not a deployable method).
    Oracle,
}

impl crate::choice::Choice for Condition {
    const WHAT: &'static str = "condition";
    const ALL: &'static [(&'static str, Self)] = &[
        ("baseline", Self::Baseline),
        ("baselinefs", Self::Baselinefs),
        ("aae", Self::Aae),
        ("enriched", Self::Enriched),
        ("oracle", Self::Oracle),
    ];
}
crate::choice_traits!(Condition);

impl Condition {
    /// The representation this condition trains (AAE conditions with `aae`).
    pub fn representation(self, aae: &AaeConfig) -> Representation {
        match self {
            Condition::Baseline | Condition::Baselinefs => Representation::Features,
            Condition::Aae => Representation::Aae(aae.clone()),
            Condition::Enriched => Representation::Enriched(aae.clone()),
            Condition::Oracle => Representation::Enriched(AaeConfig { oracle: true, ..aae.clone() }),
        }
    }
}

/// Label-free standardisation of `rows` before any fitting: none (global), per speaker (of
/// each corpus) or per corpus, each group by its own statistics.
pub fn normalize(rows: &[Vec<f64>], speakers: &[String], corpora: &[String], mode: Normalization) -> Vec<Vec<f64>> {
    match mode {
        Normalization::Global => rows.to_vec(),
        Normalization::PerCorpus => normalize_per_group(rows, corpora),
        Normalization::PerSpeaker => normalize_per_group(rows, &super::pipeline::speaker_keys(speakers, corpora)),
    }
}

/// An out-of-context set by name.
pub struct OutOfContext<'a> {
    pub name: String,
    pub set: LabelledSet<'a>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    pub dims: Vec<usize>,
    /// Training-set sizes per fold; None = all (the paper's "full").
    pub samples: Vec<Option<usize>>,
    pub seeds: usize,
    /// First seed; seeds run from here, so a run can be split or extended without repeating one.
    pub first_seed: u64,
    pub aae: AaeConfig,
    pub grid: Grid,
    pub normalization: Normalization,
    /// The functionals the models read, before anything standardises them.
    pub input: InputFeatures,
    /// Which conditions to run.
    pub conditions: Vec<Condition>,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        Self {
            dims: vec![64],
            samples: vec![None],
            seeds: 3,
            first_seed: 0,
            aae: AaeConfig::default(),
            grid: Grid::default(),
            normalization: Normalization::PerSpeaker,
            input: InputFeatures::All,
            conditions: vec![Condition::Baseline, Condition::Baselinefs, Condition::Aae, Condition::Enriched],
        }
    }
}

/// One result row of the report (the JSON schema of `valar evaluate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    pub task: String,
    pub condition: Condition,
    pub out_of_context: Option<String>,
    pub dims: Option<usize>,
    /// "full" or the number of training samples per fold.
    pub samples: Samples,
    pub seed: u64,
    /// UAR of the confusion matrix pooled over all folds.
    pub uar: f64,
    /// Median number of selected dimensions over folds (the paper's Ds).
    pub ds: usize,
    pub confusion: Confusion,
    /// UAR of each fold (test speaker order), for paired tests.
    pub fold_uar: Vec<f64>,
    /// Mean over folds of the enrichment targets' agreement with the samples' own labels
    /// (UAR of their signs), for this row's task.
    #[serde(default)]
    pub neighbour_uar: Option<f64>,
    /// Mean over folds of the final autoencoder's last-epoch losses.
    #[serde(default)]
    pub final_losses: Option<EpochLosses>,
    /// Mean over folds of the training codes' distance to N(0, I) (Σ mean² + (std − 1)²).
    #[serde(default)]
    pub prior_distance: Option<f64>,
    /// Out-of-context rows dropped because they share corpus and speaker with, or equal, an
    /// in-context row.
    #[serde(default)]
    pub out_of_context_dropped: usize,
}

/// Training-set size of a result: the JSON value `"full"` or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Samples {
    Full(String),
    Count(usize),
}

impl std::fmt::Display for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Samples::Full(s) => write!(f, "{s}"),
            Samples::Count(n) => write!(f, "{n}"),
        }
    }
}

/// One arm of an experiment: a condition with its code size and out-of-context set.
#[derive(Debug, Clone)]
struct Arm {
    condition: Condition,
    out_of_context: Option<usize>,
    representation: Representation,
    select: bool,
}

fn arms(cfg: &ExperimentConfig, n_ooc: usize, seed: u64) -> Vec<Arm> {
    let want = |c: Condition| cfg.conditions.contains(&c);
    let mut out = Vec::new();
    for (c, select) in [(Condition::Baseline, false), (Condition::Baselinefs, true)] {
        if want(c) {
            out.push(Arm { condition: c, out_of_context: None, representation: Representation::Features, select });
        }
    }
    for &d in &cfg.dims {
        let a = AaeConfig { dims: d, seed, ..cfg.aae.clone() };
        for c in [Condition::Aae, Condition::Oracle] {
            if want(c) {
                out.push(Arm { condition: c, out_of_context: None, representation: c.representation(&a), select: true });
            }
        }
        if want(Condition::Enriched) {
            for o in 0..n_ooc {
                out.push(Arm {
                    condition: Condition::Enriched,
                    out_of_context: Some(o),
                    representation: Condition::Enriched.representation(&a),
                    select: true,
                });
            }
        }
    }
    out
}

/// Speaker-stratified random subset of `idx` of size `n` (proportional per speaker, at least
/// one sample per speaker while the budget allows).
pub fn stratified_subset(idx: &[usize], speakers: &[String], n: usize, rng: &mut Rng) -> Vec<usize> {
    if n >= idx.len() {
        return idx.to_vec();
    }
    let mut by_spk: Vec<(String, Vec<usize>)> = Vec::new();
    for &i in idx {
        match by_spk.iter_mut().find(|(s, _)| *s == speakers[i]) {
            Some((_, v)) => v.push(i),
            None => by_spk.push((speakers[i].clone(), vec![i])),
        }
    }
    for (_, v) in by_spk.iter_mut() {
        rng.shuffle(v);
    }
    let total = idx.len() as f64;
    let mut quota: Vec<usize> = by_spk.iter().map(|(_, v)| ((v.len() as f64 / total) * n as f64).floor() as usize).collect();
    let mut left = n - quota.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..by_spk.len()).collect();
    rng.shuffle(&mut order);
    while left > 0 {
        let mut progressed = false;
        for &s in &order {
            if left > 0 && quota[s] < by_spk[s].1.len() {
                quota[s] += 1;
                left -= 1;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    let mut out: Vec<usize> = by_spk.iter().zip(&quota).flat_map(|((_, v), &q)| v[..q].to_vec()).collect();
    out.sort_unstable();
    out
}

/// Progress of a running evaluation.
#[derive(Debug, Clone)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub what: String,
}

/// Per fold: confusion matrices, selected dimension counts (activation, valence) and what
/// training measured.
type FoldOutcome = ([Confusion; 2], [usize; 2], Diagnostics);

fn mean_losses(ls: &[EpochLosses]) -> Option<EpochLosses> {
    if ls.is_empty() {
        return None;
    }
    let n = ls.len() as f64;
    let m = |f: fn(&EpochLosses) -> f64| ls.iter().map(f).sum::<f64>() / n;
    Some(EpochLosses {
        epoch: (ls.iter().map(|l| l.epoch).sum::<usize>() as f64 / n).round() as usize,
        rec: m(|l| l.rec),
        adv: m(|l| l.adv),
        disc: m(|l| l.disc),
        per: m(|l| l.per),
        held_out_rec: m(|l| l.held_out_rec),
    })
}

fn mean_of(v: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Runs every condition × code size × out-of-context set × sample size × seed under
/// leave-one-speaker-out. Folds run in parallel. `progress` returns false to cancel.
pub fn run_experiment(
    inside: &LabelledSet<'_>,
    outside: &[OutOfContext<'_>],
    cfg: &ExperimentConfig,
    device: &Device,
    progress: &(dyn Fn(&Progress) -> bool + Sync),
) -> Result<Vec<ResultRow>, PipelineError> {
    let cancelled = std::sync::atomic::AtomicBool::new(false);
    let is_cancelled = || cancelled.load(std::sync::atomic::Ordering::Relaxed);
    use rayon::prelude::*;
    let rows = normalize(&cfg.input.apply(inside.rows), inside.speakers, inside.corpora, cfg.normalization);
    // The guard: out-of-context rows of an in-context speaker (a test speaker included) or
    // equal to an in-context row are dropped before anything else sees them.
    let guarded: Vec<(super::pipeline::OwnedSet, usize)> = outside
        .iter()
        .map(|o| {
            let (kept, dropped) = guard_out_of_context(inside, &o.set);
            (super::pipeline::subset(&o.set, &kept), dropped)
        })
        .collect();
    let ooc_rows: Vec<Vec<Vec<f64>>> =
        guarded.iter().map(|((r, _, s, c), _)| normalize(&cfg.input.apply(r), s, c, cfg.normalization)).collect();
    let folds = loso_folds(inside.speakers);
    let seeds: Vec<u64> = (cfg.first_seed..cfg.first_seed + cfg.seeds.max(1) as u64).collect();
    // Runs without randomness (baselines on full data) need one seed only: the first.
    let mut jobs = Vec::new();
    for &samples in &cfg.samples {
        for &seed in &seeds {
            for cond in arms(cfg, outside.len(), seed) {
                let deterministic = cond.representation.aae().is_none() && samples.is_none();
                if deterministic && seed != cfg.first_seed {
                    continue;
                }
                jobs.push((samples, seed, cond));
            }
        }
    }
    let total = jobs.len() * folds.len();
    let tally = crate::tally::Tally::new();
    let mut out = Vec::new();
    for (samples, seed, cond) in jobs {
        let ooc = cond.out_of_context.map(|o| {
            let ((_, l, s, c), _) = &guarded[o];
            LabelledSet { rows: &ooc_rows[o], labels: l, speakers: s, corpora: c }
        });
        // The rows were standardised above (`normalize`): the pipeline adds only its global normaliser.
        let pcfg = PipelineConfig {
            representation: cond.representation.clone(),
            grid: Grid { select: cond.select && cfg.grid.select, ..cfg.grid.clone() },
            normalization: Normalization::Global,
            clip: None,
            input: Default::default(),
        };
        let per_fold: Vec<Result<FoldOutcome, PipelineError>> = folds
            .par_iter()
            .enumerate()
            .map(|(fi, fold)| {
                if is_cancelled() {
                    return Err(PipelineError::Model(crate::model::ModelError::Cancelled));
                }
                let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(fi as u64));
                let train_idx = match samples {
                    Some(n) => stratified_subset(&fold.train, inside.speakers, n, &mut rng),
                    None => fold.train.clone(),
                };
                let pick = |v: &[Vec<f64>]| train_idx.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
                let tr_rows = pick(&rows);
                let tr_labels: Vec<[Option<bool>; 2]> = train_idx.iter().map(|&i| inside.labels[i]).collect();
                let tr_spk: Vec<String> = train_idx.iter().map(|&i| inside.speakers[i].clone()).collect();
                let tr_corp: Vec<String> = train_idx.iter().map(|&i| inside.corpora[i].clone()).collect();
                let train = LabelledSet { rows: &tr_rows, labels: &tr_labels, speakers: &tr_spk, corpora: &tr_corp };
                let predictor = train_predictor(&train, ooc.as_ref(), &pcfg, device, &mut |_, _| !is_cancelled())?;
                let test_rows: Vec<Vec<f64>> = fold.test.iter().map(|&i| rows[i].clone()).collect();
                let preds = if cond.representation.aae().is_some_and(|a| a.code_per_speaker) {
                    // Each test speaker's code ⊕ features by their own statistics, as in training.
                    let pick_s = |v: &[String]| fold.test.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
                    let keys = super::pipeline::speaker_keys(&pick_s(inside.speakers), &pick_s(inside.corpora));
                    super::per_group(&test_rows, &keys, |sub| predictor.predict_adapted(sub, Adaptation::Representation))
                } else {
                    predictor.predict(&test_rows)
                };
                let mut conf = [Confusion::default(); 2];
                for (p, &i) in preds.iter().zip(&fold.test) {
                    if let Some(t) = inside.labels[i][0] {
                        conf[0].add(t, p.activation_high);
                    }
                    if let Some(t) = inside.labels[i][1] {
                        conf[1].add(t, p.valence_positive);
                    }
                }
                let what = format!(
                    "{}{}{}",
                    cond.condition,
                    cond.representation.aae().map(|a| format!(" D={}", a.dims)).unwrap_or_default(),
                    cond.out_of_context.map(|o| format!(" ← {}", outside[o].name)).unwrap_or_default()
                );
                let go_on = tally.finish(|done| progress(&Progress { done, total, what }));
                if !go_on {
                    cancelled.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Ok((conf, [predictor.tasks[0].ds(), predictor.tasks[1].ds()], predictor.diagnostics.clone()))
            })
            .collect();
        let per_fold: Vec<FoldOutcome> = per_fold.into_iter().collect::<Result<_, _>>()?;
        if is_cancelled() {
            return Err(PipelineError::Model(crate::model::ModelError::Cancelled));
        }
        for (t, task) in TASKS.iter().enumerate() {
            let mut pooled = Confusion::default();
            let mut ds: Vec<usize> = Vec::new();
            let mut fold_uar = Vec::new();
            for (c, d, _) in &per_fold {
                pooled.merge(&c[t]);
                ds.push(d[t]);
                fold_uar.push(c[t].uar());
            }
            if pooled.total() == 0 {
                continue;
            }
            ds.sort_unstable();
            out.push(ResultRow {
                task: task.to_string(),
                condition: cond.condition,
                out_of_context: cond.out_of_context.map(|o| outside[o].name.clone()),
                dims: cond.representation.aae().map(|a| a.dims),
                samples: samples.map(Samples::Count).unwrap_or(Samples::Full("full".into())),
                seed,
                uar: pooled.uar(),
                ds: ds[ds.len() / 2],
                confusion: pooled,
                fold_uar,
                neighbour_uar: mean_of(per_fold.iter().filter_map(|f| f.2.neighbour_uar.map(|u| u[t]))),
                final_losses: mean_losses(&per_fold.iter().filter_map(|f| f.2.final_losses).collect::<Vec<_>>()),
                prior_distance: mean_of(per_fold.iter().filter_map(|f| f.2.prior_distance)),
                out_of_context_dropped: cond.out_of_context.map(|o| guarded[o].1).unwrap_or(0),
            });
        }
    }
    Ok(out)
}

/// Mean and (sample) standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / n;
    let s = if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (m, s)
}

/// A p value to three decimals; a Monte-Carlo p below that resolution is "< 0.001", not 0.
fn p_value(p: f64) -> String {
    if p < 0.0005 { "< 0.001".into() } else { format!("{p:.3}") }
}

/// Markdown tables shaped like the paper's Tables 1/2: one row per task, one column per
/// condition, "UAR mean ± std (Ds=…)" in percent; then paired tests of each enriched setting
/// against baselinefs across folds.
pub fn markdown_report(rows: &[ResultRow]) -> String {
    let mut sample_keys: Vec<&Samples> = Vec::new();
    for r in rows {
        if !sample_keys.contains(&&r.samples) {
            sample_keys.push(&r.samples);
        }
    }
    let mut out = String::new();
    for s in sample_keys {
        let sub: Vec<&ResultRow> = rows.iter().filter(|r| &r.samples == s).collect();
        let mut cols: Vec<(Condition, Option<String>, Option<usize>)> = Vec::new();
        for r in &sub {
            let key = (r.condition, r.out_of_context.clone(), r.dims);
            if !cols.contains(&key) {
                cols.push(key);
            }
        }
        out += &format!("\n**Training samples per fold: {s}**\n\n| task |");
        for (c, o, d) in &cols {
            out += &format!(
                " {}{}{} |",
                c,
                o.as_ref().map(|o| format!(" ← {o}")).unwrap_or_default(),
                d.map(|d| format!(" D={d}")).unwrap_or_else(|| " (88)".into())
            );
        }
        out += "\n|---|";
        out += &"---|".repeat(cols.len());
        out += "\n";
        let rows_of = |task: &str, c: Condition, o: &Option<String>, d: &Option<usize>| -> Vec<&&ResultRow> {
            sub.iter().filter(|r| r.task == task && r.condition == c && &r.out_of_context == o && &r.dims == d).collect()
        };
        for task in TASKS.into_iter().filter(|t| sub.iter().any(|r| r.task == *t)) {
            out += &format!("| {task} |");
            for (c, o, d) in &cols {
                let hits = rows_of(task, *c, o, d);
                let uars: Vec<f64> = hits.iter().map(|r| 100.0 * r.uar).collect();
                let (m, sd) = mean_std(&uars);
                let mut ds: Vec<usize> = hits.iter().map(|r| r.ds).collect();
                ds.sort_unstable();
                let ds = ds.get(ds.len() / 2).copied().unwrap_or(0);
                out += &if uars.len() > 1 { format!(" {m:.1} ± {sd:.1} (Ds={ds}) |") } else { format!(" {m:.1} (Ds={ds}) |") };
            }
            out += "\n";
        }
        // Paired tests: each enriched setting vs baselinefs, per-fold UAR averaged over seeds.
        let fold_mean = |rs: &[&&ResultRow]| -> Vec<f64> {
            let n = rs.first().map(|r| r.fold_uar.len()).unwrap_or(0);
            (0..n).map(|f| rs.iter().map(|r| r.fold_uar[f]).filter(|v| v.is_finite()).sum::<f64>() / rs.len() as f64).collect()
        };
        // Mean fold-UAR difference (points) of `a` over `b` and its two-sided p.
        let paired = |a: &[&&ResultRow], b: &[&&ResultRow]| -> Option<(f64, f64)> {
            let (av, bv) = (fold_mean(a), fold_mean(b));
            if av.len() != bv.len() || av.is_empty() {
                return None;
            }
            let diff = av.iter().zip(&bv).map(|(x, y)| x - y).sum::<f64>() / av.len() as f64;
            // Rounded to the printed 0.1 point first, and `+ 0.0` turns -0.0 into 0.0: no "-0.0".
            let points = (1000.0 * diff).round() / 10.0 + 0.0;
            Some((points, paired_permutation_p(&av, &bv)))
        };
        let setting = |c: Condition, o: &Option<String>, d: &Option<usize>| {
            format!("{c}{} D={}", o.as_ref().map(|o| format!(" ← {o}")).unwrap_or_default(), d.unwrap_or(0))
        };
        let (mut vs_base, mut vs_aae) = (String::new(), String::new());
        for task in TASKS {
            let base = rows_of(task, Condition::Baselinefs, &None, &None);
            for &(c, ref o, ref d) in cols.iter().filter(|(c, _, _)| matches!(c, Condition::Enriched | Condition::Aae)) {
                let e = rows_of(task, c, o, d);
                if let Some((diff, p)) = paired(&e, &base) {
                    vs_base += &format!("| {task} | {} | {diff:+.1} | {} |\n", setting(c, o, d), p_value(p));
                }
                if c == Condition::Enriched
                    && let Some((diff, p)) = paired(&e, &rows_of(task, Condition::Aae, &None, d))
                {
                    vs_aae += &format!("| {task} | {} | {diff:+.1} | {} |\n", setting(c, o, d), p_value(p));
                }
            }
        }
        let header = |against: &str| {
            format!(
                "\nPaired sign-flip test across folds against {against} (mean fold UAR difference, two-sided p):\n\n| task | setting | Δ UAR (points) | p |\n|---|---|---|---|\n"
            )
        };
        if !vs_base.is_empty() {
            out += &header("baselinefs");
            out += &vs_base;
        }
        if !vs_aae.is_empty() {
            out += &header("the plain AAE of the same D");
            out += &vs_aae;
        }
        // Diagnostics of the autoencoder conditions, averaged over folds and seeds.
        let mut diag = String::new();
        for &(c, ref o, ref d) in cols.iter().filter(|(c, _, _)| !matches!(c, Condition::Baseline | Condition::Baselinefs)) {
            for task in TASKS {
                let hits = rows_of(task, c, o, d);
                if hits.is_empty() {
                    continue;
                }
                // The mean over folds and seeds, with `digits` decimals (epochs are whole numbers).
                let m = |digits: usize, f: &dyn Fn(&ResultRow) -> Option<f64>| {
                    mean_of(hits.iter().filter_map(|r| f(r))).map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "–".into())
                };
                let agreement =
                    mean_of(hits.iter().filter_map(|r| r.neighbour_uar)).map(|v| format!("{:.1}", 100.0 * v)).unwrap_or_else(|| "–".into());
                diag += &format!(
                    "| {task} | {} | {agreement} | {} | {} | {} | {} | {} | {} |\n",
                    setting(c, o, d),
                    m(0, &|r| r.final_losses.map(|l| l.epoch as f64)),
                    m(3, &|r| r.final_losses.map(|l| l.rec)),
                    m(3, &|r| r.final_losses.map(|l| l.adv)),
                    m(3, &|r| r.final_losses.map(|l| l.per)),
                    m(3, &|r| r.prior_distance),
                    hits.first().map(|r| r.out_of_context_dropped).unwrap_or(0)
                );
            }
        }
        if !diag.is_empty() {
            out += "\nDiagnostics (means over folds and seeds): neighbour-label agreement (UAR % of the enrichment targets' signs against each training sample's own labels), the final autoencoder's last epoch and losses, the codes' distance to N(0, I) (Σ mean² + (std − 1)²; 0 = on the prior), out-of-context rows dropped by the guard:\n\n| task | setting | agreement | epochs | L_rec | L_adv | L_per | prior distance | dropped |\n|---|---|---|---|---|---|---|---|---|\n";
            out += &diag;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leave_one_corpus_out_enriches_each_corpus_from_the_others_and_scores_adapted_too() {
        // Three corpora whose features follow the activation label; the third sits far off
        // (another recording chain), which batch adaptation undoes.
        let mut rng = Rng::new(3);
        let mut data = Vec::new();
        for (c, offset) in [(0, 0.0), (1, 0.3), (2, 6.0)] {
            let (mut rows, mut labels, mut speakers) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..40 {
                let a = i % 2 == 0;
                rows.push((0..6).map(|j| offset + if j < 2 && a { 1.5 } else { 0.0 } + rng.normal() * 0.4).collect::<Vec<f64>>());
                labels.push([Some(a), Some(i % 4 < 2)]);
                // Four speakers, each with both classes.
                speakers.push(format!("s{}", i / 10));
            }
            data.push((format!("c{c}"), rows, labels, speakers, vec![format!("c{c}"); 40]));
        }
        let sets: Vec<NamedSet<'_>> = data
            .iter()
            .map(|(n, r, l, s, c)| NamedSet::plain(n.clone(), LabelledSet { rows: r, labels: l, speakers: s, corpora: c }))
            .collect();
        let aae = AaeConfig {
            dims: 3,
            hidden: 8,
            epochs: 3,
            batch_size: 16,
            neighbour_space: crate::model::NeighbourSpace::Features,
            ..AaeConfig::default()
        };
        let rows = leave_one_corpus_out(
            &sets,
            &[Condition::Baselinefs, Condition::Enriched],
            &aae,
            &LocoSetup::default(),
            &Device::flex(),
            &|_| true,
        )
        .expect("toy leave-one-corpus-out");
        let of = |h: &str, c: Condition, t: &str| rows.iter().find(|r| r.held_out == h && r.condition == c && r.task == t).unwrap();
        let e = of("c0", Condition::Enriched, "activation");
        assert_eq!(e.in_context, vec!["c1", "c2"], "every training corpus is in context");
        assert!(e.out_of_context.is_empty());
        assert!(e.neighbour_uar.is_some_and(|u| u > 0.5), "{:?}", e.neighbour_uar);
        let far = of("c2", Condition::Baselinefs, "activation");
        assert!(far.adapted_uar.unwrap() > 0.9, "adapted {:?}", far.adapted_uar);
        assert!(far.uar < 0.75, "unadapted, the offset corpus lands in one class: {}", far.uar);
        assert!(far.speaker_adapted_uar.unwrap() > 0.9, "speaker-adapted {:?}", far.speaker_adapted_uar);
        // Adapting the code too is scored for the model with a code, and only for it.
        assert!(far.representation_adapted_uar.is_none() && far.representation_speaker_adapted_uar.is_none());
        let far_coded = of("c2", Condition::Enriched, "activation");
        assert!(far_coded.representation_adapted_uar.is_some_and(|u| u > 0.9), "{:?}", far_coded.representation_adapted_uar);
        assert!(far_coded.representation_speaker_adapted_uar.is_some_and(|u| u > 0.9));
        // Without selection every condition's SVMs see every dimension: baselinefs is then baseline.
        let all = LocoSetup { grid: Grid { select: false, ..Grid::default() }, ..LocoSetup::default() };
        let unselected = leave_one_corpus_out(&sets, &[Condition::Baselinefs], &aae, &all, &Device::flex(), &|_| true).unwrap();
        let plain = leave_one_corpus_out(&sets, &[Condition::Baseline], &aae, &LocoSetup::default(), &Device::flex(), &|_| true).unwrap();
        let uars = |rows: &[CrossCorpusRow]| rows.iter().map(|r| (r.uar, r.adapted_uar)).collect::<Vec<_>>();
        assert_eq!(uars(&unselected), uars(&plain));
        let selected: Vec<CrossCorpusRow> = rows.iter().filter(|r| r.condition == Condition::Baselinefs).cloned().collect();
        assert_ne!(uars(&selected), uars(&plain), "with selection, baselinefs differs from baseline here");
        // Trained per corpus (or per speaker), the far corpus is classified once it is adapted;
        // one recording of it through the pooled normaliser still is not.
        for mode in [Normalization::PerCorpus, Normalization::PerSpeaker] {
            let setup = LocoSetup { normalization: mode, ..LocoSetup::default() };
            let per = leave_one_corpus_out(&sets, &[Condition::Baselinefs], &aae, &setup, &Device::flex(), &|_| true).unwrap();
            let far = per.iter().find(|r| r.held_out == "c2" && r.task == "activation").unwrap();
            assert_eq!(far.normalization, mode);
            assert!(far.adapted_uar.unwrap() > 0.9 && far.speaker_adapted_uar.unwrap() > 0.9, "{mode}: {far:?}");
            assert!(far.uar < 0.75, "{mode}: unadapted {}", far.uar);
        }
    }

    #[test]
    fn stratified_subset_keeps_speaker_proportions() {
        let speakers: Vec<String> = (0..100).map(|i| if i < 80 { "a".into() } else { "b".to_string() }).collect();
        let idx: Vec<usize> = (0..100).collect();
        let sub = stratified_subset(&idx, &speakers, 20, &mut Rng::new(1));
        assert_eq!(sub.len(), 20);
        assert_eq!(sub.iter().filter(|&&i| speakers[i] == "a").count(), 16);
        let again = stratified_subset(&idx, &speakers, 20, &mut Rng::new(1));
        assert_eq!(sub, again, "seeded");
    }

    #[test]
    fn seeds_from_first_seed_repeat_nothing_and_match_a_run_of_that_seed_alone() {
        // 4 speakers × 12 utterances; the labels shift a few features so the SVM has work to do.
        let mut rng = Rng::new(7);
        let (mut rows, mut labels, mut speakers) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..4 {
            for i in 0..12 {
                let (a, v) = (i % 2 == 0, i % 3 == 0);
                let shift = |j: usize| match j {
                    0..=3 if a => 1.5,
                    5 if v => 1.0,
                    _ => 0.0,
                };
                rows.push((0..88).map(|j| rng.normal() + shift(j)).collect::<Vec<f64>>());
                labels.push([Some(a), Some(v)]);
                speakers.push(format!("s{s}"));
            }
        }
        let corpora = vec!["toy".to_string(); rows.len()];
        let set = LabelledSet { rows: &rows, labels: &labels, speakers: &speakers, corpora: &corpora };
        let run = |first_seed: u64, seeds: usize| {
            let cfg = ExperimentConfig {
                dims: vec![3],
                seeds,
                first_seed,
                aae: AaeConfig { dims: 3, hidden: 8, epochs: 2, batch_size: 16, ..AaeConfig::default() },
                conditions: vec![Condition::Baselinefs, Condition::Aae],
                ..ExperimentConfig::default()
            };
            run_experiment(&set, &[], &cfg, &Device::flex(), &|_| true).expect("toy experiment")
        };
        let both = run(1, 2);
        let seeds_of = |rows: &[ResultRow], c: Condition| {
            let mut s: Vec<u64> = rows.iter().filter(|r| r.condition == c && r.task == "activation").map(|r| r.seed).collect();
            s.sort();
            s
        };
        assert_eq!(seeds_of(&both, Condition::Baselinefs), vec![1], "deterministic baselines run once, at the first seed");
        assert_eq!(seeds_of(&both, Condition::Aae), vec![1, 2]);
        let alone = run(2, 1);
        let aae2 = |rows: &[ResultRow]| rows.iter().filter(|r| r.condition == Condition::Aae && r.seed == 2).cloned().collect::<Vec<_>>();
        assert_eq!(aae2(&both), aae2(&alone), "a seed's result does not depend on which other seeds ran");
        assert_eq!(aae2(&alone).len(), 2, "both tasks");
    }

    #[test]
    fn report_tests_enrichment_against_the_plain_aae_and_baselinefs() {
        let row = |condition: Condition, ooc: Option<&str>, dims: Option<usize>, seed: u64, folds: &[f64]| ResultRow {
            task: "activation".into(),
            condition,
            out_of_context: ooc.map(str::to_string),
            dims,
            samples: Samples::Full("full".into()),
            seed,
            uar: folds.iter().sum::<f64>() / folds.len() as f64,
            ds: 5,
            confusion: Confusion::default(),
            fold_uar: folds.to_vec(),
            neighbour_uar: None,
            final_losses: None,
            prior_distance: None,
            out_of_context_dropped: 0,
        };
        let base: Vec<f64> = (0..10).map(|f| 0.70 + 0.01 * f as f64).collect();
        let shift = |d: f64| base.iter().map(|v| v + d).collect::<Vec<f64>>();
        let rows = vec![
            row(Condition::Baselinefs, None, None, 0, &base),
            // The AAE is 4 points under baselinefs in every fold (both seeds).
            row(Condition::Aae, None, Some(10), 0, &shift(-0.04)),
            row(Condition::Aae, None, Some(10), 1, &shift(-0.04)),
            // Enrichment adds 3 points over the AAE in every fold, on average over its seeds.
            row(Condition::Enriched, Some("x"), Some(10), 0, &shift(-0.02)),
            row(Condition::Enriched, Some("x"), Some(10), 1, &shift(0.0)),
            // A difference that rounds to zero prints as +0.0, never -0.0.
            row(Condition::Enriched, Some("y"), Some(10), 0, &shift(-0.0404)),
        ];
        let mut rows = rows;
        rows[1].final_losses = Some(EpochLosses { epoch: 100, rec: 0.25, adv: 0.5, disc: 0.7, per: 0.0, held_out_rec: 0.0 });
        rows[2].final_losses = Some(EpochLosses { epoch: 80, rec: 0.35, adv: 0.7, disc: 0.7, per: 0.0, held_out_rec: 0.0 });
        let md = markdown_report(&rows);
        // Diagnostics: epochs as whole numbers, losses with three decimals (means over seeds).
        assert!(md.contains("| activation | aae D=10 | – | 90 | 0.300 | 0.600 | 0.000 | – | 0 |"), "{md}");
        // All ten folds agree in sign: the exact two-sided p is 2 / 2^10.
        assert!(md.contains("| activation | aae D=10 | -4.0 | 0.002 |"), "{md}");
        assert!(md.contains("| activation | enriched ← x D=10 | -1.0 | 0.002 |"), "{md}");
        assert!(md.contains("against the plain AAE of the same D"), "{md}");
        assert!(md.contains("| activation | enriched ← x D=10 | +3.0 | 0.002 |"), "{md}");
        assert!(md.contains("| activation | enriched ← y D=10 | +0.0 | 0.002 |"), "{md}");
        assert!(md.contains("| task | baselinefs (88) | aae D=10 | enriched ← x D=10 |"), "{md}");
        assert!(!md.contains("| valence |"), "a task without results gets no row: {md}");
        assert!(md.contains("| activation | 74.5 (Ds=5) | 70.5 ± 0.0 (Ds=5) | 73.5 ± 1.4 (Ds=5) |"), "{md}");
    }
}

/// One result of leave-one-corpus-out evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossCorpusRow {
    pub held_out: String,
    pub condition: Condition,
    /// Training corpora used as in-context and as out-of-context data.
    pub in_context: Vec<String>,
    pub out_of_context: Vec<String>,
    pub task: String,
    pub uar: f64,
    pub confusion: Confusion,
    /// UAR with the held-out corpus batch-adapted (standardised by its own statistics onto
    /// the training data's).
    #[serde(default)]
    pub adapted_uar: Option<f64>,
    /// UAR with each speaker of the held-out corpus adapted by their own statistics (the
    /// per-speaker route, where speakers are known).
    #[serde(default)]
    pub speaker_adapted_uar: Option<f64>,
    /// UAR on a degraded copy of the held-out corpus (another room, microphone, band limit,
    /// background and level: `audio::degrade`), as it comes.
    #[serde(default)]
    pub degraded_uar: Option<f64>,
    /// As `adapted_uar` and `speaker_adapted_uar`, with the code adapted too
    /// ([`Adaptation::Representation`]); None for a model without a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representation_adapted_uar: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representation_speaker_adapted_uar: Option<f64>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub normalization: Normalization,
    /// Agreement of the enrichment targets with the training samples' own labels.
    #[serde(default)]
    pub neighbour_uar: Option<f64>,
}

/// A named labelled corpus for cross-corpus evaluation.
pub struct NamedSet<'a> {
    pub name: String,
    pub set: LabelledSet<'a>,
    /// The rows each member of an ensemble trains with when others are held out (some replaced
    /// by their degraded copies, [`crate::corpus::LabelledData::with_degraded_share`], a
    /// different share for each member); a member beyond its length: `set.rows`.
    pub training_rows: &'a [Vec<Vec<f64>>],
    /// A degraded copy of every row, scored when it is held out; None: not scored.
    pub degraded: Option<&'a [Vec<f64>]>,
}

impl<'a> NamedSet<'a> {
    /// A corpus that trains and is scored as it is.
    pub fn plain(name: String, set: LabelledSet<'a>) -> Self {
        Self { name, set, training_rows: &[], degraded: None }
    }
}

/// How leave-one-corpus-out fits every predictor besides its representation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocoSetup {
    pub grid: Grid,
    /// How the training corpora are standardised.
    pub normalization: Normalization,
    /// Standardised features held within ± this ([`PipelineConfig::clip`]).
    pub clip: Option<f64>,
    /// The functionals the models read ([`PipelineConfig::input`]).
    pub input: InputFeatures,
}

/// Rows, labels, speakers and corpora of several sets, owned.
type PooledSet = (Vec<Vec<f64>>, Vec<[Option<bool>; 2]>, Vec<String>, Vec<String>);

/// Owned concatenation of several sets, with the rows member 1 of an ensemble trains with.
fn pool(sets: &[&NamedSet<'_>]) -> PooledSet {
    let mut out = (pool_rows(sets, 0), Vec::new(), Vec::new(), Vec::new());
    for s in sets {
        out.1.extend(s.set.labels.iter().copied());
        out.2.extend(s.set.speakers.iter().cloned());
        out.3.extend(s.set.corpora.iter().cloned());
    }
    out
}

/// The pooled rows member `m` (from 0) of an ensemble trains with.
fn pool_rows(sets: &[&NamedSet<'_>], m: usize) -> Vec<Vec<f64>> {
    sets.iter().flat_map(|s| s.training_rows.get(m).map_or(s.set.rows, |r| r.as_slice()).iter().cloned()).collect()
}

/// Leave-one-corpus-out: for each corpus, train on all the others and test on it. Conditions:
/// `baseline`/`baselinefs` (SVM on the 88 functionals, without/with ANOVA-F), `aae`
/// (conditional AAE on the pooled training corpora), `enriched` (every training corpus
/// in-context, each one's neighbours drawn from the other training corpora, so the SVM sees
/// the same rows as the plain AAE) and `oracle`. The training corpora are standardised as
/// `normalization` says (globally, per corpus or per speaker). Each predictor is scored three
/// times on the held-out corpus: as it comes (through the training rows' pooled normaliser,
/// what one recording gets), batch-adapted (the whole corpus standardised by its own
/// statistics, what `label --adapt` does) and speaker-adapted (each speaker by their own), and
/// a fourth time on its degraded copy where the set has one.
pub fn leave_one_corpus_out(
    corpora: &[NamedSet<'_>],
    conditions: &[Condition],
    aae: &AaeConfig,
    setup: &LocoSetup,
    device: &Device,
    progress: &(dyn Fn(&Progress) -> bool + Sync),
) -> Result<Vec<CrossCorpusRow>, PipelineError> {
    let mut out = Vec::new();
    let total = corpora.len() * conditions.len();
    let mut done = 0;
    for (t, test) in corpora.iter().enumerate() {
        let others: Vec<&NamedSet<'_>> = corpora.iter().enumerate().filter(|(i, _)| *i != t).map(|(_, c)| c).collect();
        for &cond in conditions {
            done += 1;
            if !progress(&Progress { done, total, what: format!("{cond} → {}", test.name) }) {
                return Err(PipelineError::Model(crate::model::ModelError::Cancelled));
            }
            let (r, l, s, c) = pool(&others);
            let train = LabelledSet { rows: &r, labels: &l, speakers: &s, corpora: &c };
            let normalization = setup.normalization;
            let pcfg = PipelineConfig {
                representation: cond.representation(aae),
                grid: Grid { select: cond != Condition::Baseline && setup.grid.select, ..setup.grid.clone() },
                normalization,
                clip: setup.clip,
                input: setup.input,
            };
            // Enrichment without an out-of-context set: each training corpus's neighbours come
            // from the other training corpora (train_predictor's pooled design).
            let further: Vec<Vec<Vec<f64>>> = (1..pcfg.representation.autoencoders()).map(|m| pool_rows(&others, m)).collect();
            let predictor = train_ensemble(&train, &further, None, &pcfg, device, &mut |_, _| true)?;
            let speakers = super::pipeline::speaker_keys(test.set.speakers, test.set.corpora);
            let adapted = |a| predictor.predict_adapted(test.set.rows, a);
            let by_speaker = |a| super::per_group(test.set.rows, &speakers, |sub| predictor.predict_adapted(sub, a));
            let mut scored = vec![
                predictor.predict(test.set.rows),
                adapted(Adaptation::Features),
                by_speaker(Adaptation::Features),
                test.degraded.map(|d| predictor.predict(d)).unwrap_or_default(),
            ];
            // Adapting the code too differs only for a model with a code.
            let has_code = predictor.code_normalizer.is_some();
            if has_code {
                scored.push(adapted(Adaptation::Representation));
                scored.push(by_speaker(Adaptation::Representation));
            }
            for (ti, task) in TASKS.iter().enumerate() {
                let mut conf = [Confusion::default(); 6];
                for (k, preds) in scored.iter().enumerate() {
                    for (p, l) in preds.iter().zip(test.set.labels) {
                        if let Some(truth) = l[ti] {
                            conf[k].add(truth, if ti == 0 { p.activation_high } else { p.valence_positive });
                        }
                    }
                }
                if conf[0].total() == 0 {
                    continue;
                }
                out.push(CrossCorpusRow {
                    held_out: test.name.clone(),
                    condition: cond,
                    in_context: others.iter().map(|c| c.name.clone()).collect(),
                    out_of_context: Vec::new(),
                    task: task.to_string(),
                    uar: conf[0].uar(),
                    confusion: conf[0],
                    adapted_uar: Some(conf[1].uar()),
                    speaker_adapted_uar: Some(conf[2].uar()),
                    degraded_uar: test.degraded.map(|_| conf[3].uar()),
                    representation_adapted_uar: has_code.then(|| conf[4].uar()),
                    representation_speaker_adapted_uar: has_code.then(|| conf[5].uar()),
                    seed: aae.seed,
                    normalization,
                    neighbour_uar: predictor.diagnostics.neighbour_uar.map(|u| u[ti]),
                });
            }
        }
    }
    Ok(out)
}

/// " / batch-adapted / speaker-adapted" means of `rows`, as far as they have them, then
/// " / degraded x" where they were scored on a degraded copy, then " / code adapted too x / y"
/// (batch / speaker) for a model with a code.
fn adapted_cells(rows: &[&CrossCorpusRow]) -> String {
    let a = mean_of(rows.iter().filter_map(|r| r.adapted_uar.map(|a| 100.0 * a)));
    let s = mean_of(rows.iter().filter_map(|r| r.speaker_adapted_uar.map(|a| 100.0 * a)));
    let d = mean_of(rows.iter().filter_map(|r| r.degraded_uar.map(|a| 100.0 * a)));
    let mut out: String = [a, s].iter().map_while(|x| x.map(|x| format!(" / {x:.1}"))).collect();
    if let Some(d) = d {
        out += &format!(" / degraded {d:.1}");
    }
    let ra = mean_of(rows.iter().filter_map(|r| r.representation_adapted_uar.map(|a| 100.0 * a)));
    let rs = mean_of(rows.iter().filter_map(|r| r.representation_speaker_adapted_uar.map(|a| 100.0 * a)));
    if let (Some(ra), Some(rs)) = (ra, rs) {
        out += &format!(" / code adapted too {ra:.1} / {rs:.1}");
    }
    out
}

/// Markdown table of leave-one-corpus-out results: one row per held-out corpus and task, each
/// cell "UAR / batch-adapted UAR / speaker-adapted UAR" (mean over the seeds present; the
/// adapted figures where the rows have them).
pub fn cross_corpus_markdown(rows: &[CrossCorpusRow]) -> String {
    let mut conds: Vec<Condition> = Vec::new();
    let mut held: Vec<&str> = Vec::new();
    for r in rows {
        if !conds.contains(&r.condition) {
            conds.push(r.condition);
        }
        if !held.contains(&r.held_out.as_str()) {
            held.push(&r.held_out);
        }
    }
    let cell = |v: &[&CrossCorpusRow]| -> String {
        if v.is_empty() {
            return "–".into();
        }
        let (m, sd) = mean_std(&v.iter().map(|r| 100.0 * r.uar).collect::<Vec<_>>());
        let sd = if v.len() > 1 { format!(" ± {sd:.1}") } else { String::new() };
        format!("{m:.1}{sd}{}", adapted_cells(v))
    };
    let mut s = String::from("| held-out corpus | task |");
    for c in &conds {
        s += &format!(" {c} |");
    }
    s += "\n|---|---|";
    s += &"---|".repeat(conds.len());
    s += "\n";
    for h in &held {
        for task in TASKS {
            let cells: Vec<String> = conds
                .iter()
                .map(|c| cell(&rows.iter().filter(|r| r.held_out == *h && r.task == task && r.condition == *c).collect::<Vec<_>>()))
                .collect();
            if cells.iter().all(|c| c == "–") {
                continue;
            }
            s += &format!("| {h} | {task} | {} |\n", cells.join(" | "));
        }
    }
    for task in TASKS {
        let means: Vec<String> = conds
            .iter()
            .map(|c| {
                let v: Vec<&CrossCorpusRow> = rows.iter().filter(|r| r.task == task && r.condition == *c).collect();
                if v.is_empty() {
                    return "–".into();
                }
                let m = v.iter().map(|r| 100.0 * r.uar).sum::<f64>() / v.len() as f64;
                format!("{m:.1}{} (n={})", adapted_cells(&v), v.len())
            })
            .collect();
        s += &format!("| **mean** | {task} | {} |\n", means.join(" | "));
    }
    s
}
