package cli

import (
	"context"
	"fmt"
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
	return Run(ctx, newRoot(ios), ios, os.Args[1:])
}

// Run executes root and returns the exit code, having printed the error to ios.ErrOut. Argument
// mistakes (an unknown command, a missing or extra argument) are usage errors, as flag mistakes
// are.
//
// An argument that looks like a secret (a connection string, a shared access key or signature)
// is refused before anything parses it, so that no message can echo it.
func Run(ctx context.Context, root *cobra.Command, ios *IOStreams, args []string) int {
	if i := SecretArg(args); i >= 0 {
		return ExitCode(&UsageError{Err: fmt.Errorf("argument %d looks like a connection string, key or token: "+
			"secrets never go on the command line, where every user of the machine can read them; %s", i+1, secretsGo)}, ios.ErrOut)
	}
	root.SetArgs(args)
	usageArgs(root)
	return ExitCode(root.ExecuteContext(ctx), ios.ErrOut)
}

// usageArgs makes every command's argument check return a UsageError. A root with subcommands and
// nothing of its own to run answers an unknown command with a UsageError too, and shows its help
// when run bare, as cobra does.
func usageArgs(c *cobra.Command) {
	for _, sub := range c.Commands() {
		usageArgs(sub)
	}
	if !c.HasParent() && c.HasSubCommands() && !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return Usagef("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		}
		return
	}
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &UsageError{Err: err}
			}
			return nil
		}
	}
}
