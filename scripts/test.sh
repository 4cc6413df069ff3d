#!/usr/bin/env bash
# Installs what the tests need, starts a virtual microphone (PulseAudio), and runs the whole
# suite in the release profile (the same profile as the binary, so dependencies build once).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"
# A private PulseAudio per run: concurrent runs (or a demo using scripts/pulse-mic.sh) neither
# share nor stop each other's microphone.
VALAR_PULSE_DIR=$(mktemp -d /tmp/valar-pulse-test.XXXXXX)
export VALAR_PULSE_DIR
# shellcheck source=scripts/pulse-mic.sh
source scripts/pulse-mic.sh
trap 'pulse_mic_stop; rm -rf "$VALAR_PULSE_DIR"' EXIT
cargo test --release --no-fail-fast "$@"
