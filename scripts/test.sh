#!/usr/bin/env bash
# Installs what the tests need, starts a virtual microphone (PulseAudio), and runs the whole
# suite in the release profile (the same profile as the binary, so dependencies build once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=scripts/pulse-mic.sh
source scripts/pulse-mic.sh
trap pulse_mic_stop EXIT
cargo test --release --no-fail-fast "$@"
