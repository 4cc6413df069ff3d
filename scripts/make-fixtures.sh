#!/usr/bin/env bash
# Regenerates tests/fixtures: short 1 kHz tones in the compressed formats valar decodes
# (WAV fixtures are written by the tests themselves). Needs sox with FLAC, Vorbis and MP3
# support (Debian: sox libsox-fmt-mp3).
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures"
# Left and right at different levels (0.5 and 0.3), so the mono mix is 0.4.
sox -n -r 44100 -c 2 -b 16 tone-44k-stereo.flac synth 0.5 sine 1000 remix 1v0.5 1v0.3
sox -n -r 48000 -c 1 -b 24 tone-48k-24bit.flac synth 0.5 sine 1000 vol 0.5
sox -n -r 22050 -c 1 tone-22k.ogg synth 0.5 sine 1000 vol 0.5
sox -n -r 32000 -c 2 -C 128 tone-32k-stereo.mp3 synth 0.5 sine 1000 vol 0.5
# A truncated FLAC: the first 3 kB of a longer file.
sox -n -r 16000 -c 1 -b 16 /tmp/long.flac synth 3 sine 440 vol 0.5
head -c 3000 /tmp/long.flac > truncated.flac
printf 'this is not audio\n' > not-audio.wav
