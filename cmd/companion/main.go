// Command companion is the technician's tool: it reads device identity QR codes and manages
// their Azure DPS enrollments.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/companion"
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ios := cli.System()
	err := companion.NewRootCmd(ios, version).ExecuteContext(ctx)
	stop()
	os.Exit(cli.ExitCode(err, ios.ErrOut))
}
