package companion

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/pkg/dps"
)

// serviceHelp is the part of every service command's help that says how it reaches DPS.
const serviceHelp = `
The DPS service connection string (HostName=…;SharedAccessKeyName=…;SharedAccessKey=…,
from the portal: the DPS instance → Shared access policies) comes from the
environment variable DPS_CONNECTION_STRING or from a file readable only by you
(--connection-string-file), never from the command line. TLS is always verified; a
private CA (the emulator's DIR/ca.pem) is given with --ca-file or DPS_CA_FILE.`

// ServiceFlags are how a command reaches the DPS service API, and how long it may take.
type ServiceFlags struct {
	dpsflags.Flags
	Timeout time.Duration
}

// register adds the flags to fs.
func (f *ServiceFlags) register(fs *pflag.FlagSet) {
	f.Register(fs)
	fs.DurationVar(&f.Timeout, "timeout", 2*time.Minute, "give up after this long, retries included")
}

// client returns a DPS client, and a context bounded by --timeout.
func (f *ServiceFlags) client(ctx context.Context) (*dps.Client, context.Context, context.CancelFunc, error) {
	c, err := f.dial(dps.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	return c, ctx, cancel, nil
}

// dial returns a DPS client made with opts, completed from the flags and the secret.
func (f *ServiceFlags) dial(opts dps.Options) (*dps.Client, error) {
	if f.Timeout <= 0 {
		return nil, cli.Usagef("--timeout must be positive")
	}
	c, err := f.Dial(opts)
	if errors.Is(err, dpsflags.ErrNoConnectionString) {
		return nil, fmt.Errorf("%w; the emulator writes one to DIR/service-connection-string", err)
	}
	return c, err
}

// notFound marks a DPS not-found error so that it exits with code 3, as "nothing found" does.
func notFound(err error) error {
	if errors.Is(err, dps.ErrNotFound) {
		return &cli.NotFoundError{Err: err}
	}
	return err
}

// timeoutHint turns a deadline hit into advice.
func timeoutHint(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: no answer from DPS within --timeout %s: check the network and the endpoint, or allow more time", err, timeout)
	}
	return err
}
