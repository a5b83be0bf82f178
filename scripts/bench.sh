#!/usr/bin/env bash
# Figures for the README's claims, measured on this machine in one run:
#   - time from `oob-agent show` start to the QR written (swtpm, EK persisted)
#   - QR version of the default payload, beside the original sample's JSON
#   - QR decoding on ../shared/corpus/qr and on the camera set (scripts/make-camera-set.sh):
#     ours beside zbarimg and ZXingReader, and the scan loop's frame rate on one core
#   - companion scan's latency from the first frame showing a new code to its enrollment
#   - DPS: enrollments per second through our client against the emulator, and the emulator's
#     own request throughput (TLS on loopback)
#   - the factory: boards certified and pre-enrolled per second, SQLite and PostgreSQL
#   - the portal's API: activations per second and their latency, 50 clients
#   - the portal's pages: latency by kind of page and pages per second, 50 users signed in
#   - a full TPM registration (swtpm) with the emulator, split into TPM work and the rest
#   - registration from process start to assigned, ours beside Microsoft's Node.js SDK, paired, by
#     TPM, X.509 and symmetric key (scripts/regtiming)
#   - the first boot: agent start to QR, enrollment to finalized, the agent's peak memory
#   - the first boot in QEMU (TestVMFirstBoot): boot to QR on the framebuffer, enrollment to
#     finalized, reboot to workload active, the agent's peak memory; OOB_BENCH_VM=0 skips it
#   - the portal's fleet list at 100,000 boards: first page, a deep one, searches
#   - Go benchmarks of the hot paths
# Usage: scripts/bench.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

runs=20
while [[ $# -gt 0 ]]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	*) echo "usage: $0 [--runs N]" >&2; exit 2 ;;
	esac
done

work=$(mktemp -d -t oob-bench.XXXXXX)
cleanup() {
	[[ -n ${SWTPM_PID:-} ]] && kill "$SWTPM_PID" 2>/dev/null && wait "$SWTPM_PID" 2>/dev/null
	[[ -n ${EMULATOR_PID:-} ]] && kill "$EMULATOR_PID" 2>/dev/null && wait "$EMULATOR_PID" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "go: $(go version | cut -d' ' -f3)"

echo
echo "== oob-agent show: start to QR written (swtpm over TCP, EK and SRK persisted)"
start_swtpm "$work/tpm"
bin/oob-agent identity --tpm "$SWTPM_SPEC" --format json >"$work/identity.json" # persists the SRK
for i in $(seq "$runs"); do
	t0=$(date +%s%N)
	bin/oob-agent show --tpm "$SWTPM_SPEC" --output png --file "$work/qr.png" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
done >"$work/show.us"
printf 'runs: %d  median: %.1f ms  min: %.1f ms  max: %.1f ms\n' "$runs" \
	"$(median <"$work/show.us" | awk '{print $1/1000}')" \
	"$(sort -n "$work/show.us" | head -1 | awk '{print $1/1000}')" \
	"$(sort -n "$work/show.us" | tail -1 | awk '{print $1/1000}')"

echo
echo "== QR size of the device identity (RSA-2048 EK, derived registration ID, level M)"
v1=$(bin/oob-agent show --tpm "$SWTPM_SPEC" --output png --file "$work/v1.png" --format json)
legacy=$(bin/oob-agent show --tpm "$SWTPM_SPEC" --output png --file "$work/legacy.png" --format json --payload-format legacy)
for s in "$v1" "$legacy"; do
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print("%-7s payload %4d chars  QR version %2d (%dx%d modules)" % (s["payloadFormat"], len(s["payload"]), s["qrVersion"], s["modules"], s["modules"]))' "$s"
done

echo
echo "== QR decoding on ../shared/corpus/qr"
if [[ -d ../shared/corpus/qr ]]; then
	scripts/bench-decode.sh ../shared/corpus/qr
else
	echo "skipped: ../shared/corpus/qr is absent"
fi

echo
echo "== QR decoding on the camera set: our agent's screens photographed by a simulated webcam"
scripts/make-camera-set.sh build/camera-set
scripts/bench-decode.sh build/camera-set
echo "scan loop: Fast decoder, camera-set frames in turn (with and without a code), one core:"
GOMAXPROCS=1 taskset -c 0 go test -cpu 1 -run '^$' -bench 'ScanLoop' -benchtime 5s ./pkg/qr/reader 2>&1 |
	awk '
	/^BenchmarkScanLoop/ {
		for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
		printf "%.0f frames/s sustained at 1280x720 (%.1f ms per frame), %.0f%% of the frames with a code read\n",
			v["frames/s"], v["ns/op"] / 1e6, v["%read"]
	}
	/^(FAIL|---)/ { print }'

echo
echo "== companion scan latency: first frame showing a new code to its enrollment on the emulator"
echo "(simulated 30 fps webcam playing the camera set: each device 1 s, 0.5 s without a code between)"
start_emulator "$work/scan-emulator"
go run ./scripts/scanlatency -endpoint "$EMULATOR_ADDR" -rounds 3 build/camera-set |
	awk '{
		printf "devices shown %d, enrolled %d (the others were never read)\n", $1, $2
		printf "to enrollment existing (DPS polled every 2 ms): median %.1f ms, 95th percentile %.1f ms\n", $3, $4
		printf "to the scan reporting it enrolled: median %.1f ms\n", $5
		printf "frames decoded %.1f/s, %d stale frames dropped\n", $6, $7
	}'
kill "$EMULATOR_PID" && wait "$EMULATOR_PID" 2>/dev/null || true
EMULATOR_PID=

echo
echo "== DPS enrollments against the emulator (TLS on loopback, every write fsynced)"
# per-second figures from the benchmarks' own metrics, or from ns/op for the parallel ones
go test -run '^$' -bench 'Enroll|PutEnrollment|GetEnrollment' -benchtime 3s ./pkg/dps ./pkg/enroll ./internal/emulator 2>&1 |
	awk '
	function row(what, n, unit) { printf "%-42s %7.0f %s\n", what, n, unit }
	/^BenchmarkEnrollOneAtATime/ { row("client, one at a time (PUT)", $(NF-1), "enrollments/s") }
	/^BenchmarkEnrollBulk/       { row("client, bulk (100 per call, 10 per request)", $(NF-1), "enrollments/s") }
	/^BenchmarkEnrollNewDevice/  { row("companion enroll flow (GET, create, GET)", $(NF-1), "devices/s") }
	/^BenchmarkPutEnrollment/    { row("emulator, parallel PUT", 1e9 / $3, "requests/s") }
	/^BenchmarkGetEnrollment/    { row("emulator, parallel GET", 1e9 / $3, "requests/s") }
	/^(FAIL|---)/ { print }'
go test -run '^$' -bench 'EnrollFrom10000' -benchtime 1x ./internal/cmd/companion 2>&1 |
	awk '
	function row(what, n, unit) { printf "%-42s %7.0f %s\n", what, n, unit }
	/^BenchmarkEnrollFrom10000/  { row("companion enroll --from, 10,000 rows", $(NF-1), "rows/s") }
	/^(FAIL|---)/ { print }'

echo
echo "== Box labels: companion label on a 10,000-row file, 50x30 mm at 203 dpi (checked, encoded, laid out, written)"
go test -run '^$' -bench 'Label10000' -benchtime 1x -timeout 30m ./internal/cmd/companion 2>&1 |
	awk '
	function row(what, n, unit) { printf "%-42s %7.0f %s\n", what, n, unit }
	/^BenchmarkLabel10000\/pdf/ { row("companion label --format pdf", $(NF-1), "labels/s") }
	/^BenchmarkLabel10000\/png/ { row("companion label --format png", $(NF-1), "labels/s") }
	/^BenchmarkLabel10000\/zpl/ { row("companion label --format zpl", $(NF-1), "labels/s") }
	/^(FAIL|---)/ { print }'

echo
echo "== The factory: boards certified over EST and pre-enrolled disabled on the emulator"
echo "(4 stations at once; boards/s until every enrollment is read back; latency CSR to certificate)"
OOB_E2E=1 go test -run '^$' -bench 'CertifyBoards' -benchtime 1000x ./internal/cmd/factory 2>&1 |
	awk '
	/^BenchmarkCertifyBoards/ {
		for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
		split($1, name, "[/-]")
		printf "%-8s %6.0f boards/s  p50 %5.1f ms  p99 %5.1f ms\n", name[2], v["boards/s"], v["p50-ms"], v["p99-ms"]
	}
	/^(FAIL|---)/ { print }'

echo
echo "== The portal's API: boards activated through POST /api/v1/boards/{guid}/activation"
echo "(50 clients at once, portal and DPS emulator each over TLS on loopback, SQLite; per activation:"
echo " code check, DPS read and If-Match write, the records' transaction. back-to-back: each client's"
echo " next activation as soon as the last came back; paced: a mean second between a client's activations)"
OOB_E2E=1 go test -run '^$' -bench 'APIActivation' -benchtime 500x ./internal/portal/api 2>&1 |
	awk '
	/^BenchmarkAPIActivation\// {
		for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
		split($1, name, "/")
		sub(/-[0-9]+$/, "", name[2])
		printf "%-13s %6.0f activations/s  p50 %5.1f ms  p95 %5.1f ms  max %5.1f ms\n", name[2], v["activations/s"], v["p50-ms"], v["p95-ms"], v["max-ms"]
	}
	/^(FAIL|---)/ { print }'

echo
echo "== The portal's pages: 50 users signed in (45 of an organisation of 100,000 boards, 5 of one of"
echo "10,000), 40 pages each, at most 60 s: the list and its next pages, searches, a board's page"
echo "(DPS read), a label's activation form (DPS read), the audit trail; portal and emulator over TLS"
echo "on loopback, SQLite. back-to-back: each user's next page as soon as the last came; reading: a"
echo "mean second between a user's pages. Any answer but 2xx fails the run. JSON: build/portal-pages.json"
mkdir -p build
OOB_PAGES_FIGURES="$PWD/build/portal-pages.json" go test -count=1 -run '^$' -bench 'Pages' -benchtime 1x -timeout 15m ./internal/portal/pageload >"$work/pages.log" 2>&1 || {
	tail -40 "$work/pages.log"
	echo "the page load failed (output above)"
	exit 1
}
python3 -c '
import json, sys
runs = json.load(open(sys.argv[1]))
print("%-13s %-14s %6s %8s %8s %8s" % ("run", "page", "count", "p50 ms", "p95 ms", "max ms"))
for name in ("back-to-back", "reading"):
    r = runs[name]
    for kind in ("fleet", "fleet-next", "search", "board", "activate-form", "audit"):
        k = r["pages"].get(kind, {"count": 0, "p50Ms": 0, "p95Ms": 0, "maxMs": 0})
        print("%-13s %-14s %6d %8.1f %8.1f %8.1f" % (name, kind, k["count"], k["p50Ms"], k["p95Ms"], k["maxMs"]))
    a, s = r["all"], r["signIn"]
    print("%-13s %-14s %6d %8.1f %8.1f %8.1f" % (name, "all pages", a["count"], a["p50Ms"], a["p95Ms"], a["maxMs"]))
    print("%-13s %-14s %6d %8.1f %8.1f %8.1f" % (name, "sign-in", s["count"], s["p50Ms"], s["p95Ms"], s["maxMs"]))
    print("%-13s %.0f pages/s over %.1f s, %d of %d pages, %d errors" % (name, r["pagesPerSecond"], r["seconds"], r["done"], r["planned"], r["errors"]))
' build/portal-pages.json

echo
echo "== DPS registration by TPM attestation: swtpm device, emulator over TLS on loopback"
echo "(challenge, key import, signed register, polls, hub key import; DPS's waits not counted)"
go test -run '^$' -bench 'RegisterTPMSwtpm|ImportDPSKeySwtpm|SignHMACSwtpm' -benchtime 2s ./pkg/provision ./pkg/tpm 2>&1 |
	awk '
	/^BenchmarkRegisterTPMSwtpm/ {
		for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
		printf "full registration: %.1f ms  (inside the TPM %.1f ms, round trips and emulator %.1f ms)\n",
			v["ms/registration"], v["tpm-ms/registration"], v["other-ms/registration"]
	}
	/^BenchmarkImportDPSKeySwtpm/ { printf "one key import (ActivateCredential, Import, persist): %.1f ms\n", $3 / 1e6 }
	/^BenchmarkSignHMACSwtpm/     { printf "one TPM2_HMAC signature: %.2f ms\n", $3 / 1e6 }
	/^(FAIL|---)/ { print }'

echo
echo "== Registration, process start to assigned: oob-agent register beside Microsoft's Node.js SDK"
echo "(pairs alternating ours / Node, same emulator on 127.0.0.1:443 with --assign-delay 0"
echo " --device-retry-after 0, same swtpm; both with --no-hub: DPS's answer, no hub connection)"
if [[ $(id -u) -eq 0 ]]; then
	install_node_packages scripts/nodedevice
	go run ./scripts/regtiming -tpm "$SWTPM_SPEC" -pairs 10
else
	echo "skipped: the Node SDK dials DPS on port 443 only, which needs root"
fi

echo
echo "== First boot: oob-agent run with swtpm (EK persisted) and the emulator"
scripts/bench-firstboot.sh "$runs"

echo
echo "== First boot in QEMU (TestVMFirstBoot: Debian image, swtpm TPM, the emulator; docs/deploy.md)"
if [[ ${OOB_BENCH_VM:-1} == 0 ]]; then
	echo "skipped: OOB_BENCH_VM=0 (make bench OOB_BENCH_VM=1, the default, boots the VM; minutes, root)"
else
	OOB_VM=1 OOB_VM_FIGURES="$work/vm.json" go test -count=1 -timeout 40m -run '^TestVMFirstBoot$' ./internal/e2e/ >"$work/vm.log" 2>&1 || {
		tail -40 "$work/vm.log"
		echo "the VM first boot failed (output above)"
		exit 1
	}
	python3 -c '
import json, sys
f = json.load(open(sys.argv[1]))
print("accelerator                         %s" % f["accel"])
print("image (build, or the cache)         %6.1f s" % f["imageSeconds"])
print("boot to QR on the framebuffer       %6.1f s" % f["bootToQRSeconds"])
print("enrollment to finalized             %6.1f s" % f["enrollToFinalizedSeconds"])
print("reboot to workload active           %6.1f s" % f["rebootToWorkloadSeconds"])
m = f["agentPeakMiB"]
print("agent peak resident memory          " + ("%6.1f MiB" % m if m >= 0 else "not reported by the guest"))
' "$work/vm.json"
fi
echo "== The portal's fleet list at 100,000 boards on SQLite (one page of 25 and its count up to 10,000)"
go test -run '^$' -bench 'FleetList' -benchtime 50x ./internal/factory/records 2>&1 |
	awk '
	/^BenchmarkFleetList/ { sub(/-[0-9]+$/, "", $1); sub(/^BenchmarkFleetList\//, "", $1); printf "%-18s %7.2f ms\n", $1, $3 / 1e6 }
	/^(FAIL|---)/ { print }'

echo
echo "== Go benchmarks"
go test -run '^$' -bench . -benchmem -benchtime 2s ./pkg/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true
