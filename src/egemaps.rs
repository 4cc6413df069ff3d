//! eGeMAPSv02 for valar: the [`valar_egemaps`] crate (samples and a rate in, functionals and
//! LLDs out), plus extraction straight from an audio file, decoded and resampled block by block.

use std::path::Path;

pub use valar_egemaps::*;

use crate::audio::{self, AudioError};

/// Why a file could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Audio(#[from] AudioError),
}

/// Which rate a file is analysed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// The file's own rate, as openSMILE does (for `valar extract` and parity).
    Native,
    /// valar's canonical 16 kHz (for the model).
    Canonical,
}

/// Decodes `path` in blocks and extracts its features in bounded memory.
pub fn extract_file(path: &Path, rate: Rate, with_lld: bool) -> Result<Analysis, FileError> {
    let mut state: Option<(Session, audio::StreamResampler)> = None;
    let mut failure: Option<FileError> = None;
    let mut buf = Vec::new();
    audio::stream_file(path, 1 << 15, |block, fs| {
        if state.is_none() {
            let target = match rate {
                Rate::Native => fs,
                Rate::Canonical => audio::CANONICAL_RATE,
            };
            let session =
                Extractor::new(target).map_err(FileError::from).and_then(|e| Ok((e.session(), audio::StreamResampler::new(fs, target)?)));
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
