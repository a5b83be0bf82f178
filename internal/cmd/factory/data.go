package factory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/records"
)

// Environment variables.
const (
	envData     = "OOB_FACTORY_DATA"
	envDatabase = "OOB_FACTORY_DATABASE"
)

// DataFlags say where the factory's state is.
type DataFlags struct {
	Dir          string
	Database     string
	DatabaseFile string
}

func (f *DataFlags) register(fs *pflag.FlagSet) {
	def := os.Getenv(envData)
	if def == "" {
		def = "/var/lib/oob-factory"
	}
	fs.StringVar(&f.Dir, "data", def, "the factory's data directory: the CA, and the SQLite database (default: $"+envData+")")
	fs.StringVar(&f.Database, "database", "", "a PostgreSQL URL postgres://USER@HOST/DB without a password (default: $"+envDatabase+", else SQLite in --data)")
	fs.StringVar(&f.DatabaseFile, "database-file", "", "read the PostgreSQL URL, password included, from this 0600 file")
}

// databaseURL returns the PostgreSQL URL, or "" for SQLite.
func (f *DataFlags) databaseURL() (string, error) {
	if f.Database != "" {
		if f.DatabaseFile != "" {
			return "", cli.Usagef("give --database or --database-file, not both")
		}
		u, err := url.Parse(f.Database)
		if err != nil {
			return "", cli.Usagef("--database: not a URL")
		}
		if _, ok := u.User.Password(); ok || u.Query().Has("password") {
			return "", cli.Usagef("--database must not hold a password (the command line is visible to every user): " +
				"put the URL in a 0600 file for --database-file, or in $" + envDatabase)
		}
		return f.Database, nil
	}
	b, err := cli.Secret(envDatabase, f.DatabaseFile)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// open opens the factory's records.
func (f *DataFlags) open(ctx context.Context) (*records.Store, error) {
	u, err := f.databaseURL()
	if err != nil {
		return nil, err
	}
	if u != "" {
		return records.OpenPostgres(ctx, u)
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return records.OpenSQLite(ctx, f.Dir)
}

// ca loads the factory's CA.
func (f *DataFlags) ca() (*boardca.CA, error) {
	ca, err := boardca.Load(f.Dir)
	if errors.Is(err, boardca.ErrNoCA) {
		return nil, &cli.NotFoundError{Err: fmt.Errorf("no CA in %s: run `oob-factory ca init --data %s` or `oob-factory ca import`", f.Dir, f.Dir)}
	}
	return ca, err
}
