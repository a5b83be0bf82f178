// Package dataflags is how the programs that share the factory's database (oob-factory,
// oob-portal) are told where it is: SQLite in a data directory, or PostgreSQL by a URL whose
// password never appears on the command line.
package dataflags

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/records"
)

// Environment variables the flags default from.
const (
	EnvData     = "OOB_FACTORY_DATA"
	EnvDatabase = "OOB_FACTORY_DATABASE"
)

// Flags say where the factory's records are.
type Flags struct {
	Dir          string
	Database     string
	DatabaseFile string
}

// Register adds --data, --database and --database-file to fs; dirUse describes --data.
func (f *Flags) Register(fs *pflag.FlagSet, dirUse string) {
	def := os.Getenv(EnvData)
	if def == "" {
		def = "/var/lib/oob-factory"
	}
	fs.StringVar(&f.Dir, "data", def, dirUse+" (default: $"+EnvData+")")
	fs.StringVar(&f.Database, "database", "", "a PostgreSQL URL postgres://USER@HOST/DB without a password (default: $"+EnvDatabase+", else SQLite in --data)")
	fs.StringVar(&f.DatabaseFile, "database-file", "", "read the PostgreSQL URL, password included, from this 0600 file")
}

// DatabaseURL returns the PostgreSQL URL, or "" for SQLite.
func (f *Flags) DatabaseURL() (string, error) {
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
				"put the URL in a 0600 file for --database-file, or in $" + EnvDatabase)
		}
		return f.Database, nil
	}
	b, err := cli.Secret(EnvDatabase, f.DatabaseFile)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Open opens the factory's records, creating the data directory (0700) for SQLite.
func (f *Flags) Open(ctx context.Context) (*records.Store, error) {
	u, err := f.DatabaseURL()
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
