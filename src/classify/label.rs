//! Labelling recordings: every file (or every S-second window of it) through the canonical
//! 16 kHz path, eGeMAPS, and a predictor. Files are decoded block by block, so hour-long
//! recordings need bounded memory; one bad file never stops the others.

use std::path::Path;

use super::Adaptation;
use super::pipeline::{Prediction, Predictor};
use crate::audio::{CANONICAL_RATE, Source, StreamResampler};
use crate::egemaps::{self, Extractor, N_FEATURES, Rate};

/// Minimum share of voiced frames for audio to count as speech.
pub const SPEECH_VOICED_RATIO: f64 = 0.15;

/// The reason a row without speech carries instead of labels.
pub const NO_SPEECH: &str = "no speech";

/// Whether audio with this share of voiced frames is speech: the one definition `valar label`,
/// the Files tab, every export and the live analysis share. Only speech is classified.
pub fn is_speech(voiced_ratio: f64) -> bool {
    voiced_ratio >= SPEECH_VOICED_RATIO
}

/// One output row.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    /// Window bounds in seconds (None for whole-file rows).
    pub window: Option<(f64, f64)>,
    /// Seconds of audio the row describes.
    pub duration_s: f64,
    pub prediction: Option<Prediction>,
    pub voiced_ratio: f64,
    pub error: Option<String>,
    /// The functionals the prediction was made from (for batch adaptation).
    pub functionals: Option<Box<[f64; N_FEATURES]>>,
    /// The audio holds no speech ([`is_speech`]): no labels, `error` is [`NO_SPEECH`], and
    /// it is not a failure.
    pub no_speech: bool,
}

impl LabelRow {
    fn failed(error: String) -> Self {
        Self { window: None, duration_s: 0.0, prediction: None, voiced_ratio: 0.0, error: Some(error), functionals: None, no_speech: false }
    }

    /// A row for analysable audio: labelled if it is speech, [`NO_SPEECH`] otherwise.
    fn judged(
        window: Option<(f64, f64)>,
        duration_s: f64,
        functionals: &[f64; N_FEATURES],
        voiced_ratio: f64,
        predictor: &Predictor,
    ) -> Self {
        let speech = is_speech(voiced_ratio);
        Self {
            window,
            duration_s,
            prediction: speech.then(|| predictor.predict(&[functionals.to_vec()])[0]),
            voiced_ratio,
            error: (!speech).then(|| NO_SPEECH.to_string()),
            functionals: speech.then(|| Box::new(*functionals)),
            no_speech: !speech,
        }
    }
}

/// Labels one file: one row, or one row per `segment_s`-second window. A decoding failure is
/// a single row carrying the reason. A whole file's frames are spread over `threads` threads
/// (segments are spread over rayon's); the rows do not depend on either.
pub fn label_file(path: &Path, predictor: &Predictor, segment_s: Option<f64>, threads: usize) -> Vec<LabelRow> {
    label_source(Source::File(path), predictor, segment_s, threads)
}

/// Labels a file or an in-memory signal (exactly as the same samples in a file).
pub fn label_source(source: Source<'_>, predictor: &Predictor, segment_s: Option<f64>, threads: usize) -> Vec<LabelRow> {
    let path = source.name();
    match segment_s {
        None => match egemaps::extract_source(source, Rate::Canonical, false, threads) {
            Ok(an) if an.functionals.is_valid() => {
                vec![LabelRow::judged(None, an.duration_s, &an.functionals.0, an.voiced_ratio, predictor)]
            }
            Ok(an) => vec![LabelRow {
                window: None,
                duration_s: an.duration_s,
                prediction: None,
                voiced_ratio: 0.0,
                error: Some(format!("{}: too short to analyse (needs at least 60 ms)", path.display())),
                functionals: None,
                no_speech: false,
            }],
            Err(e) => vec![LabelRow::failed(e.to_string())],
        },
        Some(s) => label_windows(source, predictor, s),
    }
}

fn label_windows(source: Source<'_>, predictor: &Predictor, segment_s: f64) -> Vec<LabelRow> {
    let path = source.name();
    let win = ((segment_s * CANONICAL_RATE as f64).round() as usize).max(1);
    let mut rows = Vec::new();
    let mut pending: Vec<f32> = Vec::with_capacity(win);
    let mut start = 0usize;
    let mut rs: Option<StreamResampler> = None;
    let mut buf = Vec::new();
    let mut err: Option<String> = None;
    let extractor = match Extractor::new(CANONICAL_RATE) {
        Ok(e) => e,
        Err(e) => return vec![LabelRow::failed(e.to_string())],
    };
    let judge = |samples: &[f32], start: usize| {
        let an = extractor.analyze(samples, false);
        let (a, b) = (start as f64 / CANONICAL_RATE as f64, (start + samples.len()) as f64 / CANONICAL_RATE as f64);
        if an.functionals.is_valid() {
            LabelRow::judged(Some((a, b)), b - a, &an.functionals.0, an.voiced_ratio, predictor)
        } else {
            LabelRow {
                window: Some((a, b)),
                duration_s: b - a,
                voiced_ratio: an.voiced_ratio,
                ..LabelRow::failed("window too short to analyse".into())
            }
        }
    };
    // Segments are independent, so a long recording's segments are analysed in parallel, a
    // bounded batch at a time (memory stays flat), and their rows kept in order: the result is
    // the same as one segment after another.
    let batch_len = 4 * rayon::current_num_threads().max(1);
    let mut batch: Vec<(usize, Vec<f32>)> = Vec::with_capacity(batch_len);
    let flush = |batch: &mut Vec<(usize, Vec<f32>)>, rows: &mut Vec<LabelRow>| {
        use rayon::prelude::*;
        let judged: Vec<LabelRow> = batch.par_iter().map(|(start, x)| judge(x, *start)).collect();
        rows.extend(judged);
        batch.clear();
    };
    let feed = |x: &[f32], pending: &mut Vec<f32>, start: &mut usize, batch: &mut Vec<(usize, Vec<f32>)>, rows: &mut Vec<LabelRow>| {
        let mut x = x;
        while !x.is_empty() {
            let take = (win - pending.len()).min(x.len());
            pending.extend_from_slice(&x[..take]);
            x = &x[take..];
            if pending.len() == win {
                batch.push((*start, std::mem::replace(pending, Vec::with_capacity(win))));
                *start += win;
                if batch.len() == batch_len {
                    flush(batch, rows);
                }
            }
        }
    };
    let mut guard = egemaps::FiniteGuard::default();
    let mut rate = 0;
    let result = source.stream(1 << 15, |block, fs| {
        guard.scan(block);
        rate = fs;
        let r = match rs.as_mut() {
            Some(r) => r,
            None => match StreamResampler::new(fs, CANONICAL_RATE) {
                Ok(r) => rs.insert(r),
                Err(e) => {
                    err = Some(e.to_string());
                    return false;
                }
            },
        };
        buf.clear();
        if let Err(e) = r.process(block, &mut buf) {
            err = Some(e.to_string());
            return false;
        }
        feed(&buf, &mut pending, &mut start, &mut batch, &mut rows);
        true
    });
    if let Err(e) = result {
        return vec![LabelRow::failed(e.to_string())];
    }
    if let Some(e) = guard.error(path, rate) {
        return vec![LabelRow::failed(e.to_string())];
    }
    if let Some(e) = err {
        return vec![LabelRow::failed(format!("{}: {e}", path.display()))];
    }
    if let Some(r) = rs.as_mut() {
        buf.clear();
        if r.finish(&mut buf).is_ok() {
            feed(&buf, &mut pending, &mut start, &mut batch, &mut rows);
        }
    }
    // A final partial window is labelled if it is long enough to analyse.
    if pending.len() >= (0.06 * CANONICAL_RATE as f64) as usize {
        batch.push((start, pending));
    }
    flush(&mut batch, &mut rows);
    rows
}

/// Fewest rows batch adaptation works from: below it a batch's own statistics are too noisy.
pub const ADAPT_MIN_ROWS: usize = 20;

/// Batch adaptation: re-predicts every row that has functionals after standardising them by
/// the batch's own statistics onto the model's training statistics (and, with
/// [`Adaptation::Representation`], the code too: [`Predictor::predict_adapted`]). It assumes the batch is
/// not all one emotion. Returns false (and changes nothing) below [`ADAPT_MIN_ROWS`] rows.
pub fn adapt_rows(rows: &mut [&mut LabelRow], predictor: &Predictor, adaptation: Adaptation) -> bool {
    let with: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].functionals.is_some()).collect();
    if with.len() < ADAPT_MIN_ROWS {
        return false;
    }
    let raw: Vec<Vec<f64>> = with.iter().filter_map(|&i| rows[i].functionals.as_ref().map(|f| f.to_vec())).collect();
    for (&i, p) in with.iter().zip(predictor.predict_adapted(&raw, adaptation)) {
        rows[i].prediction = Some(p);
    }
    true
}

/// Re-predicts every row that has functionals from them as they are (no adaptation).
pub fn predict_unadapted<'a>(rows: impl IntoIterator<Item = &'a mut LabelRow>, predictor: &Predictor) {
    for r in rows {
        if let Some(f) = &r.functionals {
            r.prediction = predictor.predict(&[f.to_vec()]).first().copied();
        }
    }
}

/// What [`adapt_groups`] did: how many groups it adapted, and the keys of those too small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdaptedGroups<K> {
    pub adapted: usize,
    pub too_small: Vec<K>,
}

/// Batch adaptation group by group (a folder per speaker, or the whole batch under one key):
/// each group's rows are adapted by their own statistics ([`adapt_rows`]); a group under
/// [`ADAPT_MIN_ROWS`] rows with functionals is predicted unadapted and its key returned.
pub fn adapt_groups<'a, K: Ord>(
    rows: impl IntoIterator<Item = (K, &'a mut LabelRow)>,
    predictor: &Predictor,
    adaptation: Adaptation,
) -> AdaptedGroups<K> {
    let mut groups: std::collections::BTreeMap<K, Vec<&'a mut LabelRow>> = Default::default();
    for (key, row) in rows {
        groups.entry(key).or_default().push(row);
    }
    let mut done = AdaptedGroups { adapted: 0, too_small: Vec::new() };
    for (key, mut rows) in groups {
        if adapt_rows(&mut rows, predictor, adaptation) {
            done.adapted += 1;
            continue;
        }
        predict_unadapted(rows, predictor);
        done.too_small.push(key);
    }
    done
}

/// The text of a label: `high`/`low`, `positive`/`negative`.
pub fn activation_word(high: bool) -> &'static str {
    if high { "high" } else { "low" }
}

pub fn valence_word(positive: bool) -> &'static str {
    if positive { "positive" } else { "negative" }
}

/// Header of the label CSV (whole files).
pub const CSV_HEADER: &str = "file,duration_s,activation,activation_score,valence,valence_score,voiced_ratio,error";
/// Header of the label CSV with `--segment` windows.
pub const CSV_HEADER_SEGMENTS: &str = "file,start_s,end_s,duration_s,activation,activation_score,valence,valence_score,voiced_ratio,error";

/// One CSV line for `row` of `file`, matching [`CSV_HEADER`] (or [`CSV_HEADER_SEGMENTS`]).
pub fn csv_line(file: &str, row: &LabelRow, segmented: bool) -> String {
    use crate::fsutil::csv_field;
    let mut s = csv_field(file);
    if segmented {
        let (a, b) = row.window.unwrap_or((0.0, row.duration_s));
        s += &format!(",{a:.3},{b:.3}");
    }
    s += &format!(",{:.3}", row.duration_s);
    match &row.prediction {
        Some(p) => {
            s += &format!(
                ",{},{:.4},{},{:.4},{:.3},",
                activation_word(p.activation_high),
                p.activation_score,
                valence_word(p.valence_positive),
                p.valence_score,
                row.voiced_ratio
            );
        }
        None => s += ",,,,,,",
    }
    if let Some(e) = &row.error {
        s += &csv_field(e);
    }
    s
}
