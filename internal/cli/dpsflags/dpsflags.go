// Package dpsflags is how the project's service-side programs (the companion, the factory) are
// told to reach DPS's service API: the connection string from DPS_CONNECTION_STRING or a 0600
// file, never argv; a private CA from --ca-file or DPS_CA_FILE; another endpoint. It is apart
// from internal/cli so that the device agent, which shares internal/cli, links no service client.
package dpsflags

import (
	"errors"
	"os"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/sas"
)

// Environment variables the flags default from.
const (
	EnvConnectionString = "DPS_CONNECTION_STRING"
	EnvCAFile           = "DPS_CA_FILE"
)

// ErrNoConnectionString means neither the environment nor a file gave a connection string.
var ErrNoConnectionString = errors.New("no DPS connection string: set " + EnvConnectionString + " or pass --connection-string-file FILE (mode 0600)")

// Flags say how to reach DPS's service API.
type Flags struct {
	ConnectionStringFile string
	CAFile               string
	Endpoint             string
}

// Register adds the flags to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.ConnectionStringFile, "connection-string-file", "", "read the DPS service connection string from this 0600 file (default: $"+EnvConnectionString+")")
	fs.StringVar(&f.CAFile, "ca-file", os.Getenv(EnvCAFile), "trust only this PEM CA for the service's TLS certificate (default: $"+EnvCAFile+", else the system's CAs)")
	fs.StringVar(&f.Endpoint, "endpoint", "", "send requests to this HOST[:PORT] instead of the connection string's host name")
}

// Dial returns a DPS client made with opts, completed from the flags and the secret;
// ErrNoConnectionString when there is no secret.
func (f *Flags) Dial(opts dps.Options) (*dps.Client, error) {
	secret, err := cli.Secret(EnvConnectionString, f.ConnectionStringFile)
	if err != nil {
		return nil, err
	}
	if secret == nil {
		return nil, ErrNoConnectionString
	}
	cs, err := sas.ParseConnectionString(string(secret))
	if err != nil {
		return nil, err
	}
	opts.Endpoint = f.Endpoint
	if f.CAFile != "" {
		if opts.RootCAs, err = cafile.Load(f.CAFile); err != nil {
			return nil, err
		}
	}
	return dps.New(cs, opts)
}
