// Package hubflags is how the portal is told to reach IoT hubs' service API: one hub service
// connection string per line from IOTHUB_CONNECTION_STRINGS or a 0600 file, never argv; a
// private CA from --hub-ca-file or IOTHUB_CA_FILE; another endpoint.
package hubflags

import (
	"errors"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/hubservice"
)

// Environment variables the flags default from.
const (
	EnvConnectionStrings = "IOTHUB_CONNECTION_STRINGS"
	EnvCAFile            = "IOTHUB_CA_FILE"
)

// DefaultRefresh is how often a board's connection state is read again.
const DefaultRefresh = time.Minute

// ErrNoConnectionStrings means neither the environment nor a file gave any.
var ErrNoConnectionStrings = errors.New("no IoT hub connection strings: set " + EnvConnectionStrings +
	" or pass --hub-connection-strings-file FILE (mode 0600, one hub's iothubowner or registry read connection string per line)")

// Flags say how to reach the hubs' service API.
type Flags struct {
	ConnectionStringsFile string
	CAFile                string
	Endpoint              string
	Refresh               time.Duration
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.ConnectionStringsFile, "hub-connection-strings-file", "", "read the IoT hubs' service connection strings, one per line, from this 0600 file (default: $"+EnvConnectionStrings+")")
	fs.StringVar(&f.CAFile, "hub-ca-file", os.Getenv(EnvCAFile), "trust only this PEM CA for the hubs' TLS certificates (default: $"+EnvCAFile+", else the system's CAs)")
	fs.StringVar(&f.Endpoint, "hub-endpoint", "", "send every hub's requests to this HOST:PORT instead of the hub's host name (an emulator)")
	fs.DurationVar(&f.Refresh, "hub-refresh", DefaultRefresh, "read each activated board's connection state again after this long")
}

// Client returns a client of the hubs the connection strings name; ErrNoConnectionStrings when
// there are none.
func (f *Flags) Client() (*hubservice.Client, error) {
	secret, err := cli.Secret(EnvConnectionStrings, f.ConnectionStringsFile)
	if err != nil {
		return nil, err
	}
	if secret == nil {
		return nil, ErrNoConnectionStrings
	}
	css, err := hubservice.ParseConnectionStrings(secret)
	if err != nil {
		return nil, err
	}
	opts := hubservice.Options{Address: f.Endpoint}
	if f.CAFile != "" {
		if opts.RootCAs, err = cafile.Load(f.CAFile); err != nil {
			return nil, err
		}
	}
	return hubservice.New(css, opts)
}
