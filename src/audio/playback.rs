//! Audio out: a stretch of a recording played through the default output device (cpal), with
//! the position it has reached, for a cursor that follows it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::{AudioError, StreamResampler, decode_file};

/// A stretch of a recording being played. Dropping it (or [`Player::stop`]) stops the sound.
pub struct Player {
    stop: Arc<AtomicBool>,
    /// Output frames played so far.
    played: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
    device_rate: u32,
    from_s: f64,
    to_s: f64,
    thread: Option<JoinHandle<()>>,
    pub device: String,
}

impl Player {
    /// Plays `path` from `from_s` to `to_s` seconds (clipped to the recording). The output
    /// stream lives on its own thread; this returns once it plays, or with why it cannot.
    pub fn play(path: &Path, from_s: f64, to_s: f64) -> Result<Player, AudioError> {
        let (audio, _) = decode_file(path)?;
        let rate = audio.sample_rate as f64;
        let a = ((from_s.max(0.0) * rate) as usize).min(audio.samples.len());
        let b = ((to_s * rate) as usize).clamp(a, audio.samples.len());
        let clip = audio.samples[a..b].to_vec();
        let stop = Arc::new(AtomicBool::new(false));
        let played = Arc::new(AtomicU64::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let (s, p, f) = (stop.clone(), played.clone(), finished.clone());
        let src_rate = audio.sample_rate;
        let thread = std::thread::spawn(move || run_output(clip, src_rate, s, p, f, ready_tx));
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok((device, device_rate))) => Ok(Player {
                stop,
                played,
                finished,
                device_rate,
                from_s: a as f64 / rate,
                to_s: b as f64 / rate,
                thread: Some(thread),
                device,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                Err(AudioError::Device("the output device did not start within 10 s".into()))
            }
        }
    }

    /// Where playback is, in seconds of the recording.
    pub fn position_s(&self) -> f64 {
        (self.from_s + self.played.load(Ordering::Relaxed) as f64 / self.device_rate.max(1) as f64).min(self.to_s)
    }

    /// The stretch being played, in seconds of the recording.
    pub fn range_s(&self) -> (f64, f64) {
        (self.from_s, self.to_s)
    }

    /// Whether everything has been played.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Relaxed)
    }

    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.halt();
    }
}

type Ready = Result<(String, u32), AudioError>;

/// How long the device may take no samples before playback counts as ended.
const STALLED: Duration = Duration::from_secs(2);

fn run_output(
    clip: Vec<f32>,
    src_rate: u32,
    stop: Arc<AtomicBool>,
    played: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
    ready: crossbeam_channel::Sender<Ready>,
) {
    let fail = |e: AudioError| {
        let _ = ready.send(Err(e));
    };
    let host = cpal::default_host();
    let Some(device) = host.default_output_device() else {
        return fail(AudioError::Device("no output device".into()));
    };
    let description = device.description().map(|d| d.to_string()).unwrap_or_else(|_| "output device".into());
    let config = match device.default_output_config() {
        Ok(c) => c,
        Err(e) => return fail(AudioError::Device(format!("{description}: {e}"))),
    };
    let rate = config.sample_rate();
    let channels = config.channels().max(1) as usize;
    // The clip at the device's rate, once, before the stream starts.
    let mut samples = Vec::with_capacity(clip.len());
    let converted = StreamResampler::new(src_rate, rate).and_then(|mut r| {
        r.process(&clip, &mut samples)?;
        r.finish(&mut samples)
    });
    if let Err(e) = converted {
        return fail(e);
    }
    let samples = Arc::new(samples);
    let stream_config: cpal::StreamConfig = config.into();
    let built = match config.sample_format() {
        cpal::SampleFormat::I16 => build::<i16>(&device, &stream_config, channels, samples.clone(), played.clone(), finished.clone()),
        cpal::SampleFormat::I32 => build::<i32>(&device, &stream_config, channels, samples.clone(), played.clone(), finished.clone()),
        cpal::SampleFormat::U16 => build::<u16>(&device, &stream_config, channels, samples.clone(), played.clone(), finished.clone()),
        cpal::SampleFormat::F32 => build::<f32>(&device, &stream_config, channels, samples.clone(), played.clone(), finished.clone()),
        cpal::SampleFormat::F64 => build::<f64>(&device, &stream_config, channels, samples.clone(), played.clone(), finished.clone()),
        other => Err(AudioError::Device(format!("{description}: unsupported sample format {other}"))),
    };
    let stream = match built.and_then(|s| {
        s.play().map_err(|e| AudioError::Device(format!("{description}: {e}")))?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let _ = ready.send(Ok((description, rate)));
    // A device that stops taking samples (unplugged, server gone) ends playback; the errors
    // backends report along the way (ALSA's pulse plugin reports transient I/O errors) do not.
    let (mut last, mut since) = (u64::MAX, std::time::Instant::now());
    while !stop.load(Ordering::Relaxed) && !finished.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
        let now = played.load(Ordering::Relaxed);
        if now != last {
            (last, since) = (now, std::time::Instant::now());
        } else if since.elapsed() > STALLED {
            finished.store(true, Ordering::Relaxed);
        }
    }
    drop(stream);
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    channels: usize,
    samples: Arc<Vec<f32>>,
    played: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
) -> Result<cpal::Stream, AudioError>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let mut next = 0usize;
    device
        .build_output_stream::<T, _, _>(
            *config,
            move |out: &mut [T], _| {
                // Real-time context: no allocation, no locks.
                for frame in out.chunks_exact_mut(channels) {
                    let v = samples.get(next).copied().unwrap_or(0.0);
                    for s in frame.iter_mut() {
                        *s = T::from_sample(v);
                    }
                    next += 1;
                }
                let n = next.min(samples.len());
                played.store(n as u64, Ordering::Relaxed);
                if n >= samples.len() {
                    finished.store(true, Ordering::Relaxed);
                }
            },
            // Errors end nothing by themselves: a stream that stops is noticed by `run_output`.
            |_: cpal::Error| {},
            None,
        )
        .map_err(|e| AudioError::Device(e.to_string()))
}
