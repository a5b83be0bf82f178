package companion

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/dps"
)

// serviceCmd holds what every command on DPS records shares: streams, service flags, format.
type serviceCmd struct {
	io      *cli.IOStreams
	service ServiceFlags
	format  *cli.FormatFlag
}

func newServiceCmd(ios *cli.IOStreams, cmd *cobra.Command) *serviceCmd {
	s := &serviceCmd{io: ios, format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd.Flags().Var(s.format, "format", s.format.Usage())
	s.service.register(cmd.Flags())
	return s
}

func (s *serviceCmd) json() bool { return s.format.Value == cli.FormatJSON }

// eachID runs fn for every ID with one client, reporting failures as they happen and going on
// with the rest. The result is nil when all succeeded, a not-found error when every failure was
// a missing record, and a quiet failure otherwise.
func (s *serviceCmd) eachID(ctx context.Context, ids []string, fn func(context.Context, *dps.Client, string) error) error {
	c, ctx, cancel, err := s.service.client(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var failed, missing int
	var last error
	for _, id := range ids {
		if err := dps.CheckRegistrationID(id); err != nil {
			last = cli.Usagef("%v", err)
			failed++
			fmt.Fprintf(s.io.ErrOut, "%s: %v\n", id, err)
			continue
		}
		err := fn(ctx, c, id)
		if err == nil {
			continue
		}
		err = timeoutHint(err, s.service.Timeout)
		failed++
		if errors.Is(err, dps.ErrNotFound) {
			missing++
		}
		last = err
		if len(ids) > 1 {
			fmt.Fprintf(s.io.ErrOut, "%s: %v\n", id, err)
		}
	}
	switch {
	case failed == 0:
		return nil
	case len(ids) == 1:
		return notFound(last)
	case missing == failed:
		return &cli.NotFoundError{Err: fmt.Errorf("%d of %d not found", missing, len(ids))}
	}
	fmt.Fprintf(s.io.ErrOut, "error: %d of %d failed\n", failed, len(ids))
	return cli.ErrSilent
}
