#!/usr/bin/env bash
# The main job on embedded defaults: a software TPM, its identity shown as a QR code in the
# terminal and written as a PNG, the companion reading the PNG back and enrolling the device in
# a local DPS (the emulator), once; then the device registering by TPM attestation and connecting
# to its (emulated) IoT hub.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

# The programs: bin/ as `make demo` builds them, or OOB_BIN (the end-to-end test's build).
BIN=${OOB_BIN:-bin}

work=$(mktemp -d -t oob-demo.XXXXXX)
cleanup() {
	[[ -n ${SWTPM_PID:-} ]] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	[[ -n ${EMULATOR_PID:-} ]] && kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

t0=$(now_ms)
step "Starting a software TPM (swtpm) with a manufacturer EK certificate"
start_swtpm "$work/tpm"
echo "TPM at $SWTPM_SPEC"

step "oob-agent identity"
"$BIN"/oob-agent identity --tpm "$SWTPM_SPEC"

step "oob-agent show (terminal)"
# Drawn inline, below the steps above (--fullscreen would clear them).
"$BIN"/oob-agent show --tpm "$SWTPM_SPEC" --label DEMO-1 ||
	echo "(the terminal is too small for the code; the PNG below carries the same code)"

step "oob-agent show --output png"
mkdir -p demo
"$BIN"/oob-agent show --tpm "$SWTPM_SPEC" --label DEMO-1 --output png --file demo/device-qr.png

step "companion decode demo/device-qr.png"
"$BIN"/companion decode demo/device-qr.png

step "Starting the DPS emulator (TLS with its own CA)"
start_emulator "$work/dps"
head -1 "$work/dps/emulator.out"

step "companion enroll --image demo/device-qr.png"
"$BIN"/companion enroll --image demo/device-qr.png --iot-hub demo-hub.azure-devices.net --tag line=demo

step "companion enroll again: the same device changes nothing"
"$BIN"/companion enroll --image demo/device-qr.png

step "companion enrollment list"
"$BIN"/companion enrollment list

step "oob-agent register: TPM attestation with DPS, then the first IoT Hub connection"
"$BIN"/oob-agent register --tpm "$SWTPM_SPEC" --id-scope "$ID_SCOPE" --endpoint "$EMULATOR_ADDR" \
	--ca-file "$DPS_CA_FILE" --hub-address "$EMULATOR_HUB"

step "companion enrollment list: DPS's record of the registration"
"$BIN"/companion enrollment list

t1=$(now_ms)
step "Done in $((t1 - t0)) ms"
echo "The device's screen is in demo/device-qr.png."
