#!/usr/bin/env bash
# Installs what the tests need, checks formatting and lints, starts a virtual microphone
# (PulseAudio), runs the whole suite in the release profile (the same profile as the binary,
# so dependencies build once), checks that building the binary compiles nothing but valar's
# own crates — the tests and the app share one build — and finally installs the Python
# package (python/) and runs its pytest suite against it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --release --workspace --all-targets -- -D warnings

# A private PulseAudio per run: concurrent runs (or a demo using scripts/pulse-mic.sh) neither
# share nor stop each other's microphone.
VALAR_PULSE_DIR=$(mktemp -d /tmp/valar-pulse-test.XXXXXX)
export VALAR_PULSE_DIR
# shellcheck source=scripts/pulse-mic.sh
source scripts/pulse-mic.sh
trap 'pulse_mic_stop; rm -rf "$VALAR_PULSE_DIR"' EXIT
cargo test --release --workspace --no-fail-fast "$@"

echo "== one build: the binary after the tests compiles only valar's own crates"
log=$(mktemp)
cargo build --release 2>&1 | tee "$log"
if grep -E '^\s+Compiling ' "$log" | grep -vE 'Compiling valar(-egemaps)? v'; then
  echo "test.sh: building the binary recompiled dependencies: the test and binary builds differ in features" >&2
  exit 1
fi
rm -f "$log"

echo "== Python package: pip install ./python (maturin, the same release build), then its pytest suite"
pip_install() { python3 -m pip install -q "$@" || python3 -m pip install -q --break-system-packages "$@"; }
pip_install --force-reinstall --no-deps ./python
python3 -m pytest -q python/tests
