//! Decoding audio files to mono `f32` at their native rate.
//!
//! Scale: every sample is put on openSMILE's 16-bit grid, as opensmile-python (and so the
//! reference, `egemaps_ref.py`) feeds openSMILE: the sample at unit scale (integer PCM of `b`
//! bits as `v / 2^(b-1)`, floating point as it is) is multiplied by 32768, truncated to a 16-bit
//! integer and read as `q / 32767` (egemaps-spec §2). 16-bit input is exactly `v / 32767`;
//! 24-bit, 32-bit and floating-point input (MP3 and Vorbis decode to floats) lose what lies
//! below 16 bits, as they do in openSMILE — without it, 24-bit and float WAVs differed from
//! openSMILE on about 50 of the 88 functionals. Samples at or beyond full scale saturate
//! (numpy's cast in opensmile-python wraps them around instead). NaN and infinities pass
//! through, for the caller to refuse. Of several channels the first is analysed, as
//! opensmile-python does by default (`channels=0, mixdown=False`), so a stereo file gives the
//! reference's numbers even when its channels differ.
//! WAV goes through `hound` (8/16/24/32-bit integer, 32-bit float); everything else (FLAC,
//! OGG/Vorbis, MP3, and WAV variants hound rejects) through `symphonia`.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::AudioError;

/// Bumped whenever decoded samples can change (feature caches are keyed by it): 2 puts every
/// format on openSMILE's 16-bit grid; 3 takes a multichannel file's first channel instead of
/// the channels' mean.
pub const DECODER_VERSION: u32 = 3;

/// Gain that maps a full-scale integer to openSMILE's 1/32767 convention.
const OPENSMILE_GAIN: f64 = 32768.0 / 32767.0;

/// A unit-scale sample on openSMILE's 16-bit grid: `trunc(x · 32768)` (saturated to 16 bits)
/// read as `q / 32767`. Non-finite values are kept as they are.
pub fn on_opensmile_grid(x: f64) -> f32 {
    if !x.is_finite() {
        return x as f32;
    }
    let q = (x * 32768.0).trunc().clamp(-32768.0, 32767.0);
    (q * (OPENSMILE_GAIN / 32768.0)) as f32
}
/// Lowest and highest sample rates valar accepts: the extractor's.
pub use valar_egemaps::{MAX_RATE, MIN_RATE};
/// Extensions the folder walkers treat as audio.
pub const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "flac", "ogg", "mp3", "oga"];

/// Decoded mono audio: a file's first channel.
#[derive(Debug, Clone)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl Audio {
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// What `valar info` reports about a file.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    /// Bits per sample of integer PCM (None for lossy or float codecs).
    pub bits_per_sample: Option<u32>,
    pub frames: u64,
}

impl AudioInfo {
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / self.sample_rate as f64
    }
}

/// Whether `path` has an extension valar decodes.
pub fn is_audio_path(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).map(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())).unwrap_or(false)
}

/// Decodes a whole file's first channel at its native rate.
pub fn decode_file(path: &Path) -> Result<(Audio, AudioInfo), AudioError> {
    let mut samples = Vec::new();
    let info = stream_file(path, 1 << 16, |block, _rate| {
        samples.extend_from_slice(block);
        true
    })?;
    Ok((Audio { samples, sample_rate: info.sample_rate }, info))
}

/// Decodes `path` block by block (its first channel, native rate) into `sink(block, sample_rate)`, in
/// blocks of about `block_frames`, so arbitrarily long files need bounded memory. `sink`
/// returns `false` to stop early. Returns the file's description.
pub fn stream_file(path: &Path, block_frames: usize, mut sink: impl FnMut(&[f32], u32) -> bool) -> Result<AudioInfo, AudioError> {
    let io = |source: std::io::Error| match source.kind() {
        ErrorKind::NotFound => AudioError::NotFound { path: path.to_path_buf() },
        _ => AudioError::Io { path: path.to_path_buf(), source },
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(AudioError::Unsupported { path: path.to_path_buf(), detail: "it is a folder".into() });
    }
    if meta.len() == 0 {
        return Err(AudioError::Empty { path: path.to_path_buf() });
    }
    let mut head = [0u8; 12];
    let n = File::open(path).and_then(|mut f| read_up_to(&mut f, &mut head)).map_err(io)?;
    let is_riff_wave = n >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE";
    if is_riff_wave {
        match stream_wav_hound(path, block_frames.max(1), &mut sink) {
            Ok(info) => return Ok(info),
            // hound rejects some valid WAV variants (e.g. A-law); symphonia may take them.
            Err(HoundFailure::Unsupported) => {}
            Err(HoundFailure::Fatal(e)) => return Err(e),
        }
    }
    // A third-party decoder that panics on malformed data (fuzzing found symphonia's WAV reader
    // overflowing on an absurd channel count) fails this file, not the run.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stream_symphonia(path, block_frames.max(1), &mut sink)))
        .unwrap_or_else(|_| Err(AudioError::Corrupt { path: path.to_path_buf(), detail: "the decoder failed on malformed data".into() }))
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

enum HoundFailure {
    Unsupported,
    Fatal(AudioError),
}

fn check_rate(path: &Path, rate: u32) -> Result<(), AudioError> {
    if (MIN_RATE..=MAX_RATE).contains(&rate) { Ok(()) } else { Err(AudioError::Rate { path: path.to_path_buf(), rate }) }
}

/// The first channel of interleaved frames into `out`, at unit scale (each sample times
/// `unit`), on openSMILE's grid ([`on_opensmile_grid`]).
fn first_channel_into<T: Copy>(interleaved: &[T], channels: usize, unit: f64, to_f64: impl Fn(T) -> f64, out: &mut Vec<f32>) {
    out.clear();
    out.extend(interleaved.chunks_exact(channels).map(|frame| on_opensmile_grid(to_f64(frame[0]) * unit)));
}

/// Bytes each sample occupies in a WAV file's data chunk (its fmt chunk's block align over
/// its channels), read from the RIFF chunks before the data; None if they cannot be read.
fn stored_sample_bytes(path: &Path) -> Option<u16> {
    let mut f = std::io::BufReader::new(File::open(path).ok()?);
    let mut riff = [0u8; 12];
    f.read_exact(&mut riff).ok()?;
    if &riff[..4] != b"RIFF" || &riff[8..] != b"WAVE" {
        return None;
    }
    loop {
        let mut head = [0u8; 8];
        f.read_exact(&mut head).ok()?;
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as u64;
        if &head[..4] == b"fmt " {
            let mut fmt = [0u8; 14];
            f.read_exact(&mut fmt).ok()?;
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let block_align = u16::from_le_bytes([fmt[12], fmt[13]]);
            return (channels > 0 && block_align % channels == 0).then(|| block_align / channels);
        }
        if &head[..4] == b"data" {
            return None;
        }
        // Chunks are padded to an even length.
        std::io::copy(&mut (&mut f).take(size + (size & 1)), &mut std::io::sink()).ok()?;
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn stream_wav_hound(path: &Path, block_frames: usize, sink: &mut impl FnMut(&[f32], u32) -> bool) -> Result<AudioInfo, HoundFailure> {
    let p = path.to_path_buf();
    let reader = match hound::WavReader::open(path) {
        Ok(r) => r,
        // The file itself was readable (its first bytes were just read), so an I/O error while
        // parsing the header means the header stops short.
        Err(hound::Error::IoError(_)) => {
            return Err(HoundFailure::Fatal(AudioError::Truncated { path: p, detail: "the WAV header ends early".into() }));
        }
        Err(hound::Error::Unsupported) => return Err(HoundFailure::Unsupported),
        Err(e) => {
            return Err(HoundFailure::Fatal(AudioError::Corrupt { path: p, detail: e.to_string() }));
        }
    };
    let spec = reader.spec();
    check_rate(path, spec.sample_rate).map_err(HoundFailure::Fatal)?;
    let channels = spec.channels as usize;
    if channels == 0 {
        return Err(HoundFailure::Fatal(AudioError::Corrupt { path: p, detail: "0 channels".into() }));
    }
    let declared = reader.duration() as u64;
    // The data chunk may claim more than the file holds: measure what is really there.
    let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bytes_per_frame = (spec.bits_per_sample as u64).div_ceil(8) * channels as u64;
    let info = AudioInfo {
        container: "wav".into(),
        codec: match spec.sample_format {
            hound::SampleFormat::Float => "pcm_f32".into(),
            hound::SampleFormat::Int => format!("pcm_s{}", spec.bits_per_sample),
        },
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits_per_sample: match spec.sample_format {
            hound::SampleFormat::Int => Some(spec.bits_per_sample as u32),
            hound::SampleFormat::Float => None,
        },
        frames: declared,
    };
    if declared == 0 {
        return Err(HoundFailure::Fatal(AudioError::NoSamples { path: p }));
    }
    if bytes_per_frame > 0 && declared * bytes_per_frame > file_len {
        return Err(HoundFailure::Fatal(AudioError::Truncated {
            path: p,
            detail: format!("header declares {declared} frames, the file holds at most {}", file_len / bytes_per_frame),
        }));
    }
    let chunk = block_frames * channels;
    let mut frames = 0u64;
    let mut out = Vec::with_capacity(block_frames);
    let fail = |e: hound::Error, frames: u64| match e {
        hound::Error::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => HoundFailure::Fatal(AudioError::Truncated {
            path: path.to_path_buf(),
            detail: format!("data ends after {frames} of {declared} frames"),
        }),
        other => HoundFailure::Fatal(AudioError::Corrupt { path: path.to_path_buf(), detail: other.to_string() }),
    };
    macro_rules! pump {
        ($ty:ty, $gain:expr) => {{
            let mut r = reader;
            let mut buf: Vec<$ty> = Vec::with_capacity(chunk);
            let mut it = r.samples::<$ty>();
            loop {
                buf.clear();
                for s in it.by_ref().take(chunk) {
                    buf.push(s.map_err(|e| fail(e, frames))?);
                }
                if buf.is_empty() {
                    break;
                }
                let whole = buf.len() / channels * channels;
                first_channel_into(&buf[..whole], channels, $gain, |v| v as f64, &mut out);
                frames += out.len() as u64;
                if !sink(&out, spec.sample_rate) {
                    break;
                }
                if buf.len() < chunk {
                    break;
                }
            }
        }};
    }
    match (spec.sample_format, spec.bits_per_sample) {
        // The commonest WAV: its data chunk read in bulk (hound's per-sample reader costs
        // about a tenth of the analysis); the same samples, the same errors.
        (hound::SampleFormat::Int, 16) if stored_sample_bytes(path) == Some(2) => {
            let total = declared * channels as u64;
            let mut r = reader.into_inner();
            let mut bytes = vec![0u8; chunk * 2];
            let mut buf: Vec<i16> = Vec::with_capacity(chunk);
            let mut read = 0u64;
            while read < total {
                let want = (total - read).min(chunk as u64) as usize * 2;
                let got = read_full(&mut r, &mut bytes[..want]).map_err(|e| fail(hound::Error::IoError(e), frames))?;
                if got < want {
                    let eof = std::io::Error::from(ErrorKind::UnexpectedEof);
                    return Err(fail(hound::Error::IoError(eof), frames));
                }
                buf.clear();
                buf.extend(bytes[..got].as_chunks::<2>().0.iter().map(|b| i16::from_le_bytes(*b)));
                read += buf.len() as u64;
                let whole = buf.len() / channels * channels;
                first_channel_into(&buf[..whole], channels, 1.0 / 32768.0, |v| v as f64, &mut out);
                frames += out.len() as u64;
                if !sink(&out, spec.sample_rate) {
                    break;
                }
            }
        }
        (hound::SampleFormat::Float, 32) => pump!(f32, 1.0),
        (hound::SampleFormat::Int, 8) => pump!(i8, 1.0 / 128.0),
        (hound::SampleFormat::Int, 16) => pump!(i16, 1.0 / 32768.0),
        (hound::SampleFormat::Int, b @ 17..=32) => pump!(i32, 1.0 / (1u64 << (b - 1)) as f64),
        _ => return Err(HoundFailure::Unsupported),
    }
    if frames < declared && frames == 0 {
        return Err(HoundFailure::Fatal(AudioError::NoSamples { path: p }));
    }
    Ok(info)
}

fn stream_symphonia(path: &Path, block_frames: usize, sink: &mut impl FnMut(&[f32], u32) -> bool) -> Result<AudioInfo, AudioError> {
    let p = || path.to_path_buf();
    let file = File::open(path).map_err(|source| AudioError::Io { path: p(), source })?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| classify_probe_error(path, e))?;
    let container = path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).unwrap_or_else(|| "unknown".into());
    let track =
        format.default_track(TrackType::Audio).ok_or_else(|| AudioError::Unsupported { path: p(), detail: "no audio track".into() })?;
    let track_id = track.id;
    let expected_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|c| c.audio())
        .cloned()
        .ok_or_else(|| AudioError::Unsupported { path: p(), detail: "no audio codec parameters".into() })?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::Unsupported { path: p(), detail: e.to_string() })?;
    let codec_name = symphonia::default::get_codecs()
        .get_audio_decoder(params.codec)
        .map(|d| d.codec.info.short_name.to_string())
        .unwrap_or_else(|| format!("{:?}", params.codec));
    // Integer or float is decided per decoded buffer, from its actual sample type.
    let mut is_integer = false;

    let mut rate = params.sample_rate.unwrap_or(0);
    let mut channels = params.channels.as_ref().map(|c| c.count()).unwrap_or(0);
    let mut interleaved: Vec<f32> = Vec::new();
    let mut mono: Vec<f32> = Vec::new();
    let mut pending: Vec<f32> = Vec::with_capacity(block_frames);
    let mut frames = 0u64;
    let mut stopped = false;
    let mut decode_errors = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                if frames == 0 {
                    return Err(AudioError::Truncated { path: p(), detail: "stream ends before any audio".into() });
                }
                return Err(AudioError::Truncated { path: p(), detail: format!("stream ends after {frames} frames") });
            }
            Err(SymError::ResetRequired) => break,
            Err(e) => return Err(AudioError::Corrupt { path: p(), detail: e.to_string() }),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(b) => b,
            Err(SymError::DecodeError(_)) => {
                decode_errors += 1;
                if decode_errors > 8 {
                    return Err(AudioError::Corrupt { path: p(), detail: "repeated decode errors".into() });
                }
                continue;
            }
            Err(e) => return Err(AudioError::Corrupt { path: p(), detail: e.to_string() }),
        };
        is_integer = !matches!(buf, GenericAudioBufferRef::F32(_) | GenericAudioBufferRef::F64(_));
        let spec = buf.spec();
        if rate == 0 {
            rate = spec.rate();
        }
        channels = spec.channels().count().max(1);
        check_rate(path, rate)?;
        interleaved.resize(buf.samples_interleaved(), 0.0);
        buf.copy_to_slice_interleaved(&mut interleaved);
        first_channel_into(&interleaved, channels, 1.0, |v| v as f64, &mut mono);
        if !stopped {
            for chunk in mono.chunks(block_frames) {
                pending.extend_from_slice(chunk);
                if pending.len() >= block_frames {
                    if !sink(&pending, rate) {
                        stopped = true;
                        break;
                    }
                    pending.clear();
                }
            }
        }
        frames += mono.len() as u64;
        if stopped {
            break;
        }
    }
    if !stopped && !pending.is_empty() {
        sink(&pending, rate);
    }
    if frames == 0 {
        return Err(AudioError::NoSamples { path: p() });
    }
    check_rate(path, rate)?;
    if let Some(n) = expected_frames
        && !stopped
        && frames + 1 < n
    {
        return Err(AudioError::Truncated { path: p(), detail: format!("decoded {frames} of {n} frames") });
    }
    Ok(AudioInfo {
        container,
        codec: codec_name,
        sample_rate: rate,
        channels: channels as u16,
        bits_per_sample: if is_integer { params.bits_per_sample } else { None },
        frames,
    })
}

fn classify_probe_error(path: &Path, e: SymError) -> AudioError {
    let path: PathBuf = path.to_path_buf();
    match e {
        SymError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            AudioError::Truncated { path, detail: "the header ends early".into() }
        }
        SymError::IoError(source) => AudioError::Io { path, source },
        SymError::Unsupported(what) => AudioError::Unsupported { path, detail: format!("unrecognised format: {what}") },
        other => AudioError::Corrupt { path, detail: other.to_string() },
    }
}
