//! Labelled corpora: manifest CSVs and folders of per-emotion subfolders, their features
//! (extracted once at the canonical 16 kHz and cached on disk, keyed by file content and
//! extractor version), and feature banks that carry features and labels without audio.

mod bank;
mod cache;

pub use bank::{BankRow, FeatureBank};
pub use cache::{FeatureCache, SampleError, SampleFeatures};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: no labelled samples")]
    Empty { path: PathBuf },
}

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub path: PathBuf,
    /// Speaker id, prefixed with the corpus name so pooled corpora never collide.
    pub speaker: String,
    pub emotion: String,
    /// High (true) / low activation; None when unknown.
    pub activation: Option<bool>,
    /// Positive (true) / negative valence; None when unknown.
    pub valence: Option<bool>,
}

/// A named set of labelled utterances.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    pub name: String,
    pub samples: Vec<Sample>,
}

/// Binary activation/valence of an emotion category (cross-corpus convention of Schuller et
/// al. 2010, as in the corpora README). Accepts common spellings of folder names.
pub fn emotion_labels(emotion: &str) -> Option<(String, Option<bool>, Option<bool>)> {
    let e = emotion.trim().to_ascii_lowercase();
    let canon = match e.as_str() {
        "anger" | "angry" | "ang" => "anger",
        "fear" | "fearful" | "afraid" | "fea" => "fear",
        "happiness" | "happy" | "joy" | "hap" => "happiness",
        "surprise" | "surprised" | "sur" => "surprise",
        "sadness" | "sad" => "sadness",
        "boredom" | "bored" => "boredom",
        "disgust" | "disgusted" | "dis" => "disgust",
        "neutral" | "neu" => "neutral",
        "calm" => "calm",
        _ => return None,
    };
    let (a, v) = match canon {
        "anger" | "fear" => (true, false),
        "happiness" | "surprise" => (true, true),
        "sadness" | "boredom" | "disgust" => (false, false),
        _ => (false, true),
    };
    Some((canon.to_string(), Some(a), Some(v)))
}

/// A label cell: empty = unknown; otherwise a number binarised at 0 (> 0 is high/positive).
fn parse_label(cell: &str) -> Result<Option<bool>, String> {
    let t = cell.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let v: f64 = t.parse().map_err(|_| format!("'{t}' is not a number"))?;
    if !v.is_finite() {
        return Err(format!("'{t}' is not a finite number"));
    }
    Ok(Some(v > 0.0))
}

/// Loads a corpus from a manifest CSV or from a folder of per-emotion subfolders.
pub fn load(path: &Path) -> Result<Corpus, CorpusError> {
    if path.is_dir() { load_emotion_folders(path) } else { load_manifest(path) }
}

fn corpus_name(path: &Path) -> String {
    let dir = if path.is_dir() { Some(path) } else { path.parent() };
    dir.and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| "corpus".into())
}

/// Reads `path,speaker,gender,emotion,activation,valence` (extra columns ignored; `speaker`
/// defaults to one speaker per file when absent). Paths are relative to the manifest.
pub fn load_manifest(path: &Path) -> Result<Corpus, CorpusError> {
    let fmt = |message: String| CorpusError::Format { path: path.to_path_buf(), message };
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(source) => CorpusError::Io { path: path.to_path_buf(), source },
        other => fmt(format!("{other:?}")),
    })?;
    let headers = rdr.headers().map_err(|e| fmt(e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let path_col = col("path").or_else(|| col("file")).ok_or_else(|| fmt("no `path` column".into()))?;
    let (spk, emo, act, val) = (col("speaker"), col("emotion"), col("activation"), col("valence"));
    if act.is_none() && val.is_none() && emo.is_none() {
        return Err(fmt("needs `activation`/`valence` or `emotion` columns".into()));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let name = corpus_name(path);
    let mut samples = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| fmt(format!("line {line}: {e}")))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim().to_string();
        let rel = get(Some(path_col));
        if rel.is_empty() {
            return Err(fmt(format!("line {line}: empty path")));
        }
        let emotion = get(emo);
        let mapped = emotion_labels(&emotion);
        let activation = match act {
            Some(_) => parse_label(&get(act)).map_err(|m| fmt(format!("line {line}: activation {m}")))?,
            None => mapped.as_ref().and_then(|m| m.1),
        };
        let valence = match val {
            Some(_) => parse_label(&get(val)).map_err(|m| fmt(format!("line {line}: valence {m}")))?,
            None => mapped.as_ref().and_then(|m| m.2),
        };
        let speaker = match get(spk) {
            s if s.is_empty() => format!("{name}:{rel}"),
            s => format!("{name}:{s}"),
        };
        samples.push(Sample { path: base.join(&rel), speaker, emotion, activation, valence });
    }
    if samples.iter().all(|s| s.activation.is_none() && s.valence.is_none()) {
        return Err(CorpusError::Empty { path: path.to_path_buf() });
    }
    Ok(Corpus { name, samples })
}

/// A folder whose subfolders are named after emotions (`angry/`, `sad/`, …); files directly
/// inside each are its samples. Speakers are unknown, so each file is its own speaker.
pub fn load_emotion_folders(dir: &Path) -> Result<Corpus, CorpusError> {
    let io = |source| CorpusError::Io { path: dir.to_path_buf(), source };
    let name = corpus_name(dir);
    let mut samples = Vec::new();
    let mut unknown = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io)?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let sub = entry.path();
        if !sub.is_dir() {
            continue;
        }
        let folder = entry.file_name().to_string_lossy().into_owned();
        let Some((emotion, activation, valence)) = emotion_labels(&folder) else {
            unknown.push(folder);
            continue;
        };
        let files = crate::audio::find_audio_files(&sub).map_err(io)?;
        for f in files {
            let speaker = format!("{name}:{}", f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
            samples.push(Sample { path: f, speaker, emotion: emotion.clone(), activation, valence });
        }
    }
    if samples.is_empty() {
        return Err(CorpusError::Format {
            path: dir.to_path_buf(),
            message: if unknown.is_empty() {
                "no emotion subfolders with audio".into()
            } else {
                format!("no subfolder is named after an emotion (found: {})", unknown.join(", "))
            },
        });
    }
    Ok(Corpus { name, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_binarises_at_zero_and_keeps_unknowns() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("manifest.csv");
        std::fs::write(&m, "path,speaker,gender,emotion,activation,valence\na.wav,1,m,anger,1,-1\nb.wav,2,f,,0.3,\nc.wav,2,f,,-0.2,0\n")
            .unwrap();
        let c = load_manifest(&m).unwrap();
        assert_eq!(c.samples.len(), 3);
        assert_eq!((c.samples[0].activation, c.samples[0].valence), (Some(true), Some(false)));
        assert_eq!((c.samples[1].activation, c.samples[1].valence), (Some(true), None));
        assert_eq!((c.samples[2].activation, c.samples[2].valence), (Some(false), Some(false)), "0 is low");
        assert_eq!(c.samples[1].speaker, c.samples[2].speaker);
        assert!(c.samples[0].speaker.ends_with(":1"));
    }

    #[test]
    fn bad_label_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("manifest.csv");
        std::fs::write(&m, "path,speaker,activation,valence\na.wav,1,1,1\nb.wav,1,high,1\n").unwrap();
        let e = load_manifest(&m).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("high"), "{e}");
    }

    #[test]
    fn a_degraded_share_replaces_that_share_of_rows_by_their_copies() {
        let d = LabelledData {
            rows: (0..1000).map(|i| vec![i as f64]).collect(),
            degraded: (0..1000).map(|i| vec![-(i as f64) - 1.0]).collect(),
            ..Default::default()
        };
        assert_eq!(d.with_degraded_share(0.0, 1), d.rows);
        assert_eq!(d.with_degraded_share(1.0, 1), d.degraded);
        let half = d.with_degraded_share(0.5, 1);
        let replaced = half.iter().filter(|r| r[0] < 0.0).count();
        assert!((450..=550).contains(&replaced), "{replaced} of 1000");
        assert!(half.iter().enumerate().all(|(i, r)| r[0] == i as f64 || r[0] == -(i as f64) - 1.0), "each row or its own copy");
        assert_eq!(half, d.with_degraded_share(0.5, 1), "seeded");
        assert_ne!(half, d.with_degraded_share(0.5, 2));
        let without = LabelledData { degraded: Vec::new(), ..d.clone() };
        assert_eq!(without.with_degraded_share(0.5, 1), d.rows, "no copies: the rows as they are");
        // An ensemble's members: each its own share, the first the one a single model gets.
        let shares = d.degraded_shares(0.5, 1, 3);
        assert_eq!(shares, vec![half, d.with_degraded_share(0.5, 2), d.with_degraded_share(0.5, 3)]);
        assert_eq!(d.degraded_shares(0.0, 1, 3), vec![d.rows.clone()], "no share: one set for all");
        assert_eq!(without.degraded_shares(0.5, 1, 3), vec![d.rows.clone()], "no copies: one set for all");
    }

    #[test]
    fn emotion_table_follows_readme() {
        assert_eq!(emotion_labels("Angry").map(|e| (e.1, e.2)), Some((Some(true), Some(false))));
        assert_eq!(emotion_labels("calm").map(|e| (e.1, e.2)), Some((Some(false), Some(true))));
        assert_eq!(emotion_labels("disgust").map(|e| (e.1, e.2)), Some((Some(false), Some(false))));
        assert!(emotion_labels("arousal_level_2").is_none());
    }
}

/// Features and labels ready for training: from a manifest or folder (extracted through the
/// cache) or from a feature bank.
#[derive(Debug, Clone, Default)]
pub struct LabelledData {
    pub name: String,
    pub rows: Vec<Vec<f64>>,
    /// (activation, valence) per row.
    pub labels: Vec<[Option<bool>; 2]>,
    pub speakers: Vec<String>,
    pub corpora: Vec<String>,
    pub emotions: Vec<String>,
    /// Samples left out, with the reason.
    pub skipped: Vec<String>,
    /// A degraded copy of each row ([`load_labelled_degraded`]); empty when not loaded.
    pub degraded: Vec<Vec<f64>>,
}

impl LabelledData {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends another set (pooling corpora).
    pub fn extend(&mut self, other: LabelledData) {
        self.rows.extend(other.rows);
        self.labels.extend(other.labels);
        self.speakers.extend(other.speakers);
        self.corpora.extend(other.corpora);
        self.emotions.extend(other.emotions);
        self.skipped.extend(other.skipped);
        self.degraded.extend(other.degraded);
    }

    /// The rows with a `share` of them (each independently, drawn from `seed`) replaced by
    /// their degraded copies: training data recorded through many chains, at the size of the
    /// original. Without degraded copies, or at share 0, the rows as they are.
    pub fn with_degraded_share(&self, share: f64, seed: u64) -> Vec<Vec<f64>> {
        if self.degraded.len() != self.rows.len() || share <= 0.0 {
            return self.rows.clone();
        }
        let mut rng = crate::rng::Rng::new(seed ^ 0xDE6_2ADE);
        self.rows.iter().zip(&self.degraded).map(|(r, d)| if rng.uniform() < share { d.clone() } else { r.clone() }).collect()
    }

    /// The rows each of `members` models of an ensemble trains with: member m's with its own
    /// `share` replaced by degraded copies ([`Self::with_degraded_share`] from `seed + m`).
    /// Without copies or a share, one set: the rows as they are, for every member.
    pub fn degraded_shares(&self, share: f64, seed: u64, members: usize) -> Vec<Vec<Vec<f64>>> {
        if self.degraded.len() != self.rows.len() || share <= 0.0 {
            return vec![self.rows.clone()];
        }
        (0..members.max(1) as u64).map(|m| self.with_degraded_share(share, seed + m)).collect()
    }

    /// The rows as a feature bank.
    /// Mean functionals of the calm (neutral) samples, if there are any.
    pub fn calm_mean(&self) -> Option<Vec<f64>> {
        calm_mean(self.rows.iter().map(|r| r.as_slice()).zip(self.emotions.iter().map(|e| e.as_str())))
    }

    pub fn to_bank(&self) -> FeatureBank {
        FeatureBank {
            rows: (0..self.len())
                .map(|i| {
                    let mut features = [0.0; crate::egemaps::N_FEATURES];
                    features.copy_from_slice(&self.rows[i]);
                    BankRow {
                        corpus: self.corpora[i].clone(),
                        speaker: self.speakers[i].clone(),
                        emotion: self.emotions[i].clone(),
                        activation: self.labels[i][0],
                        valence: self.labels[i][1],
                        features,
                    }
                })
                .collect(),
        }
    }

    fn from_bank(name: String, bank: FeatureBank) -> Self {
        let mut d = LabelledData { name, ..Default::default() };
        for r in bank.rows {
            d.rows.push(r.features.to_vec());
            d.labels.push([r.activation, r.valence]);
            d.speakers.push(r.speaker);
            d.corpora.push(r.corpus);
            d.emotions.push(r.emotion);
        }
        d
    }
}

/// Loads labelled features from a manifest CSV, an emotion-folder corpus, or a feature bank
/// CSV. Audio features come from `cache` (extracting and caching what is missing).
pub fn load_labelled(path: &Path, cache: &mut FeatureCache, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<LabelledData, CorpusError> {
    if path.is_file() && FeatureBank::is_bank_file(path) {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "bank".into());
        return Ok(LabelledData::from_bank(name, FeatureBank::load(path)?));
    }
    let corpus = load(path)?;
    let features = cache.corpus_features(&corpus, progress);
    let _ = cache.save();
    labelled(path, &corpus, features, None)
}

/// [`load_labelled`] with a degraded copy of every recording beside it (copy `copy`, see
/// [`FeatureCache::features_with_degraded`]); a sample either copy cannot use is skipped whole. A
/// feature bank has no audio to degrade: an error.
pub fn load_labelled_degraded(
    path: &Path,
    cache: &mut FeatureCache,
    copy: u64,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<LabelledData, CorpusError> {
    if path.is_file() && FeatureBank::is_bank_file(path) {
        return Err(CorpusError::Format { path: path.to_path_buf(), message: "a feature bank holds no audio to degrade".into() });
    }
    let corpus = load(path)?;
    let (features, degraded) = cache.features_with_degraded(&corpus, copy, progress);
    let _ = cache.save();
    labelled(path, &corpus, features, Some(degraded))
}

fn labelled(
    path: &Path,
    corpus: &Corpus,
    features: Vec<SampleFeatures>,
    degraded: Option<Vec<SampleFeatures>>,
) -> Result<LabelledData, CorpusError> {
    let mut d = LabelledData { name: corpus.name.clone(), ..Default::default() };
    let mut degraded = degraded.map(|v| v.into_iter());
    for (s, f) in corpus.samples.iter().zip(features) {
        let copy = degraded.as_mut().and_then(|it| it.next());
        let f = match copy {
            None => f.map(|v| (v, None)),
            Some(c) => f.and_then(|v| c.map(|c| (v, Some(c)))),
        };
        match f {
            Ok((v, copy)) => {
                d.rows.push(v.to_vec());
                d.labels.push([s.activation, s.valence]);
                d.speakers.push(s.speaker.clone());
                d.corpora.push(corpus.name.clone());
                d.emotions.push(s.emotion.clone());
                if let Some(c) = copy {
                    d.degraded.push(c.to_vec());
                }
            }
            Err(e) => d.skipped.push(e.to_string()),
        }
    }
    if d.is_empty() {
        return Err(CorpusError::Empty { path: path.to_path_buf() });
    }
    Ok(d)
}

/// Mean of the rows whose emotion is a calm reference (neutral, calm, lowest arousal), if any.
pub(crate) fn calm_mean<'a>(rows: impl Iterator<Item = (&'a [f64], &'a str)>) -> Option<Vec<f64>> {
    let calm: Vec<&[f64]> = rows.filter(|(_, e)| crate::classify::calibration::is_calm(e)).map(|(r, _)| r).collect();
    let n = calm.len() as f64;
    let d = calm.first()?.len();
    Some((0..d).map(|j| calm.iter().map(|r| r[j]).sum::<f64>() / n).collect())
}
