//! Live audio: the microphone (cpal) and a file played in real time, behind one interface.
//!
//! Microphone path: cpal's audio callback takes each block's first channel and pushes it into a
//! lock-free single-producer ring buffer (`rtrb`) — no locks, no allocation, no I/O in the
//! callback. A worker thread drains the ring, resamples to 16 kHz and sends [`LiveEvent`]s
//! over a channel. Over-runs (ring full, or the driver's xrun) and a lost device reach the
//! receiver as events; nothing panics.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};
use crossbeam_channel::{Receiver, Sender};

use super::resample::{CANONICAL_RATE, StreamResampler};
use super::{AudioError, decode};

/// One input device as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDevice {
    /// Stable identifier (`host:device`), accepted by `--device` and stored in settings.
    pub id: String,
    pub description: String,
    pub is_default: bool,
}

/// What a live source delivers, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// Mono samples at [`CANONICAL_RATE`]; `captured_at` is when the newest sample was taken.
    Audio { samples: Vec<f32>, captured_at: Instant },
    /// Samples were lost (ring buffer full or a driver over-run).
    Overrun { dropped_samples: u64 },
    /// The device disappeared or the stream failed; no more audio will come.
    DeviceLost(String),
    /// A file source reached its end.
    Finished,
}

/// Lists the input devices of the default host.
pub fn input_devices() -> Result<Vec<InputDevice>, AudioError> {
    let host = cpal::default_host();
    let default_id = host.default_input_device().and_then(|d| d.id().ok()).map(|id| id.to_string());
    let devices = host.input_devices().map_err(|e| AudioError::Device(e.to_string()))?;
    let mut out = Vec::new();
    for d in devices {
        let Ok(id) = d.id() else { continue };
        let id = id.to_string();
        let description = d.description().map(|desc| desc.to_string()).unwrap_or_else(|_| id.clone());
        out.push(InputDevice { is_default: Some(&id) == default_id.as_ref(), id, description });
    }
    Ok(out)
}

/// A running live source. Dropping it stops capture or playback and joins its threads.
pub struct LiveInput {
    events: Receiver<LiveEvent>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Human-readable name of what is being heard.
    pub description: String,
    /// The device's native rate (before resampling to 16 kHz).
    pub native_rate: u32,
}

impl LiveInput {
    /// Opens the default input device, or the one whose id is `device_id`, at its native
    /// configuration.
    pub fn microphone(device_id: Option<&str>) -> Result<Self, AudioError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = crossbeam_channel::unbounded();
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let id = device_id.map(str::to_owned);
        let stop_owner = stop.clone();
        // cpal streams are not Send on every platform: one thread owns the stream for its life.
        let owner = std::thread::Builder::new()
            .name("valar-capture".into())
            .spawn(move || run_capture(id, stop_owner, tx, ready_tx))
            .map_err(|e| AudioError::Device(e.to_string()))?;
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok((description, native_rate))) => Ok(Self { events: rx, stop, threads: vec![owner], description, native_rate }),
            Ok(Err(e)) => {
                let _ = owner.join();
                Err(e)
            }
            Err(_) => {
                stop.store(true, Ordering::SeqCst);
                Err(AudioError::Device("the input device did not start within 10 s".into()))
            }
        }
    }

    /// Plays a decoded file through the same interface, in real time (`speed` = 1.0) or
    /// faster, in blocks of `block_ms` milliseconds. For demos and tests.
    pub fn file(path: &Path, speed: f64, block_ms: u32) -> Result<Self, AudioError> {
        let (audio, _) = decode::decode_file(path)?;
        let samples = super::resample::resample(&audio.samples, audio.sample_rate, CANONICAL_RATE)?;
        Ok(Self::samples(samples, speed, block_ms, path.display().to_string()))
    }

    /// Plays 16 kHz mono samples as a live source (see [`LiveInput::file`]).
    pub fn samples(samples: Vec<f32>, speed: f64, block_ms: u32, description: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = crossbeam_channel::unbounded();
        let stop_t = stop.clone();
        let block = (CANONICAL_RATE as usize * block_ms.max(1) as usize / 1000).max(1);
        let speed = if speed > 0.0 { speed } else { 1.0 };
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            for (i, chunk) in samples.chunks(block).enumerate() {
                if stop_t.load(Ordering::Relaxed) {
                    return;
                }
                let due = start + Duration::from_secs_f64(((i + 1) * block) as f64 / CANONICAL_RATE as f64 / speed);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                if tx.send(LiveEvent::Audio { samples: chunk.to_vec(), captured_at: Instant::now() }).is_err() {
                    return;
                }
            }
            let _ = tx.send(LiveEvent::Finished);
        });
        Self { events: rx, stop, threads: vec![handle], description, native_rate: CANONICAL_RATE }
    }

    /// The event stream. Audio arrives at [`CANONICAL_RATE`].
    pub fn events(&self) -> &Receiver<LiveEvent> {
        &self.events
    }

    pub fn sample_rate(&self) -> u32 {
        CANONICAL_RATE
    }

    /// Stops the source and waits for its threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for LiveInput {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Counters the real-time callback shares with the worker (atomics only).
#[derive(Default)]
struct CallbackStatus {
    dropped: AtomicU64,
    xruns: AtomicUsize,
    lost: AtomicBool,
}

type Ready = Result<(String, u32), AudioError>;

fn find_device(host: &cpal::Host, id: Option<&str>) -> Result<cpal::Device, AudioError> {
    match id {
        None => {
            host.default_input_device().ok_or_else(|| AudioError::Device("no default input device (is a microphone connected?)".into()))
        }
        Some(id) => {
            let parsed: cpal::DeviceId = id.parse().map_err(|e| AudioError::Device(format!("'{id}' is not a device id: {e}")))?;
            host.device_by_id(&parsed).ok_or_else(|| AudioError::Device(format!("no input device with id '{id}' (see `valar devices`)")))
        }
    }
}

fn run_capture(id: Option<String>, stop: Arc<AtomicBool>, tx: Sender<LiveEvent>, ready: Sender<Ready>) {
    let host = cpal::default_host();
    let device = match find_device(&host, id.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let description = device
        .description()
        .map(|d| d.to_string())
        .or_else(|_| device.id().map(|i| i.to_string()))
        .unwrap_or_else(|_| "input device".into());
    let config = match device.default_input_config() {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(AudioError::Device(format!("{description}: {e}"))));
            return;
        }
    };
    let rate = config.sample_rate();
    let channels = config.channels().max(1) as usize;
    // Two seconds of slack between the callback and the worker.
    let (producer, consumer) = rtrb::RingBuffer::<f32>::new(rate as usize * 2);
    let status = Arc::new(CallbackStatus::default());
    let stream_config: cpal::StreamConfig = config.into();
    let built = match config.sample_format() {
        cpal::SampleFormat::I8 => build::<i8>(&device, &stream_config, channels, producer, status.clone()),
        cpal::SampleFormat::I16 => build::<i16>(&device, &stream_config, channels, producer, status.clone()),
        cpal::SampleFormat::I32 => build::<i32>(&device, &stream_config, channels, producer, status.clone()),
        cpal::SampleFormat::U8 => build::<u8>(&device, &stream_config, channels, producer, status.clone()),
        cpal::SampleFormat::U16 => build::<u16>(&device, &stream_config, channels, producer, status.clone()),
        cpal::SampleFormat::F32 => build::<f32>(&device, &stream_config, channels, producer, status.clone()),
        cpal::SampleFormat::F64 => build::<f64>(&device, &stream_config, channels, producer, status.clone()),
        other => Err(AudioError::Device(format!("{description}: unsupported sample format {other}"))),
    };
    let stream = match built.and_then(|s| {
        s.play().map_err(|e| AudioError::Device(format!("{description}: {e}")))?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut resampler = match StreamResampler::new(rate, CANONICAL_RATE) {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok((description.clone(), rate)));
    worker_loop(consumer, &status, &mut resampler, &stop, &tx);
    drop(stream);
}

/// How long a live input may deliver nothing before it counts as lost.
const STALL: Duration = Duration::from_secs(3);

fn worker_loop(
    mut consumer: rtrb::Consumer<f32>,
    status: &CallbackStatus,
    resampler: &mut StreamResampler,
    stop: &AtomicBool,
    tx: &Sender<LiveEvent>,
) {
    let mut native = Vec::with_capacity(8192);
    let mut reported_drop = 0u64;
    let mut reported_xruns = 0usize;
    let mut last_audio = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
        native.clear();
        let n = consumer.slots();
        if n == 0 && last_audio.elapsed() > STALL {
            // A device that vanished without an error (ALSA's PulseAudio plugin, when its source is
            // unloaded, just stops calling back): a live input always delivers, silence included.
            let _ = tx.send(LiveEvent::DeviceLost(format!("no audio for {} s: the input device is gone or stalled", STALL.as_secs())));
            return;
        }
        if n > 0 {
            last_audio = Instant::now();
            if let Ok(chunk) = consumer.read_chunk(n) {
                let (a, b) = chunk.as_slices();
                native.extend_from_slice(a);
                native.extend_from_slice(b);
                chunk.commit_all();
            }
            let mut out = Vec::with_capacity(native.len());
            if resampler.process(&native, &mut out).is_ok() && !out.is_empty() {
                let _ = tx.send(LiveEvent::Audio { samples: out, captured_at: Instant::now() });
            }
        }
        let dropped = status.dropped.load(Ordering::Relaxed);
        let xruns = status.xruns.load(Ordering::Relaxed);
        if dropped > reported_drop || xruns > reported_xruns {
            let _ = tx.send(LiveEvent::Overrun { dropped_samples: dropped - reported_drop });
            reported_drop = dropped;
            reported_xruns = xruns;
        }
        if status.lost.load(Ordering::Relaxed) {
            let _ = tx.send(LiveEvent::DeviceLost("the input device stopped delivering audio".into()));
            return;
        }
    }
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    channels: usize,
    mut producer: rtrb::Producer<f32>,
    status: Arc<CallbackStatus>,
) -> Result<cpal::Stream, AudioError>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let status_err = status.clone();
    device
        .build_input_stream::<T, _, _>(
            *config,
            move |data: &[T], _| {
                // Real-time context: atomics and the lock-free ring only. The first channel is
                // analysed, as a file's is.
                for frame in data.chunks_exact(channels) {
                    if producer.push(frame[0].to_sample::<f32>()).is_err() {
                        status.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            },
            move |err: cpal::Error| match err.kind() {
                cpal::ErrorKind::Xrun => {
                    status_err.xruns.fetch_add(1, Ordering::Relaxed);
                }
                cpal::ErrorKind::RealtimeDenied | cpal::ErrorKind::DeviceChanged => {}
                _ => status_err.lost.store(true, Ordering::Relaxed),
            },
            None,
        )
        .map_err(|e| AudioError::Device(e.to_string()))
}

/// Records `seconds` of 16 kHz mono from a live source into memory, reporting over-runs to
/// `on_event`. Stops early if the device is lost (an error) or a file source finishes.
pub fn record(input: &LiveInput, seconds: f64, mut on_event: impl FnMut(&LiveEvent)) -> Result<Vec<f32>, AudioError> {
    let want = (seconds * CANONICAL_RATE as f64).round() as usize;
    let mut out = Vec::with_capacity(want);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds + 10.0);
    while out.len() < want {
        let timeout = deadline.saturating_duration_since(Instant::now());
        if timeout.is_zero() {
            return Err(AudioError::Device(format!(
                "{}: only {:.2} s of audio arrived",
                input.description,
                out.len() as f64 / CANONICAL_RATE as f64
            )));
        }
        match input.events().recv_timeout(timeout.min(Duration::from_millis(500))) {
            Ok(ev) => {
                on_event(&ev);
                match ev {
                    LiveEvent::Audio { samples, .. } => out.extend_from_slice(&samples),
                    LiveEvent::DeviceLost(why) => {
                        return Err(AudioError::Device(format!("{}: {why}", input.description)));
                    }
                    LiveEvent::Finished => break,
                    LiveEvent::Overrun { .. } => {}
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                return Err(AudioError::Device(format!("{}: capture stopped", input.description)));
            }
        }
    }
    out.truncate(want);
    Ok(out)
}

/// Writes 16-bit mono WAV atomically (temporary file, then rename).
pub fn write_wav(path: &Path, samples: &[f32], rate: u32) -> Result<(), AudioError> {
    let io = |source| AudioError::Io { path: PathBuf::from(path), source };
    crate::fsutil::write_atomic(path, |w| {
        let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        let mut cursor = std::io::Cursor::new(Vec::with_capacity(samples.len() * 2 + 44));
        {
            let mut ww = hound::WavWriter::new(&mut cursor, spec).map_err(std::io::Error::other)?;
            let mut i16w = ww.get_i16_writer(samples.len() as u32);
            for &s in samples {
                // Inverse of the decoder's 1/32767 convention, so a round trip is exact.
                i16w.write_sample((s as f64 * 32767.0).round().clamp(-32768.0, 32767.0) as i16);
            }
            i16w.flush().map_err(std::io::Error::other)?;
            ww.finalize().map_err(std::io::Error::other)?;
        }
        w.write_all(cursor.get_ref())
    })
    .map_err(io)
}
