package portal

import (
	"context"
	"errors"
	"log/slog"

	"github.com/oobtpm/oob/internal/cli/hubflags"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/hubstate"
	"github.com/oobtpm/oob/pkg/dps"
)

// startHubState starts reading boards' connection states in the background until ctx ends,
// when the hubs' connection strings are given; dpsClient is nil without DPS. The returned wait
// returns once the background reads have stopped (at once when none were started).
func startHubState(ctx context.Context, opts *ServeOptions, store *records.Store, dpsClient *dps.Client, log *slog.Logger) (wait func(), err error) {
	none := func() {}
	hubs, err := opts.Hubs.Client()
	switch {
	case errors.Is(err, hubflags.ErrNoConnectionStrings):
		log.Info("serve: " + err.Error() + "; boards' hub connections are not shown")
		return none, nil
	case err != nil:
		return nil, err
	}
	if dpsClient == nil {
		hubs.Close()
		log.Warn("serve: hub connection strings given but no DPS connection string: where boards were assigned cannot be read, so their hub connections are not shown")
		return none, nil
	}
	r, err := hubstate.New(hubstate.Config{Store: store, DPS: dpsClient, Hubs: hubs, Interval: opts.Hubs.Refresh, Logger: log})
	if err != nil {
		hubs.Close()
		return nil, err
	}
	log.Info("serve: reading boards' hub connections", "hubs", hubs.Hubs(), "every", opts.Hubs.Refresh)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer hubs.Close()
		_ = r.Run(ctx)
	}()
	return func() { <-done }, nil
}
