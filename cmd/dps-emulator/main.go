// Command dps-emulator is a local stand-in for the Azure IoT Hub Device Provisioning Service: its
// service API and its device registration API, over TLS with its own CA and durable state; see
// run.go for its start-up contract and flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Stdout, os.Stderr)))
}

// exitCode maps run's result to the process exit status: 2 for a usage error, 1 for anything
// else that went wrong, 0 for a clean shutdown.
func exitCode(err error) int {
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "dps-emulator:", err)
		return 2
	default:
		fmt.Fprintln(os.Stderr, "dps-emulator:", err)
		return 1
	}
}
