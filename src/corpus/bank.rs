//! Feature banks: features with labels, speakers and corpus names, but no audio. The default
//! model ships the out-of-context bank it was trained with, so users can retrain with
//! enrichment without owning those corpora.

use std::path::Path;

use super::{Corpus, CorpusError};
use crate::egemaps::{FEATURE_NAMES, N_FEATURES};

#[derive(Debug, Clone, PartialEq)]
pub struct BankRow {
    pub corpus: String,
    pub speaker: String,
    pub emotion: String,
    pub activation: Option<bool>,
    pub valence: Option<bool>,
    pub features: [f64; N_FEATURES],
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureBank {
    pub rows: Vec<BankRow>,
}

fn label_cell(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "1",
        Some(false) => "-1",
        None => "",
    }
}

impl FeatureBank {
    /// Mean functionals of the bank's calm (neutral) rows, if it has any.
    pub fn calm_mean(&self) -> Option<Vec<f64>> {
        super::calm_mean(self.rows.iter().map(|r| (r.features.as_slice(), r.emotion.as_str())))
    }

    /// Builds a bank from a corpus and its features (samples whose extraction failed are left out).
    pub fn from_corpus(corpus: &Corpus, features: &[super::cache::SampleFeatures]) -> Self {
        let rows = corpus
            .samples
            .iter()
            .zip(features)
            .filter_map(|(s, f)| {
                f.as_ref().ok().map(|f| BankRow {
                    corpus: corpus.name.clone(),
                    speaker: s.speaker.clone(),
                    emotion: s.emotion.clone(),
                    activation: s.activation,
                    valence: s.valence,
                    features: *f,
                })
            })
            .collect();
        Self { rows }
    }

    /// Whether a CSV file is a bank (has feature columns) rather than a manifest.
    pub fn is_bank_file(path: &Path) -> bool {
        csv::Reader::from_path(path)
            .ok()
            .and_then(|mut r| r.headers().ok().map(|h| h.iter().any(|c| c == FEATURE_NAMES[0])))
            .unwrap_or(false)
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        crate::fsutil::write_atomic(path, |w| {
            write!(w, "corpus,speaker,emotion,activation,valence")?;
            for n in FEATURE_NAMES {
                write!(w, ",{n}")?;
            }
            writeln!(w)?;
            for r in &self.rows {
                write!(w, "{},{},{},{},{}", r.corpus, r.speaker, r.emotion, label_cell(r.activation), label_cell(r.valence))?;
                for v in &r.features {
                    write!(w, ",{v}")?;
                }
                writeln!(w)?;
            }
            Ok(())
        })
    }

    pub fn load(path: &Path) -> Result<Self, CorpusError> {
        let fmt = |message: String| CorpusError::Format { path: path.to_path_buf(), message };
        let mut rdr = csv::Reader::from_path(path).map_err(|e| fmt(e.to_string()))?;
        let h = rdr.headers().map_err(|e| fmt(e.to_string()))?.clone();
        let col = |n: &str| h.iter().position(|c| c == n);
        let feat: Vec<usize> =
            FEATURE_NAMES.iter().map(|n| col(n).ok_or_else(|| fmt(format!("missing feature column {n}")))).collect::<Result<_, _>>()?;
        let (cc, sc, ec, ac, vc) = (col("corpus"), col("speaker"), col("emotion"), col("activation"), col("valence"));
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| fmt(format!("line {}: {e}", i + 2)))?;
            let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim().to_string();
            let label = |c: Option<usize>| -> Result<Option<bool>, CorpusError> {
                super::parse_label(&get(c)).map_err(|m| fmt(format!("line {}: {m}", i + 2)))
            };
            let mut features = [0.0; N_FEATURES];
            for (j, &c) in feat.iter().enumerate() {
                features[j] = rec
                    .get(c)
                    .and_then(|s| s.trim().parse().ok())
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| fmt(format!("line {}: bad value for {}", i + 2, FEATURE_NAMES[j])))?;
            }
            rows.push(BankRow {
                corpus: get(cc),
                speaker: get(sc),
                emotion: get(ec),
                activation: label(ac)?,
                valence: label(vc)?,
                features,
            });
        }
        if rows.is_empty() {
            return Err(CorpusError::Empty { path: path.to_path_buf() });
        }
        Ok(Self { rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_round_trip() {
        let mut f = [0.0; N_FEATURES];
        f[3] = 1.25;
        f[87] = -7.5e-9;
        let bank = FeatureBank {
            rows: vec![BankRow {
                corpus: "x".into(),
                speaker: "x:1".into(),
                emotion: "anger".into(),
                activation: Some(true),
                valence: None,
                features: f,
            }],
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bank.csv");
        bank.save(&p).unwrap();
        assert!(FeatureBank::is_bank_file(&p));
        assert_eq!(FeatureBank::load(&p).unwrap(), bank);
    }
}
