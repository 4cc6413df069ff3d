#!/usr/bin/env bash
# Starts a private PulseAudio server whose default input ("valar_mic") hears whatever is
# played to its null sink ("valar_sink"): a microphone for machines without a sound card.
# Usage: source scripts/pulse-mic.sh   (exports PULSE_SERVER; stop with `pulse_mic_stop`)
set -u
VALAR_PULSE_DIR=${VALAR_PULSE_DIR:-/tmp/valar-pulse}
mkdir -p "$VALAR_PULSE_DIR"
cat > "$VALAR_PULSE_DIR/default.pa" <<PA
load-module module-native-protocol-unix auth-anonymous=1 socket=$VALAR_PULSE_DIR/native
load-module module-null-sink sink_name=valar_sink rate=48000
load-module module-virtual-source source_name=valar_mic master=valar_sink.monitor
set-default-sink valar_sink
set-default-source valar_mic
PA
export PULSE_SERVER="unix:$VALAR_PULSE_DIR/native"
if ! pactl info >/dev/null 2>&1; then
  HOME="$VALAR_PULSE_DIR" XDG_RUNTIME_DIR="$VALAR_PULSE_DIR" \
    pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit -F "$VALAR_PULSE_DIR/default.pa" \
    >"$VALAR_PULSE_DIR/log" 2>&1 &
  echo $! > "$VALAR_PULSE_DIR/pid"
  for _ in $(seq 50); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
fi
pulse_mic_stop() { [ -f "$VALAR_PULSE_DIR/pid" ] && kill "$(cat "$VALAR_PULSE_DIR/pid")" 2>/dev/null; rm -f "$VALAR_PULSE_DIR/pid"; }
pactl info >/dev/null 2>&1 || { echo "PulseAudio did not start; see $VALAR_PULSE_DIR/log" >&2; cat "$VALAR_PULSE_DIR/log" >&2; }
