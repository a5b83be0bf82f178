package factory

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/pkg/dps"
)

// ServiceFlags say how to reach DPS's service API, as the companion takes them.
type ServiceFlags struct{ dpsflags.Flags }

func (f *ServiceFlags) register(fs *pflag.FlagSet) { f.Register(fs) }

// client returns a DPS client, or nil, nil when no connection string is configured.
func (f *ServiceFlags) client(opts dps.Options) (*dps.Client, error) {
	c, err := f.Dial(opts)
	if errors.Is(err, dpsflags.ErrNoConnectionString) {
		return nil, nil
	}
	return c, err
}

// noDPS is the advice when no connection string is set.
var noDPS = dpsflags.ErrNoConnectionString.Error()
