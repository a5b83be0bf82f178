# Shared shell functions for the demo and benchmark scripts. Source it; do not run it.

# free_port prints a TCP port on the loopback interface that nothing listens on.
free_port() {
	python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_port HOST PORT SECONDS waits until a TCP port accepts connections.
wait_port() {
	local host=$1 port=$2 deadline=$((SECONDS + $3))
	until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			echo "nothing listens on $host:$port after $3 s" >&2
			return 1
		fi
		sleep 0.05
	done
}

# start_swtpm DIR starts a software TPM 2.0 whose state lives in DIR (manufactured with an EK
# and its certificate on first use). It sets SWTPM_PID, SWTPM_SPEC (for --tpm) and SWTPM_TCTI
# (for tpm2-tools).
start_swtpm() {
	local dir=$1
	mkdir -p "$dir"
	if [[ ! -e $dir/tpm2-00.permall ]]; then
		swtpm_setup --tpm2 --create-ek-cert --tpmstate "$dir" --overwrite >"$dir/setup.log" 2>&1 || {
			cat "$dir/setup.log" >&2
			echo "swtpm_setup failed (log above)" >&2
			return 1
		}
	fi
	local port
	port=$(free_port)
	swtpm socket --tpm2 --tpmstate "dir=$dir" \
		--server "type=tcp,port=$port,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
		--flags not-need-init,startup-clear >"$dir/swtpm.log" 2>&1 &
	SWTPM_PID=$!
	wait_port 127.0.0.1 "$port" 10 || { cat "$dir/swtpm.log" >&2; return 1; }
	SWTPM_SPEC="tcp://127.0.0.1:$port"
	SWTPM_TCTI="swtpm:host=127.0.0.1,port=$port"
}

# start_emulator DIR [FLAG...] starts $BIN/dps-emulator (bin/ unless set) with its data in DIR on a free loopback
# port, and any further flags, and waits for its ready line. It sets EMULATOR_PID, EMULATOR_ADDR
# (DPS's host:port), EMULATOR_HUB (the IoT hub's host:port), EMULATOR_HUB_SERVICE (the hubs'
# service API's host:port, with --hub-service-listen) and ID_SCOPE, and exports DPS_CONNECTION_STRING and DPS_CA_FILE for
# the companion (the connection string never goes on a command line).
start_emulator() {
	local dir=$1 deadline=$((SECONDS + 30))
	shift
	mkdir -p "$dir"
	"${BIN:-bin}"/dps-emulator --data "$dir" --listen 127.0.0.1:0 --admin-listen off --hub-listen 127.0.0.1:0 "$@" \
		>"$dir/emulator.out" 2>"$dir/emulator.log" &
	EMULATOR_PID=$!
	until grep -q '^dps-emulator ready' "$dir/emulator.out" 2>/dev/null; do
		if ! kill -0 "$EMULATOR_PID" 2>/dev/null || ((SECONDS >= deadline)); then
			echo "dps-emulator did not start:" >&2
			cat "$dir/emulator.log" >&2
			return 1
		fi
		sleep 0.05
	done
	local ready
	ready=$(head -1 "$dir/emulator.out")
	EMULATOR_ADDR=$(sed -E 's|^dps-emulator ready on https://([^ ]+) .*|\1|' <<<"$ready")
	EMULATOR_HUB=$(sed -E 's|.*; hub mqtts://([^;)]+).*|\1|' <<<"$ready")
	EMULATOR_HUB_SERVICE=
	[[ $ready == *"; hub service https://"* ]] && EMULATOR_HUB_SERVICE=$(sed -E 's|.*; hub service https://([^;)]+).*|\1|' <<<"$ready")
	ID_SCOPE=$(cat "$dir/id-scope")
	DPS_CONNECTION_STRING=$(cat "$dir/service-connection-string")
	DPS_CA_FILE=$dir/ca.pem
	export DPS_CONNECTION_STRING DPS_CA_FILE
}

# make_device DIR makes a device for the agent's first boot in DIR: an offline root (DIR/root) with
# the agent's unit (enabled) and a workload unit, as an image build makes it, and the agent's
# config (DIR/agent.json) for the TPM and emulator started before. EXTRA is spliced into the
# config's top level: the display and retry settings.
make_device() {
	local dir=$1 extra=$2 unit
	mkdir -p "$dir/root/etc/systemd/system"
	for unit in oob-agent kiosk; do
		printf '[Unit]\nDescription=%s\n\n[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n' \
			"$unit" >"$dir/root/etc/systemd/system/$unit.service"
	done
	systemctl --root="$dir/root" enable oob-agent.service 2>/dev/null
	cat >"$dir/agent.json" <<JSON
{"version": 1,
 "tpm": {"path": "$SWTPM_SPEC"},
 "dps": {"idScope": "$ID_SCOPE", "endpoint": "$EMULATOR_ADDR", "caFile": "$DPS_CA_FILE", "label": "DEMO-1"},
 "hub": {"address": "$EMULATOR_HUB"},
 "stateDir": "$dir/state",
 "finalize": {"enable": ["kiosk.service"], "disable": ["oob-agent.service"], "reboot": true,
              "rebootDelay": "0s", "root": "$dir/root"},
 $extra}
JSON
}

# install_node_packages DIR installs the packages of the Node script folder DIR from its lockfile,
# as internal/nodetest does for the tests and under the same lock, unless node_modules already
# holds each dependency at the version package.json pins.
install_node_packages() {
	local dir lock
	dir=$(cd "$1" && pwd)
	lock=${TMPDIR:-/tmp}/oob-npm-$(printf %s "$dir" | sha256sum | cut -d' ' -f1).lock
	(
		cd "$dir"
		flock 9
		node -e '
			const deps = require("./package.json").dependencies;
			for (const [name, version] of Object.entries(deps)) {
				let got;
				try { got = require(`./node_modules/${name}/package.json`).version; } catch { process.exit(1); }
				if (got !== version) process.exit(1);
			}' && exit 0
		npm ci --ignore-scripts --no-audit --no-fund >&2
	) 9>"$lock"
}

# now_ms prints a monotonic-enough wall clock in milliseconds.
now_ms() { date +%s%3N; }

# median reads numbers, one per line, and prints their median.
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "n/a"} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2}}'; }
