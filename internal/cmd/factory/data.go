package factory

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dataflags"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/records"
)

// DataFlags say where the factory's state is.
type DataFlags struct{ dataflags.Flags }

func (f *DataFlags) register(fs *pflag.FlagSet) {
	f.Register(fs, "the factory's data directory: the CA, and the SQLite database")
}

// open opens the factory's records.
func (f *DataFlags) open(ctx context.Context) (*records.Store, error) { return f.Open(ctx) }

// ca loads the factory's CA.
func (f *DataFlags) ca() (*boardca.CA, error) {
	ca, err := boardca.Load(f.Dir)
	if errors.Is(err, boardca.ErrNoCA) {
		return nil, &cli.NotFoundError{Err: fmt.Errorf("no CA in %s: run `oob-factory ca init --data %s` or `oob-factory ca import`", f.Dir, f.Dir)}
	}
	return ca, err
}
