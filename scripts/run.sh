#!/usr/bin/env bash
# Installs what the app needs and opens it on its bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
export PATH="$HOME/.cargo/bin:$PATH"
exec cargo run --release -- "$@"
