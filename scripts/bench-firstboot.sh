#!/usr/bin/env bash
# First-boot figures with the real programs: swtpm (EK persisted), the emulator, `oob-agent run`.
#   - agent start to QR on screen (the PNG output written), over RUNS starts
#   - enrollment created to device finalized, with the default backoff (5 s doubling to 60 s,
#     jittered), over 3 devices
#   - the agent's peak memory (maximum resident set) over a whole first boot
# Usage: scripts/bench-firstboot.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
BIN=${OOB_BIN:-bin}
runs=${1:-10}

work=$(mktemp -d -t oob-bench-fb.XXXXXX)
cleanup() {
	[[ -n ${AGENT_PID:-} ]] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[[ -n ${SWTPM_PID:-} ]] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	[[ -n ${EMULATOR_PID:-} ]] && kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

start_swtpm "$work/tpm"
start_emulator "$work/dps"
"$BIN"/oob-agent identity --tpm "$SWTPM_SPEC" >/dev/null # EK and SRK persisted

# wait_file PATH: until the agent has written it.
wait_file() {
	until [[ -s $1 ]]; do
		kill -0 "$AGENT_PID" 2>/dev/null || { echo "the agent stopped early" >&2; exit 1; }
		sleep 0.005
	done
}

for i in $(seq "$runs"); do
	make_device "$work/qr$i" '"display": {"outputs": ["png"], "png": "'"$work/qr$i/screen.png"'"}'
	t0=$(now_ms)
	"$BIN"/oob-agent run --config "$work/qr$i/agent.json" 2>/dev/null &
	AGENT_PID=$!
	wait_file "$work/qr$i/screen.png"
	echo $(($(now_ms) - t0)) >>"$work/qr.ms"
	kill "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null || true
	AGENT_PID=
done
printf 'agent start to QR on screen: median %s ms over %d starts (min %s, max %s)\n' \
	"$(median <"$work/qr.ms")" "$runs" "$(sort -n "$work/qr.ms" | head -1)" "$(sort -n "$work/qr.ms" | tail -1)"

# The same device enrolled three times from scratch: a new registration ID each time (an OEM ID),
# since DPS keeps one enrollment per ID.
for i in 1 2 3; do
	dir=$work/fb$i
	make_device "$dir" '"display": {"outputs": ["png"], "png": "'"$dir/screen.png"'"}'
	sed -i "s/\"label\": \"DEMO-1\"/\"label\": \"DEMO-1\", \"registrationId\": \"bench-device-$i\"/" "$dir/agent.json"
	/usr/bin/time -f '%M' -o "$dir/maxrss" "$BIN"/oob-agent run --config "$dir/agent.json" 2>/dev/null &
	AGENT_PID=$!
	wait_file "$dir/screen.png"
	t0=$(now_ms)
	"$BIN"/companion enroll --image "$dir/screen.png" >/dev/null
	wait "$AGENT_PID"
	AGENT_PID=
	echo $(($(now_ms) - t0)) >>"$work/finalize.ms"
	cat "$dir/maxrss" >>"$work/maxrss.kb"
done
printf 'enrollment created to finalized (default backoff): median %s ms over 3 devices (%s)\n' \
	"$(median <"$work/finalize.ms")" "$(paste -sd, "$work/finalize.ms" | sed 's/,/, /g') ms"
printf 'agent peak memory over a whole first boot: %s MiB (max RSS, largest of 3)\n' \
	"$(sort -n "$work/maxrss.kb" | tail -1 | awk '{printf "%.1f", $1/1024}')"
