//! `valar devices`, `valar record`, `valar info`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::audio::{self, LiveEvent, LiveInput};

pub fn devices() -> anyhow::Result<ExitCode> {
    let list = audio::input_devices()?;
    if list.is_empty() {
        println!("no input devices found");
    }
    for d in list {
        println!("{}{}\t{}", if d.is_default { "* " } else { "  " }, d.id, d.description);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn record(seconds: f64, output: &Path, device: Option<&str>) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(seconds > 0.0 && seconds.is_finite(), "--duration must be a positive number of seconds");
    let input = LiveInput::microphone(device)?;
    eprintln!("recording {seconds} s from {} ({} Hz) …", input.description, input.native_rate);
    let samples = audio::record(&input, seconds, |ev| {
        if let LiveEvent::Overrun { dropped_samples } = ev {
            eprintln!("warning: input over-run, {dropped_samples} samples lost");
        }
    })?;
    input.stop();
    audio::write_wav(output, &samples, audio::CANONICAL_RATE).with_context(|| format!("writing {}", output.display()))?;
    eprintln!("wrote {} ({:.2} s at {} Hz)", output.display(), samples.len() as f64 / audio::CANONICAL_RATE as f64, audio::CANONICAL_RATE);
    Ok(ExitCode::SUCCESS)
}

pub fn info(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for f in files {
        match audio::decode_file(f) {
            Ok((_, i)) => println!(
                "{}: {} {}, {} Hz, {} channel{}, {}{:.3} s",
                f.display(),
                i.container,
                i.codec,
                i.sample_rate,
                i.channels,
                if i.channels == 1 { "" } else { "s" },
                i.bits_per_sample.map(|b| format!("{b}-bit, ")).unwrap_or_default(),
                i.duration_s()
            ),
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
            }
        }
    }
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
