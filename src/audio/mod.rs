//! Audio in: files of any supported format and rate, the microphone, and a file played as if
//! it were a microphone. Everything leaves this module as mono `f32`. Audio out: a stretch of a
//! recording played through the default output device.

mod decode;
mod degrade;
mod error;
mod live;
mod playback;
mod resample;

pub use decode::{
    AUDIO_EXTENSIONS, Audio, AudioInfo, DECODER_VERSION, MAX_RATE, MIN_RATE, decode_file, is_audio_path, on_opensmile_grid, stream_file,
};
pub use degrade::{Degradation, Noise, degrade};
pub use error::AudioError;
pub use live::{InputDevice, LiveEvent, LiveInput, input_devices, record, write_wav};
pub use playback::Player;
pub use resample::{CANONICAL_RATE, StreamResampler, resample};

/// Signals with known answers (tones, seeded noise, glottal pulses, vowels), from the extractor's crate.
pub use valar_egemaps::synth;

use std::path::{Path, PathBuf};

/// Where samples come from: a file, decoded block by block, or samples already in memory (the
/// Python package's `process_signal`), which then take exactly the path a file's do.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    File(&'a Path),
    /// Mono samples at `rate`; `name` is what messages call them.
    Signal {
        name: &'a Path,
        samples: &'a [f32],
        rate: u32,
    },
}

impl Source<'_> {
    /// What messages call this source.
    pub fn name(&self) -> &Path {
        match self {
            Source::File(p) => p,
            Source::Signal { name, .. } => name,
        }
    }

    /// Streams the samples into `sink(block, rate)` in blocks of about `block_frames` (see
    /// [`stream_file`]); a signal's rate is checked as a file's is.
    pub fn stream(&self, block_frames: usize, mut sink: impl FnMut(&[f32], u32) -> bool) -> Result<(), AudioError> {
        match *self {
            Source::File(path) => stream_file(path, block_frames, sink).map(|_| ()),
            Source::Signal { name, samples, rate } => {
                if !(MIN_RATE..=MAX_RATE).contains(&rate) {
                    return Err(AudioError::Rate { path: name.to_path_buf(), rate });
                }
                if samples.is_empty() {
                    return Err(AudioError::NoSamples { path: name.to_path_buf() });
                }
                for block in samples.chunks(block_frames.max(1)) {
                    if !sink(block, rate) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Decodes `path` and converts it to the 16 kHz canonical rate every model stage uses.
pub fn load_canonical(path: &Path) -> Result<Audio, AudioError> {
    let (audio, _) = decode_file(path)?;
    let samples = resample(&audio.samples, audio.sample_rate, CANONICAL_RATE)?;
    Ok(Audio { samples, sample_rate: CANONICAL_RATE })
}

/// Audio files under `root` (recursively, sorted), or `root` itself if it is a file.
/// Hidden entries are skipped. Paths come back as found (joined onto `root`).
pub fn find_audio_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let ft = entry.file_type()?;
            if ft.is_dir() || (ft.is_symlink() && path.is_dir()) {
                stack.push(path);
            } else if is_audio_path(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
