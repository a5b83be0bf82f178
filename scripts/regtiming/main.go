// Command regtiming times a whole DPS registration, process start to "assigned", by our agent
// (`oob-agent register --no-hub`) and by Microsoft's Node.js device SDK (scripts/nodedevice,
// `node device.js --no-hub`), paired: for each attestation, runs alternate between the two (which
// one goes first alternating too) against the same emulator and, for the TPM, the same swtpm.
//
// It starts bin/dps-emulator itself on 127.0.0.1:443 (the SDK dials only that port), with the
// emulator's own waits at zero (--assign-delay 0 --device-retry-after 0), under the lock that
// the tests using Azure's fixed ports take (internal/nodetest), enrolls one device per
// attestation (TPM: the swtpm's EK; X.509: a self-signed certificate; symmetric key: keys the
// emulator generates), serves the Microsoft simulator protocol in front of swtpm for the SDK
// (internal/mssim), runs one unmeasured warm-up pair per attestation, then -pairs pairs.
//
// Usage: go run ./scripts/regtiming -tpm tcp://127.0.0.1:PORT [-pairs 10] [-agent bin/oob-agent]
//
//	[-emulator bin/dps-emulator] [-node-dir scripts/nodedevice]
//
// The swtpm must already hold the agent's SRK (`oob-agent identity` persists it), so both
// clients find the same keys. Needs root (port 443) and the SDK installed in -node-dir.
// Prints one table row per attestation: runs, median and 90th percentile of each, and the
// median of the pairs' Node/ours ratios; then how long node takes to load the SDK's modules and
// exit, the share of its time that is start-up.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	agent := flag.String("agent", "bin/oob-agent", "the agent binary")
	emulatorBin := flag.String("emulator", "bin/dps-emulator", "the emulator binary")
	nodeDir := flag.String("node-dir", "scripts/nodedevice", "the Node SDK device script's folder, its packages installed")
	tpmSpec := flag.String("tpm", "", "swtpm's tcp://HOST:PORT, its SRK persisted (required)")
	pairs := flag.Int("pairs", 10, "measured pairs per attestation")
	flag.Parse()
	if *tpmSpec == "" || *pairs < 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: regtiming -tpm tcp://HOST:PORT [-pairs N] [-agent BIN] [-emulator BIN] [-node-dir DIR]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *agent, *emulatorBin, *nodeDir, *tpmSpec, *pairs); err != nil {
		fmt.Fprintln(os.Stderr, "regtiming:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, agent, emulatorBin, nodeDir, tpmSpec string, pairs int) error {
	var err error
	if agent, err = filepath.Abs(agent); err != nil {
		return err
	}
	if nodeDir, err = filepath.Abs(nodeDir); err != nil {
		return err
	}
	unlock, err := lockAzurePorts()
	if err != nil {
		return err
	}
	defer unlock()
	work, err := os.MkdirTemp("", "oob-regtiming-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	emu, err := startEmulator(ctx, emulatorBin, filepath.Join(work, "dps"))
	if err != nil {
		return err
	}
	defer emu.stop()
	front, err := simulatorFrontEnd(tpmSpec)
	if err != nil {
		return err
	}
	defer front.stop()
	modes, err := enrollDevices(ctx, emu, work, tpmSpec, front.tpmAddr)
	if err != nil {
		return err
	}

	fmt.Printf("%-10s %5s  %16s  %16s  %9s\n", "", "", "ours (ms)", "Node SDK (ms)", "Node/ours")
	fmt.Printf("%-10s %5s  %7s %8s  %7s %8s  %9s\n", "mode", "pairs", "median", "p90", "median", "p90", "median")
	for _, m := range modes {
		r := runner{agent: agent, nodeDir: nodeDir, emu: emu}
		res, err := r.pairs(ctx, m, pairs)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Printf("%-10s %5d  %7.1f %8.1f  %7.1f %8.1f  %8.1fx\n", m.name, len(res.ours),
			ms(median(res.ours)), ms(percentile(res.ours, 0.9)), ms(median(res.node)), ms(percentile(res.node, 0.9)), res.ratio())
	}
	base, err := nodeStartup(ctx, nodeDir, pairs)
	if err != nil {
		return err
	}
	fmt.Printf("Node alone, loading the SDK's modules and exiting: median %.1f ms over %d starts\n", ms(median(base)), len(base))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
