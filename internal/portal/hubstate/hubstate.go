// Package hubstate keeps the portal's record of whether each activated board is connected to
// its IoT hub: in bounded rounds it asks DPS where the board was assigned (its registration
// state: hub and device ID, read and recorded by registration.Check, so that the same read
// also brings the board's registration up to date) and that hub's service API whether the
// device is connected, and records the answer (records.Connection) for the board list to show.
package hubstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/registration"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/hubservice"
)

// Defaults for Config's zero values.
const (
	// DefaultInterval is how long a board's recorded state stands before it is read again.
	DefaultInterval = time.Minute
	// DefaultBatch is how many boards one round reads at most.
	DefaultBatch = 50
	// DefaultTimeout bounds the reads of one board.
	DefaultTimeout = 15 * time.Second
)

// Devices reads a device's connection from its hub (*hubservice.Client).
type Devices interface {
	Device(ctx context.Context, hubHost, deviceID string) (*hubservice.Device, error)
}

// Config is what a Refresher needs; Store, DPS and Hubs are required.
type Config struct {
	Store *records.Store
	DPS   registration.States // where boards were assigned: DPS's service API (*dps.Client)
	Hubs  Devices
	// Interval, Batch and Timeout: see the defaults above.
	Interval time.Duration
	Batch    int
	Timeout  time.Duration
	// Logger receives one line per round with failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Refresher reads and records boards' connection states. Make it with New.
type Refresher struct{ cfg Config }

// New returns a Refresher for cfg.
func New(cfg Config) (*Refresher, error) {
	if cfg.Store == nil || cfg.DPS == nil || cfg.Hubs == nil {
		return nil, errors.New("hubstate: Store, DPS and Hubs are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Refresher{cfg: cfg}, nil
}

// Run reads boards round after round, one round every Interval, until ctx ends; it returns
// ctx's error. A round's failure is logged, and the next round tries again.
func (r *Refresher) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if _, err := r.Round(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("hubstate: round failed; trying again at the next", "error", err)
		}
		t.Reset(r.cfg.Interval)
	}
}

// Round reads and records up to Batch activated boards whose state is older than Interval (never
// read first), one after the other, and returns how many it recorded. It fails only when the
// store does; a board whose state cannot be read is recorded as unknown, with the reason.
func (r *Refresher) Round(ctx context.Context) (int, error) {
	now := r.cfg.Now()
	due, err := r.cfg.Store.ConnectionsDue(ctx, now.Add(-r.cfg.Interval), r.cfg.Batch)
	if err != nil {
		return 0, err
	}
	counts := map[string]int{}
	for i, guid := range due {
		c := r.read(ctx, guid)
		if ctx.Err() != nil {
			return i, ctx.Err()
		}
		if err := r.cfg.Store.SetConnection(ctx, c); err != nil {
			return i, err
		}
		counts[c.State]++
		if c.State == records.ConnUnknown {
			r.cfg.Logger.Warn("hubstate: board state unknown", "guid", guid, "hub", c.Hub, "error", c.Error)
		}
	}
	if len(due) > 0 {
		r.cfg.Logger.Info("hubstate: boards read", "boards", len(due), "connected", counts[records.ConnConnected],
			"disconnected", counts[records.ConnDisconnected], "notProvisioned", counts[records.ConnNotProvisioned], "unknown", counts[records.ConnUnknown])
	}
	return len(due), nil
}

// read learns one board's connection: where DPS assigned it, then what its hub says.
func (r *Refresher) read(ctx context.Context, guid string) *records.Connection {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	c := &records.Connection{GUID: guid, CheckedAt: r.cfg.Now()}
	st, err := registration.Check(ctx, r.cfg.Store, r.cfg.DPS, guid, c.CheckedAt)
	switch {
	case err != nil:
		c.State, c.Error = records.ConnUnknown, fmt.Sprintf("DPS registration state: %v", err)
		return c
	case st == nil || st.Status != dpsapi.RegistrationAssigned || st.AssignedHub == "" || st.DeviceID == "":
		c.State = records.ConnNotProvisioned
		return c
	}
	c.Hub, c.DeviceID = st.AssignedHub, st.DeviceID
	d, err := r.cfg.Hubs.Device(ctx, st.AssignedHub, st.DeviceID)
	switch {
	case errors.Is(err, hubservice.ErrDeviceNotFound):
		c.State = records.ConnNotProvisioned
	case err != nil:
		c.State, c.Error = records.ConnUnknown, err.Error()
	case d.Connected:
		c.State, c.Since, c.LastActivity = records.ConnConnected, d.StateUpdated, d.LastActivity
	default:
		c.State, c.Since, c.LastActivity = records.ConnDisconnected, d.StateUpdated, d.LastActivity
	}
	return c
}
