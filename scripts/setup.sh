#!/usr/bin/env bash
# Installs what valar needs on Debian/Ubuntu, skipping what is already there:
#   build:   Rust (rustup), pkg-config, ALSA headers
#   run:     Mesa (Vulkan/GL), X11/Wayland client libraries
#   test:    PulseAudio (virtual microphone), sox, Xvfb, Python + openSMILE reference
# Usage: scripts/setup.sh [run|test]   (default: test, which includes run)
set -euo pipefail
what=${1:-test}
here=$(cd "$(dirname "$0")/.." && pwd)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

pkgs=(pkg-config libasound2-dev build-essential curl ca-certificates
      libvulkan1 mesa-vulkan-drivers libegl1 libgl1 libgl1-mesa-dri
      libx11-6 libxcursor1 libxi6 libxrandr2 libxkbcommon0 libxkbcommon-x11-0 libwayland-client0 libwayland-cursor0 libwayland-egl1)
if [ "$what" = test ]; then
  pkgs+=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils xvfb sox)
  command -v python3 >/dev/null 2>&1 || pkgs+=(python3 python3-pip)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

if [ "$what" = test ]; then
  # fmt and clippy run before the tests (a minimal rustup profile lacks them).
  for c in rustfmt clippy; do
    if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
      rustup component add "$c"
    fi
  done
  shared=${VALAR_SHARED_DIR:-$here/../shared}
  [ -d "$shared" ] || shared="$here/shared"
  req="$shared/tools/requirements.txt"
  [ -f "$req" ] || echo "setup: $req not found: the openSMILE parity tests will fail (set VALAR_SHARED_DIR)" >&2
  if [ -f "$req" ] && ! python3 -c "import opensmile, soundfile, pandas" 2>/dev/null; then
    python3 -m pip install -q -r "$req" || python3 -m pip install -q --break-system-packages -r "$req"
  fi
  # Real readers of the annotation exports (Praat TextGrid, ELAN EAF) for the export tests;
  # pytest and Dask for the Python package's suite.
  own="$here/scripts/requirements-test.txt"
  if ! python3 -c "import praatio, pympi, pytest, dask.dataframe, distributed" 2>/dev/null; then
    python3 -m pip install -q -r "$own" || python3 -m pip install -q --break-system-packages -r "$own"
  fi
fi
