#!/usr/bin/env bash
# The main job on embedded defaults: a software TPM, its identity shown as a QR code in the
# terminal and written as a PNG, and the companion reading the PNG back.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

work=$(mktemp -d -t oob-demo.XXXXXX)
cleanup() {
	[[ -n ${SWTPM_PID:-} ]] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

t0=$(now_ms)
step "Starting a software TPM (swtpm) with a manufacturer EK certificate"
start_swtpm "$work/tpm"
echo "TPM at $SWTPM_SPEC"

step "oob-agent identity"
bin/oob-agent identity --tpm "$SWTPM_SPEC"

step "oob-agent show (terminal)"
# Drawn inline, below the steps above (--fullscreen would clear them). Without a terminal
# (CI, a pipe), draw at a size that fits the code.
[[ -t 1 ]] || export COLUMNS=100 LINES=46
bin/oob-agent show --tpm "$SWTPM_SPEC" --label DEMO-1 ||
	echo "(the terminal is too small for the code; the PNG below carries the same code)"

step "oob-agent show --output png"
mkdir -p demo
bin/oob-agent show --tpm "$SWTPM_SPEC" --label DEMO-1 --output png --file demo/device-qr.png

step "companion decode demo/device-qr.png"
bin/companion decode demo/device-qr.png

t1=$(now_ms)
step "Done in $((t1 - t0)) ms"
echo "The device's screen is in demo/device-qr.png."
