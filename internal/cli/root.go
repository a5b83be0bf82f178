package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// NewRoot returns a program's root command, set up as all of ours are: errors are returned to
// Main, not printed by cobra; flag mistakes are usage errors; output goes to ios.
func NewRoot(ios *IOStreams, use, short, long, version string) *cobra.Command {
	root := &cobra.Command{
		Use:           use,
		Short:         short,
		Long:          long,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	return root
}

// Main runs the root command that newRoot makes on the process's streams, cancelled by SIGINT
// or SIGTERM, and returns the exit code.
func Main(newRoot func(*IOStreams) *cobra.Command) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ios := System()
	return ExitCode(newRoot(ios).ExecuteContext(ctx), ios.ErrOut)
}
