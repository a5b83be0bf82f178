// Package registration reads from DPS whether activated boards have registered, and records the
// hub DPS assigned each to and when, so that the portal's board list shows it without asking DPS
// for every board it shows.
package registration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// States is the part of the DPS service client the registration reads need.
type States interface {
	GetRegistrationState(ctx context.Context, id string) (*dpsapi.DeviceRegistrationState, error)
}

// Defaults of Refresher.
const (
	DefaultEvery = time.Minute
	DefaultBatch = 100
)

// Check reads guid's registration from DPS and records what it says: an assignment makes the
// board registered (with its hub and time), anything else records only that it was read. It
// returns DPS's record, or nil when the board has never registered.
func Check(ctx context.Context, store *records.Store, c States, guid string, now time.Time) (*dpsapi.DeviceRegistrationState, error) {
	st, err := c.GetRegistrationState(ctx, guid)
	if dps.IsNotFound(err) {
		return nil, store.RegistrationChecked(ctx, guid, now)
	}
	if err != nil {
		return nil, fmt.Errorf("registration of %s: %w", guid, err)
	}
	if st.Status != dpsapi.RegistrationAssigned || st.AssignedHub == "" {
		return st, store.RegistrationChecked(ctx, guid, now)
	}
	at := st.LastUpdatedDateTimeUTC
	if at.IsZero() {
		at = st.CreatedDateTimeUTC
	}
	if at.IsZero() {
		at = now
	}
	if _, err := store.Registered(ctx, guid, st.AssignedHub, at, now); err != nil {
		return st, err
	}
	return st, nil
}

// Refresher reads, round after round, the registrations of activated boards not seen
// registered yet: at most Batch boards a round, the longest unread first, each board at most
// once per Every.
type Refresher struct {
	Store  *records.Store
	DPS    States
	Every  time.Duration // between rounds, and the least time between two reads of a board
	Batch  int           // boards read per round
	Logger *slog.Logger
	Now    func() time.Time
}

func (r *Refresher) defaults() {
	if r.Every <= 0 {
		r.Every = DefaultEvery
	}
	if r.Batch <= 0 {
		r.Batch = DefaultBatch
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Now == nil {
		r.Now = time.Now
	}
}

// Round reads the registrations due now and returns how many boards it read and how many of
// them it found newly registered. A board DPS could not answer for is left for the next round.
func (r *Refresher) Round(ctx context.Context) (read, registered int, err error) {
	r.defaults()
	now := r.Now()
	due, err := r.Store.RegistrationDue(ctx, now.Add(-r.Every), r.Batch)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for _, guid := range due {
		st, err := Check(ctx, r.Store, r.DPS, guid, now)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		read++
		if st != nil && st.Status == dpsapi.RegistrationAssigned {
			registered++
		}
	}
	return read, registered, errors.Join(errs...)
}

// Run runs a round every Every until ctx ends; a round's failure is logged, not fatal.
func (r *Refresher) Run(ctx context.Context) error {
	r.defaults()
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		read, registered, err := r.Round(ctx)
		if err != nil && ctx.Err() == nil {
			r.Logger.Warn("registration: reading registrations from DPS", "err", err)
		}
		if registered > 0 {
			r.Logger.Info("registration: boards registered", "read", read, "registered", registered)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
