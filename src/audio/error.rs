use std::path::PathBuf;

/// Everything that can go wrong reading or capturing audio. Messages name the file (or device)
/// and the reason in one line, so batch commands can report and carry on.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    #[error("{path}: file is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error("{path}: not a supported audio file ({detail})")]
    Unsupported { path: PathBuf, detail: String },
    #[error("{path}: corrupt audio data ({detail})")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path}: file is truncated ({detail})")]
    Truncated { path: PathBuf, detail: String },
    #[error("{path}: contains no audio samples")]
    NoSamples { path: PathBuf },
    #[error("{path}: sample rate {rate} Hz is outside the supported 8000-192000 Hz")]
    Rate { path: PathBuf, rate: u32 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("resampling failed: {0}")]
    Resample(String),
    #[error("audio device: {0}")]
    Device(String),
}
