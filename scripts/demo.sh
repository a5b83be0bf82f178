#!/usr/bin/env bash
# The main job on embedded defaults, end to end: a software TPM and a local DPS and IoT Hub (the
# emulator) start; the device's first boot (`oob-agent run`) shows its identity as a QR code in
# the terminal and as a PNG; the technician's companion reads the PNG and enrolls the device; the
# agent notices by itself, registers by TPM attestation, connects to its hub and finalizes into a
# demo root directory (workload unit enabled, its own unit disabled, reboot recorded).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# The programs: bin/ as `make demo` builds them, or OOB_BIN (the end-to-end test's build).
BIN=${OOB_BIN:-bin}

work=$(mktemp -d -t oob-demo.XXXXXX)
cleanup() {
	[[ -n ${AGENT_PID:-} ]] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[[ -n ${SWTPM_PID:-} ]] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	[[ -n ${EMULATOR_PID:-} ]] && kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
elapsed() { echo "$(($(now_ms) - $1)) ms"; }

t0=$(now_ms)
step "Starting a software TPM (swtpm, with a manufacturer EK certificate) and the DPS/IoT Hub emulator"
start_swtpm "$work/tpm"
start_emulator "$work/dps"
echo "TPM at $SWTPM_SPEC"
head -1 "$work/dps/emulator.out"

# The device: an offline root with the agent's unit and a workload, as an image build makes it.
mkdir -p demo
rm -f demo/device-screen.png
make_device "$work/device" '"display": {"outputs": ["terminal", "png"], "terminal": "inline",
   "png": "'"$PWD"'/demo/device-screen.png"}, "retry": {"initial": "1s", "max": "4s"}'
root=$work/device/root

step "oob-agent run: the device's first boot (its screen below, and in demo/device-screen.png)"
"$BIN"/oob-agent run --config "$work/device/agent.json" &
AGENT_PID=$!
t_start=$(now_ms)
until [[ -s demo/device-screen.png ]]; do
	kill -0 "$AGENT_PID" 2>/dev/null || { echo "the agent stopped before showing its code" >&2; exit 1; }
	sleep 0.05
done
qr_ms=$(($(now_ms) - t_start))

step "companion decode demo/device-screen.png (the technician's photo of the screen)"
"$BIN"/companion decode demo/device-screen.png

step "companion enroll --image demo/device-screen.png"
t_enroll=$(now_ms)
"$BIN"/companion enroll --image demo/device-screen.png --tag line=demo

step "The agent notices its enrollment, registers, connects to its hub and finalizes"
wait "$AGENT_PID"
AGENT_PID=
done_ms=$(($(now_ms) - t_enroll))

step "companion enrollment list: DPS's record"
"$BIN"/companion enrollment list

step "Summary"
echo "agent start to QR on screen:        $qr_ms ms"
echo "enrollment created to finalized:    $done_ms ms (agent retrying every 1-4 s in this demo)"
echo "workload unit kiosk.service:        $(systemctl --root="$root" is-enabled kiosk.service 2>/dev/null || true)"
echo "agent unit oob-agent.service:       $(systemctl --root="$root" is-enabled oob-agent.service 2>/dev/null || true)"
echo "reboot requested:                   $([[ -e $root/run/oob/reboot-requested ]] && echo yes || echo no)"
echo "whole demo:                         $(elapsed "$t0")"
echo "The device's screen is in demo/device-screen.png."
