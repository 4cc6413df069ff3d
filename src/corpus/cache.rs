//! On-disk cache of canonical-rate functionals, keyed by SHA-256 of the file's bytes and the
//! extractor version, so re-running an evaluation or training starts instantly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::Corpus;
use crate::egemaps::{self, EXTRACTOR_VERSION, N_FEATURES, Rate};

/// Why one corpus sample has no features.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SampleError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    #[error(transparent)]
    Extract(Arc<egemaps::FileError>),
    #[error("{0}: shorter than one 60 ms analysis frame")]
    TooShort(PathBuf),
}

/// One sample's functionals, or why it has none.
pub type SampleFeatures = Result<[f64; N_FEATURES], SampleError>;

pub struct FeatureCache {
    file: Option<PathBuf>,
    map: HashMap<String, [f64; N_FEATURES]>,
    dirty: bool,
}

impl FeatureCache {
    /// `$VALAR_CACHE_DIR`, else `$XDG_CACHE_HOME/valar`, else `~/.cache/valar`.
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("VALAR_CACHE_DIR") {
            return PathBuf::from(d);
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return PathBuf::from(d).join("valar");
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/valar")).unwrap_or_else(|| PathBuf::from(".valar-cache"))
    }

    /// Opens (or starts) the cache in `dir`. An unreadable or damaged cache is ignored: it
    /// only costs re-extraction.
    pub fn open(dir: &Path) -> Self {
        let file = dir.join(format!("features-{EXTRACTOR_VERSION}-decoder{}.csv", crate::audio::DECODER_VERSION));
        let mut map = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                let mut it = line.split(',');
                let Some(key) = it.next() else { continue };
                let vals: Vec<f64> = it.filter_map(|s| s.parse().ok()).collect();
                if vals.len() == N_FEATURES {
                    let mut v = [0.0; N_FEATURES];
                    v.copy_from_slice(&vals);
                    map.insert(key.to_string(), v);
                }
            }
        }
        Self { file: Some(file), map, dirty: false }
    }

    /// A cache that lives only as long as the process.
    pub fn in_memory() -> Self {
        Self { file: None, map: HashMap::new(), dirty: false }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Content key of a file.
    pub fn key(path: &Path) -> std::io::Result<String> {
        let bytes = std::fs::read(path)?;
        let digest = Sha256::digest(&bytes);
        Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn get(&self, key: &str) -> Option<&[f64; N_FEATURES]> {
        self.map.get(key)
    }

    pub fn insert(&mut self, key: String, v: [f64; N_FEATURES]) {
        self.map.insert(key, v);
        self.dirty = true;
    }

    /// Writes the cache atomically if anything was added.
    pub fn save(&mut self) -> std::io::Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        if !self.dirty {
            return Ok(());
        }
        let mut keys: Vec<&String> = self.map.keys().collect();
        keys.sort();
        crate::fsutil::write_atomic(file, |w| {
            for k in keys {
                write!(w, "{k}")?;
                for v in &self.map[k] {
                    write!(w, ",{v}")?;
                }
                writeln!(w)?;
            }
            Ok(())
        })?;
        self.dirty = false;
        Ok(())
    }

    /// Functionals of every sample of `corpus` (canonical 16 kHz), extracting what the cache
    /// lacks in parallel. A file that cannot be used yields why.
    pub fn corpus_features(&mut self, corpus: &Corpus, progress: &(dyn Fn(usize, usize) + Sync)) -> Vec<SampleFeatures> {
        let keys = content_keys(corpus);
        self.cached(corpus, &keys, None, progress)
    }

    /// [`Self::corpus_features`] and, beside them, the functionals of a degraded copy of every
    /// sample ([`crate::audio::degrade`]: another room, microphone, band limit, background
    /// and level), each file read and hashed once. Copy `copy` of a file is drawn from its
    /// content and `copy`, so every run gets the same copy; copies are cached beside the clean
    /// features. `progress` counts both passes (2 × samples).
    pub fn features_with_degraded(
        &mut self,
        corpus: &Corpus,
        copy: u64,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> (Vec<SampleFeatures>, Vec<SampleFeatures>) {
        let n = corpus.samples.len();
        let keys = content_keys(corpus);
        let clean = self.cached(corpus, &keys, None, &|done, _| progress(done, 2 * n));
        let degraded = self.cached(corpus, &keys, Some(copy), &|done, _| progress(n + done, 2 * n));
        (clean, degraded)
    }

    /// Features of `corpus` whose content keys are `keys` (the clean ones, or with `copy` those
    /// of degraded copy `copy`), extracting what the cache lacks in parallel.
    fn cached(
        &mut self,
        corpus: &Corpus,
        keys: &[Result<String, SampleError>],
        copy: Option<u64>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Vec<SampleFeatures> {
        use rayon::prelude::*;
        let total = corpus.samples.len();
        let tally = crate::tally::Tally::new();
        let keyed: Vec<Result<String, SampleError>> = match copy {
            None => keys.to_vec(),
            Some(c) => {
                keys.iter().map(|k| k.as_ref().map(|k| format!("{k}~degraded{DEGRADE_VERSION}-{c}")).map_err(Clone::clone)).collect()
            }
        };
        let results: Vec<SampleFeatures> = corpus
            .samples
            .par_iter()
            .zip(&keyed)
            .map(|(s, key)| {
                let r = match key {
                    Err(e) => Err(e.clone()),
                    Ok(k) => match (self.map.get(k), copy) {
                        (Some(v), _) => Ok(*v),
                        (None, None) => extract(&s.path),
                        (None, Some(c)) => extract_degraded(&s.path, copy_seed(k, c)),
                    },
                };
                tally.finish(|done| progress(done, total));
                r
            })
            .collect();
        for (key, r) in keyed.iter().zip(&results) {
            if let (Ok(k), Ok(v)) = (key, r)
                && !self.map.contains_key(k)
            {
                self.insert(k.clone(), *v);
            }
        }
        results
    }
}

/// Content key of every sample of `corpus` (SHA-256 of its bytes), or why it could not be read.
fn content_keys(corpus: &Corpus) -> Vec<Result<String, SampleError>> {
    use rayon::prelude::*;
    corpus
        .samples
        .par_iter()
        .map(|s| FeatureCache::key(&s.path).map_err(|e| SampleError::Read { path: s.path.clone(), source: Arc::new(e) }))
        .collect()
}

/// Version of the degradation chain ([`crate::audio::Degradation`]); part of the cache key of
/// degraded copies, so a changed chain is extracted afresh.
const DEGRADE_VERSION: u32 = 1;

/// The seed of a copy: its cache key (content hash, version, copy) folded to 64 bits.
fn copy_seed(key: &str, copy: u64) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(b) ^ copy
}

fn extract_degraded(path: &Path, seed: u64) -> SampleFeatures {
    let canonical = crate::audio::load_canonical(path).map_err(|e| SampleError::Extract(Arc::new(egemaps::FileError::from(e))))?;
    let samples = crate::audio::degrade(&canonical.samples, canonical.sample_rate, seed);
    let source = crate::audio::Source::Signal { name: path, samples: &samples, rate: canonical.sample_rate };
    let an = egemaps::extract_source(source, Rate::Canonical, false, 1).map_err(|e| SampleError::Extract(Arc::new(e)))?;
    if !an.functionals.is_valid() {
        return Err(SampleError::TooShort(path.to_path_buf()));
    }
    Ok(an.functionals.0)
}

fn extract(path: &Path) -> SampleFeatures {
    let an = egemaps::extract_file(path, Rate::Canonical, false, 1).map_err(|e| SampleError::Extract(Arc::new(e)))?;
    if !an.functionals.is_valid() {
        return Err(SampleError::TooShort(path.to_path_buf()));
    }
    Ok(an.functionals.0)
}
