// Command mssim-proxy serves the Microsoft TPM simulator's TCP protocol in front of swtpm's raw
// TCP server, for running scripts/nodedevice by hand or from scripts:
//
//	go run ./internal/mssim/cmd/mssim-proxy -backend 127.0.0.1:SWTPM_PORT [-port 2321]
//
// It listens on 127.0.0.1:PORT (TPM commands) and PORT+1 (platform signals), prints
// "tpm=HOST:PORT platform=HOST:PORT+1" on stdout once both listen, and stops on SIGINT or
// SIGTERM. With -port 0 it picks two adjacent free ports.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/oobtpm/oob/internal/mssim"
)

func main() {
	backend := flag.String("backend", "", "swtpm's raw TCP server, host:port (required)")
	port := flag.Int("port", 2321, "TPM command port on 127.0.0.1; the platform port is one above; 0 picks free ones")
	flag.Parse()
	if *backend == "" || flag.NArg() != 0 || *port < 0 || *port > 65534 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*backend, *port); err != nil {
		fmt.Fprintln(os.Stderr, "mssim-proxy:", err)
		os.Exit(1)
	}
}

func run(backend string, port int) error {
	tpm, platform, err := listen(port)
	if err != nil {
		return err
	}
	fmt.Printf("tpm=%s platform=%s\n", tpm.Addr(), platform.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := &mssim.Server{Backend: backend, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	return s.Serve(ctx, tpm, platform)
}

// listen opens the TPM port and the platform port above it.
func listen(port int) (tpm, platform net.Listener, err error) {
	if port == 0 {
		return mssim.ListenPair()
	}
	if tpm, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		return nil, nil, err
	}
	if platform, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1))); err != nil {
		_ = tpm.Close()
		return nil, nil, err
	}
	return tpm, platform, nil
}
