//! eGeMAPSv02 for valar: the [`valar_egemaps`] crate (samples and a rate in, functionals and
//! LLDs out), plus extraction straight from an audio file, decoded and resampled block by block.

use std::path::{Path, PathBuf};

pub use valar_egemaps::*;

use crate::audio::{self, AudioError};

/// Why a file could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("{path}: {count} samples are not numbers (NaN or infinite), the first at {first_s:.3} s: refused")]
    NonFinite { path: PathBuf, count: usize, first_s: f64 },
}

/// Counts non-finite samples as blocks stream past, so a file holding NaN or infinities is
/// refused with where they are, not analysed into garbage.
#[derive(Debug, Default)]
pub struct FiniteGuard {
    seen: usize,
    count: usize,
    first: Option<usize>,
}

impl FiniteGuard {
    pub fn scan(&mut self, block: &[f32]) {
        for (i, v) in block.iter().enumerate() {
            if !v.is_finite() {
                self.count += 1;
                self.first.get_or_insert(self.seen + i);
            }
        }
        self.seen += block.len();
    }

    /// The error to give, if any sample was not finite (`rate`: the samples' rate).
    pub fn error(&self, path: &Path, rate: u32) -> Option<FileError> {
        self.first.map(|f| FileError::NonFinite { path: path.to_path_buf(), count: self.count, first_s: f as f64 / rate.max(1) as f64 })
    }
}

/// Which rate a file is analysed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// The file's own rate, as openSMILE does (for `valar extract` and parity).
    Native,
    /// valar's canonical 16 kHz (for the model).
    Canonical,
}

/// Decodes `path` in blocks and extracts its features in bounded memory, its frames spread
/// over `threads` threads (the result does not depend on how many).
pub fn extract_file(path: &Path, rate: Rate, with_lld: bool, threads: usize) -> Result<Analysis, FileError> {
    extract_source(audio::Source::File(path), rate, with_lld, threads)
}

/// Extracts the features of a file or an in-memory signal, block by block: a signal gives
/// exactly what the same samples decoded from a file give. `threads` as for [`extract_file`].
pub fn extract_source(source: audio::Source<'_>, rate: Rate, with_lld: bool, threads: usize) -> Result<Analysis, FileError> {
    let path = source.name();
    let mut state: Option<(Session, audio::StreamResampler)> = None;
    let mut failure: Option<FileError> = None;
    let mut buf = Vec::new();
    let mut guard = FiniteGuard::default();
    let mut native_rate = 0;
    // Larger blocks when frames are spread over threads: fewer hand-overs per second of audio.
    source.stream((1 << 15) * threads.clamp(1, 8), |block, fs| {
        guard.scan(block);
        native_rate = fs;
        if state.is_none() {
            let target = match rate {
                Rate::Native => fs,
                Rate::Canonical => audio::CANONICAL_RATE,
            };
            let session = Extractor::new(target)
                .map_err(FileError::from)
                .and_then(|e| Ok((e.threads(threads).session(), audio::StreamResampler::new(fs, target)?)));
            match session {
                Ok(s) => state = Some(s),
                Err(e) => {
                    failure = Some(e);
                    return false;
                }
            }
        }
        let Some((session, rs)) = state.as_mut() else { return false };
        buf.clear();
        if let Err(e) = rs.process(block, &mut buf) {
            failure = Some(e.into());
            return false;
        }
        session.push(&buf);
        true
    })?;
    if let Some(e) = guard.error(path, native_rate) {
        return Err(e);
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let Some((mut session, mut rs)) = state else {
        return Err(AudioError::NoSamples { path: path.to_path_buf() }.into());
    };
    buf.clear();
    rs.finish(&mut buf)?;
    session.push(&buf);
    Ok(session.finish(with_lld))
}
