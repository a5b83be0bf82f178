// Command oob-agent is the device's first-boot program: it shows the TPM identity as a QR code
// and onboards the device into Azure IoT Hub through DPS.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/agent"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ios := cli.System()
	err := agent.NewRootCmd(ios, version).ExecuteContext(ctx)
	stop()
	os.Exit(cli.ExitCode(err, ios.ErrOut))
}
