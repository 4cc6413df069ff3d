//! The model bundle: a folder holding everything a trained predictor needs, checked on load.
//!
//! ```text
//! model.json     format and extractor versions, feature names, normalisers, the selected
//!                features and SVMs of both tasks, the encoder's shape and checksum, metadata
//! encoder.bpk    encoder weights (burnpack), absent for feature-only models
//! encoder-2.bpk  … the further autoencoders of an ensemble, one file each
//! ```
//! Loading turns a wrong version, a missing or truncated file or mismatched dimensions into a
//! [`BundleError`] naming the file; saving replaces the folder atomically.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::pipeline::{Member, Predictor, Representation};
use super::{InputFeatures, Normalization, Normalizer, TaskModel};
use crate::egemaps::{EXTRACTOR_VERSION, FEATURE_NAMES};
use crate::model::{Encoder, EpochLosses};

pub const FORMAT_VERSION: u32 = 1;
const MODEL_FILE: &str = "model.json";
const ENCODER_FILE: &str = "encoder.bpk";
/// The out-of-context feature bank a model was trained with (optional).
pub const BANK_FILE: &str = "out-of-context.csv";

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: missing (is this a valar model folder?)")]
    Missing { path: PathBuf },
    #[error("{path}: damaged ({detail})")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path}: {what} {found} is not supported (this valar reads {expected})")]
    Version { path: PathBuf, what: &'static str, found: String, expected: String },
    #[error("{path}: inconsistent model ({detail})")]
    Mismatch { path: PathBuf, detail: String },
}

/// Where a model came from and how well it did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub name: String,
    pub created: String,
    pub command: String,
    /// Training corpora: (name, samples used).
    pub in_context: Vec<(String, usize)>,
    pub out_of_context: Vec<(String, usize)>,
    pub device: String,
    /// Free-form evaluation results (e.g. leave-one-speaker-out UAR vs baseline).
    pub evaluation: serde_json::Value,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EncoderInfo {
    file: String,
    input_dims: usize,
    hidden: usize,
    dims: usize,
    sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelFile {
    format_version: u32,
    extractor_version: String,
    sample_rate: u32,
    feature_names: Vec<String>,
    representation: Representation,
    normalizer: Normalizer,
    /// How the training rows were standardised (older models: global).
    #[serde(default)]
    normalization: Normalization,
    /// Standardised features held within ± this (older models: not held).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clip: Option<f64>,
    /// The functionals the model reads (older models: all 88).
    #[serde(default)]
    input: InputFeatures,
    encoder: Option<EncoderInfo>,
    code_normalizer: Option<Normalizer>,
    activation: TaskModel,
    valence: TaskModel,
    training_history: Vec<EpochLosses>,
    metadata: Metadata,
    /// Mean raw functionals of the training data's calm (neutral) utterances: where a
    /// speaker's calm speech is moved when calibrating (older models: computed from the bank).
    #[serde(default)]
    calm_mean: Option<Vec<f64>>,
    /// The further autoencoders of an ensemble (older models: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    members: Vec<MemberFile>,
}

/// One further autoencoder of an ensemble: its weights' file, code normaliser and SVMs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemberFile {
    encoder: EncoderInfo,
    code_normalizer: Normalizer,
    activation: TaskModel,
    valence: TaskModel,
}

/// The weights file of member `m` (0: the first).
fn encoder_file(m: usize) -> String {
    if m == 0 { ENCODER_FILE.into() } else { format!("encoder-{}.bpk", m + 1) }
}

fn encoder_info(e: &Encoder, file: String, bytes: &[u8]) -> EncoderInfo {
    EncoderInfo { file, input_dims: e.input_dims(), hidden: e.hidden(), dims: e.dims(), sha256: sha256_hex(bytes) }
}

/// A loaded model: the predictor plus what describes it.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub predictor: Predictor,
    pub representation: Representation,
    pub metadata: Metadata,
    pub path: PathBuf,
}

/// The bundled model: `$VALAR_MODEL`, else `models/default` beside the executable's project
/// (for `cargo run` and installed copies), else in the working folder.
pub fn default_model_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("VALAR_MODEL") {
        return PathBuf::from(p);
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        for anc in exe.ancestors().skip(1).take(4) {
            candidates.push(anc.join("models/default"));
        }
    }
    candidates.push(PathBuf::from("models/default"));
    candidates.push(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default")));
    candidates.iter().find(|p| p.join(MODEL_FILE).is_file()).cloned().unwrap_or_else(|| candidates.remove(candidates.len() - 1))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// An encoder's weights from `dir`, checked against their checksum and shape.
fn load_encoder(dir: &Path, info: &EncoderInfo, device: &Device) -> Result<Encoder, BundleError> {
    let epath = dir.join(&info.file);
    let eb = std::fs::read(&epath).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => BundleError::Missing { path: epath.clone() },
        _ => BundleError::Io { path: epath.clone(), source },
    })?;
    if sha256_hex(&eb) != info.sha256 {
        return Err(BundleError::Corrupt { path: epath, detail: "checksum does not match (truncated or modified)".into() });
    }
    if info.input_dims != 88 {
        return Err(BundleError::Mismatch { path: epath, detail: format!("encoder takes {} inputs, expected 88", info.input_dims) });
    }
    Encoder::from_bytes(&eb, info.input_dims, info.hidden, info.dims, device)
        .map_err(|e| BundleError::Corrupt { path: epath, detail: e.to_string() })
}

impl Bundle {
    /// Saves atomically into `dir`: a crash mid-save leaves any previous model intact. An
    /// out-of-context feature bank, when given, is stored beside the model so others can
    /// retrain with enrichment without the corpora.
    pub fn save(
        predictor: &Predictor,
        representation: &Representation,
        metadata: &Metadata,
        bank: Option<&crate::corpus::FeatureBank>,
        dir: &Path,
    ) -> Result<(), BundleError> {
        let to_bytes =
            |e: &Encoder, file: &str| e.to_bytes().map_err(|err| BundleError::Corrupt { path: dir.join(file), detail: err.to_string() });
        let enc_bytes = match &predictor.encoder {
            Some(e) => Some(to_bytes(e, ENCODER_FILE)?),
            None => None,
        };
        let mut member_files = Vec::new();
        let mut member_bytes = Vec::new();
        for (m, member) in predictor.members.iter().enumerate() {
            let file = encoder_file(m + 1);
            let bytes = to_bytes(&member.encoder, &file)?;
            member_files.push(MemberFile {
                encoder: encoder_info(&member.encoder, file.clone(), &bytes),
                code_normalizer: member.code_normalizer.clone(),
                activation: member.tasks[0].clone(),
                valence: member.tasks[1].clone(),
            });
            member_bytes.push((file, bytes));
        }
        let file = ModelFile {
            format_version: FORMAT_VERSION,
            extractor_version: EXTRACTOR_VERSION.into(),
            sample_rate: crate::audio::CANONICAL_RATE,
            feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            representation: representation.clone(),
            normalizer: predictor.normalizer.clone(),
            normalization: predictor.normalization,
            clip: predictor.clip,
            input: predictor.input,
            encoder: predictor.encoder.as_ref().zip(enc_bytes.as_ref()).map(|(e, b)| encoder_info(e, ENCODER_FILE.into(), b)),
            code_normalizer: predictor.code_normalizer.clone(),
            activation: predictor.tasks[0].clone(),
            valence: predictor.tasks[1].clone(),
            training_history: predictor.history.clone(),
            metadata: metadata.clone(),
            calm_mean: predictor.calm_mean.clone(),
            members: member_files,
        };
        let json =
            serde_json::to_vec_pretty(&file).map_err(|e| BundleError::Corrupt { path: dir.join(MODEL_FILE), detail: e.to_string() })?;
        crate::fsutil::replace_dir_atomic(dir, |staging| {
            std::fs::write(staging.join(MODEL_FILE), &json)?;
            if let Some(b) = &enc_bytes {
                std::fs::write(staging.join(ENCODER_FILE), b)?;
            }
            for (file, b) in &member_bytes {
                std::fs::write(staging.join(file), b)?;
            }
            if let Some(bank) = bank {
                bank.save(&staging.join(BANK_FILE))?;
            }
            Ok(())
        })
        .map_err(|source| BundleError::Io { path: dir.to_path_buf(), source })
    }

    /// Loads and checks a bundle. The encoder runs on `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, BundleError> {
        let mpath = dir.join(MODEL_FILE);
        let bytes = std::fs::read(&mpath).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => BundleError::Missing { path: mpath.clone() },
            _ => BundleError::Io { path: mpath.clone(), source },
        })?;
        // Read the version first so a future format gives a version error, not a parse error.
        let probe: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| BundleError::Corrupt { path: mpath.clone(), detail: e.to_string() })?;
        let version = probe.get("format_version").and_then(|v| v.as_u64());
        if version != Some(FORMAT_VERSION as u64) {
            return Err(BundleError::Version {
                path: mpath,
                what: "format version",
                found: version.map(|v| v.to_string()).unwrap_or_else(|| "(none)".into()),
                expected: FORMAT_VERSION.to_string(),
            });
        }
        let f: ModelFile =
            serde_json::from_value(probe).map_err(|e| BundleError::Corrupt { path: mpath.clone(), detail: e.to_string() })?;
        if f.extractor_version != EXTRACTOR_VERSION {
            return Err(BundleError::Version {
                path: mpath,
                what: "feature extractor",
                found: f.extractor_version,
                expected: EXTRACTOR_VERSION.into(),
            });
        }
        let mismatch = |detail: String| BundleError::Mismatch { path: mpath.clone(), detail };
        if f.feature_names.len() != FEATURE_NAMES.len() || f.feature_names.iter().zip(FEATURE_NAMES).any(|(a, b)| a != b) {
            return Err(mismatch("feature names differ from eGeMAPSv02's 88".into()));
        }
        if f.normalizer.dims() != FEATURE_NAMES.len() || f.normalizer.std.len() != f.normalizer.dims() {
            return Err(mismatch(format!("normaliser has {} dimensions, expected 88", f.normalizer.dims())));
        }
        // A spread of zero (or below) would turn every row into ±∞ or NaN before the SVM.
        for (what, n) in [("normaliser", Some(&f.normalizer)), ("code normaliser", f.code_normalizer.as_ref())] {
            if let Some(k) = n.and_then(|n| n.std.iter().position(|s| !(s.is_finite() && *s > 0.0))) {
                return Err(mismatch(format!("{what}'s spread of dimension {k} is not a positive number")));
            }
        }
        let encoder = match (&f.encoder, f.representation.aae()) {
            (None, None) => None,
            (Some(info), Some(_)) => Some(load_encoder(dir, info, device)?),
            (Some(_), None) => return Err(mismatch("encoder weights for a feature-only model".into())),
            (None, Some(_)) => return Err(mismatch("autoencoder model without encoder weights".into())),
        };
        let append = f.representation.aae().is_some_and(|a| a.append_features);
        let rep_dims = encoder.as_ref().map(|e| e.dims() + if append { 88 } else { 0 }).unwrap_or(88);
        match (&encoder, &f.code_normalizer) {
            (Some(_), Some(cn)) if cn.dims() == rep_dims && cn.std.len() == rep_dims => {}
            (None, None) => {}
            _ => return Err(mismatch("code normaliser does not match the encoder".into())),
        }
        let check_tasks = |which: &str, tasks: [&TaskModel; 2]| -> Result<(), BundleError> {
            for (name, t) in ["activation", "valence"].iter().zip(tasks) {
                if t.selected.is_empty() || t.selected.iter().any(|&c| c >= rep_dims) {
                    return Err(mismatch(format!("{which}{name} classifier selects dimensions outside 0..{rep_dims}")));
                }
                if let Some(w) = t.svm.input_dims()
                    && w != t.selected.len()
                {
                    return Err(mismatch(format!("{which}{name} SVM takes {w} inputs but {} dimensions are selected", t.selected.len())));
                }
            }
            Ok(())
        };
        check_tasks("", [&f.activation, &f.valence])?;
        if !f.members.is_empty() && encoder.is_none() {
            return Err(mismatch("ensemble members for a feature-only model".into()));
        }
        let mut members = Vec::with_capacity(f.members.len());
        for (m, mf) in f.members.into_iter().enumerate() {
            let which = format!("ensemble member {}: ", m + 2);
            let enc = load_encoder(dir, &mf.encoder, device)?;
            let cn = mf.code_normalizer;
            if enc.dims() + if append { 88 } else { 0 } != rep_dims || cn.dims() != rep_dims || cn.std.len() != rep_dims {
                return Err(mismatch(format!("{which}its code does not match the first member's")));
            }
            if let Some(k) = cn.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
                return Err(mismatch(format!("{which}code normaliser's spread of dimension {k} is not a positive number")));
            }
            check_tasks(&which, [&mf.activation, &mf.valence])?;
            members.push(Member { encoder: enc, code_normalizer: cn, tasks: [mf.activation, mf.valence] });
        }
        Ok(Self {
            predictor: Predictor {
                input: f.input,
                normalizer: f.normalizer,
                normalization: f.normalization,
                clip: match f.clip {
                    Some(c) if !(c.is_finite() && c > 0.0) => return Err(mismatch(format!("clip {c} is not a positive number"))),
                    c => c,
                },
                encoder,
                code_normalizer: f.code_normalizer,
                tasks: [f.activation, f.valence],
                members,
                history: f.training_history,
                append_features: append,
                diagnostics: Default::default(),
                calm_mean: match f.calm_mean {
                    Some(m) if m.len() == 88 && m.iter().all(|v| v.is_finite()) => Some(m),
                    Some(_) => return Err(mismatch("calm mean is not 88 finite values".into())),
                    // An older model: its bank holds the calm utterances of its corpora.
                    None => crate::corpus::FeatureBank::load(&dir.join(BANK_FILE)).ok().and_then(|b| b.calm_mean()).map(|mut m| {
                        f.input.apply_row(&mut m);
                        m
                    }),
                },
            },
            representation: f.representation,
            metadata: f.metadata,
            path: dir.to_path_buf(),
        })
    }
}
