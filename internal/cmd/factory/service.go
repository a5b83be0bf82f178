package factory

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/sas"
)

const (
	envConnectionString = "DPS_CONNECTION_STRING"
	envCAFile           = "DPS_CA_FILE"
)

// ServiceFlags say how to reach DPS's service API, as the companion takes them.
type ServiceFlags struct {
	ConnectionStringFile string
	CAFile               string
	Endpoint             string
}

func (f *ServiceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.ConnectionStringFile, "connection-string-file", "", "read the DPS service connection string from this 0600 file (default: $"+envConnectionString+")")
	fs.StringVar(&f.CAFile, "ca-file", os.Getenv(envCAFile), "trust only this PEM CA for the service's TLS certificate (default: $"+envCAFile+", else the system's CAs)")
	fs.StringVar(&f.Endpoint, "endpoint", "", "send requests to this HOST[:PORT] instead of the connection string's host name")
}

// client returns a DPS client, or nil, nil when no connection string is configured.
func (f *ServiceFlags) client(opts dps.Options) (*dps.Client, error) {
	secret, err := cli.Secret(envConnectionString, f.ConnectionStringFile)
	if err != nil || secret == nil {
		return nil, err
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

// noDPS is the advice when no connection string is set.
var noDPS = fmt.Sprintf("no DPS connection string: set %s or pass --connection-string-file FILE (mode 0600)", envConnectionString)
