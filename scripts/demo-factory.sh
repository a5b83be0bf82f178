#!/usr/bin/env bash
# The factory's flow on embedded defaults, end to end: the factory server (oob-factory, SQLite)
# certifies two boards under their hardware GUIDs — one whose key the TPM holds (swtpm, through
# `oob-agent certify` over EST), one whose key the factory makes (`board issue`, the seed's own
# mode) — and pre-enrolls each, disabled, in DPS (the emulator); it prints their labels and ships
# them to a machine maker. Each board's first boot waits, showing its label's activation URL; the
# machine maker's user, invited to the activation portal (oob-portal), activates each board with
# its location and chassis number through the same HTTP a browser sends (the label's URL, then
# the form); each board registers by X.509, connects to the hub the factory allowed, finds that
# metadata in its twin and finalizes.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

BIN=${OOB_BIN:-bin}

work=$(mktemp -d -t oob-demo-factory.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[[ -n ${SWTPM_PID:-} ]] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	[[ -n ${EMULATOR_PID:-} ]] && kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

t0=$(now_ms)
step "DPS and IoT Hub (the emulator), and a software TPM for the first board"
start_emulator "$work/dps" --hub-hostname hub.oob.test --hub-service-listen 127.0.0.1:0
start_swtpm "$work/tpm"
head -1 "$work/dps/emulator.out"

data=$work/factory
step "oob-factory ca init, station add, serve"
"$BIN"/oob-factory ca init --data "$data"
"$BIN"/oob-factory station add line1 --data "$data" --token-file "$work/line1.token"
port=$(free_port)
"$BIN"/oob-factory serve --data "$data" --listen "127.0.0.1:$port" --hostname 127.0.0.1 \
	--line 1 --batch demo --ca-file "$DPS_CA_FILE" 2>"$work/factory.log" &
pids+=($!)
wait_port 127.0.0.1 "$port" 20 || { cat "$work/factory.log" >&2; exit 1; }
factory=https://127.0.0.1:$port

tpm_board=0f1e2d3c-4b5a-4697-8a9b-000000000001
file_board=0f1e2d3c-4b5a-4697-8a9b-000000000002

step "Board 1 asks for its certificate, its key made in the TPM (oob-agent certify, EST)"
"$BIN"/oob-agent certify --factory "$factory" --ca-file "$data/ca-root.pem" --token-file "$work/line1.token" \
	--hardware-id "$tpm_board" --key tpm --tpm "$SWTPM_SPEC" --state-dir "$work/board1/state"

step "Board 2 cannot make a key: the factory makes it for the imaging step (board issue)"
"$BIN"/oob-factory board issue "$file_board" --data "$data" --out "$work/board2/imaging" --batch demo

step "Both pre-enrolled, disabled (oob-factory status)"
deadline=$((SECONDS + 30))
until [[ $("$BIN"/oob-factory status --data "$data" --format json | grep -o '"pre-enrolled"' | wc -l) -eq 2 ]]; do
	((SECONDS < deadline)) || { "$BIN"/oob-factory status --data "$data"; exit 1; }
	sleep 0.2
done
"$BIN"/oob-factory status --data "$data"

step "The activation portal (oob-portal serve) on the factory's records, with DPS and the hub's service API"
# A certificate for the portal on 127.0.0.1 that curl is told to trust (TLS stays verified).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$work/portal.key" -out "$work/portal.pem" 2>/dev/null
chmod 600 "$work/portal.key"
pport=$(free_port)
IOTHUB_CONNECTION_STRINGS=$(cat "$work/dps/hub-connection-string") "$BIN"/oob-portal serve --data "$data" \
	--listen "127.0.0.1:$pport" --tls-cert "$work/portal.pem" --tls-key "$work/portal.key" \
	--hub-ca-file "$DPS_CA_FILE" --hub-endpoint "$EMULATOR_HUB_SERVICE" --hub-refresh 1s 2>"$work/portal.log" &
pids+=($!)
wait_port 127.0.0.1 "$pport" 20 || { cat "$work/portal.log" >&2; exit 1; }
portal=https://127.0.0.1:$pport
echo "portal: $portal"

step "Labels (PNG, and the activation URL for each board's image), shipped to ACME Machines, its hub allowed"
mkdir -p demo
"$BIN"/oob-factory label "$tpm_board" "$file_board" --data "$data" --portal-url "$portal/a" --out demo/labels
"$BIN"/oob-factory customer add "ACME Machines" --data "$data"
"$BIN"/oob-factory customer hub add "ACME Machines" hub.oob.test --data "$data"
"$BIN"/oob-factory ship --customer "ACME Machines" "$tpm_board" "$file_board" --data "$data"

step "Each board's first boot: waiting for activation (their screens: demo/board-1.png, demo/board-2.png)"
x509_1='"certificateFile": "'"$work"'/board1/state/device-chain.pem", "key": "tpm"'
x509_2='"certificateFile": "'"$work"'/board2/imaging/'"$file_board"'.chain.pem", "key": "'"$work"'/board2/imaging/'"$file_board"'.key.pem"'
for n in 1 2; do
	guid=$tpm_board x509=$x509_1
	[[ $n == 2 ]] && guid=$file_board x509=$x509_2
	rm -f "demo/board-$n.png"
	make_device "$work/board$n" '"display": {"outputs": ["png"], "png": "'"$PWD"'/demo/board-'"$n"'.png"},
	  "retry": {"initial": "1s", "max": "2s"},
	  "x509": {'"$x509"', "activationFile": "'"$PWD"'/demo/labels/'"$guid"'.url"}'
	"$BIN"/oob-agent run --config "$work/board$n/agent.json" 2>"$work/board$n.log" &
	pids+=($!)
done
for n in 1 2; do
	deadline=$((SECONDS + 30))
	until "$BIN"/oob-agent done --config "$work/board$n/agent.json" 2>/dev/null | grep -q "waiting for activation"; do
		((SECONDS < deadline)) || { cat "$work/board$n.log" >&2; exit 1; }
		sleep 0.2
	done
	echo "board $n: $("$BIN"/oob-agent done --config "$work/board$n/agent.json")"
done

step "The machine maker's user is invited, sets a password and activates both in the portal"
invite=$("$BIN"/oob-portal user invite --data "$data" --customer "ACME Machines" --email ann@acme.example \
	--role activator --portal-url "$portal")
echo "invitation link: $invite"
jar=$work/portal.cookies
web() { curl -sS --fail-with-body --cacert "$work/portal.pem" -b "$jar" -c "$jar" "$@"; }
# hidden NAME: the value of the form's hidden input NAME in the page on stdin, unescaped.
hidden() {
	sed -nE 's/.*name="'"$1"'" value="([^"]*)".*/\1/p' | head -1 |
		sed -e 's/&#34;/"/g' -e "s/&#39;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}
web -o /dev/null "$invite"
web -o /dev/null --data-urlencode "password=a long demo passphrase" --data-urlencode "again=a long demo passphrase" "$invite"
echo "ann@acme.example signed in at $portal"
t_enable=$(now_ms)
for n in 1 2; do
	guid=$tpm_board
	[[ $n == 2 ]] && guid=$file_board
	page=$(web "$(cat "demo/labels/$guid.url")")
	done_page=$(web --data-urlencode "guid=$guid" --data-urlencode "code=$(hidden code <<<"$page")" \
		--data-urlencode "csrf=$(hidden csrf <<<"$page")" --data-urlencode "etag=$(hidden etag <<<"$page")" \
		--data-urlencode "m_location=Hall $n, Lyon" --data-urlencode "m_chassisNumber=CH-000$n" \
		--data-urlencode "hub=hub.oob.test" "$portal/a")
	grep -q 'class="ok"' <<<"$done_page" || { echo "board $n was not activated:" >&2; echo "$done_page" >&2; exit 1; }
	echo "board $n: activated in the portal (Hall $n, Lyon; CH-000$n; hub.oob.test)"
done

step "Each board registers by X.509, connects to its hub and finalizes"
for p in "${pids[@]:2}"; do wait "$p"; done
pids=("${pids[@]:0:2}")
done_ms=$(($(now_ms) - t_enable))
"$BIN"/companion enrollment list

step "Summary"
for n in 1 2; do
	root=$work/board$n/root
	echo "board $n: workload $(systemctl --root="$root" is-enabled kiosk.service 2>/dev/null || true)," \
		"agent $(systemctl --root="$root" is-enabled oob-agent.service 2>/dev/null || true)," \
		"twin's location: $(grep -o '"location": *"[^"]*"' "$work/board$n/state/desired.json" 2>/dev/null | sed -E 's/.*: *"(.*)"/\1/')"
done
echo "the portal's board list: $(web "$portal/boards" | grep -oE 'class="state">(activated|registered)' | wc -l) boards activated"
echo "activated to both finalized: $done_ms ms (agents retrying every 1-2 s in this demo)"
echo "whole demo:                  $(($(now_ms) - t0)) ms"
echo "Labels are in demo/labels; the boards' waiting screens in demo/board-1.png and demo/board-2.png."
