package provision

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// DPS allows a device at most pollLimit status calls in any pollWindow.
const (
	pollLimit  = 5
	pollWindow = 10 * time.Second
	// defaultPollInterval is the wait when DPS gives no Retry-After.
	defaultPollInterval = 2 * time.Second
)

// poll asks for the operation's status until DPS has decided, waiting as DPS asks and never
// more often than its limit allows.
func (r *registration) poll(ctx context.Context, op *dpsapi.RegistrationOperationStatus) (*dpsapi.RegistrationOperationStatus, error) {
	for op.Status == dpsapi.RegistrationAssigning || op.Status == dpsapi.RegistrationUnassigned {
		if op.OperationID == "" {
			return nil, fmt.Errorf("%w: DPS is assigning the device but named no operation to poll", ErrBadResponse)
		}
		wait := r.wait
		if wait < 0 {
			wait = defaultPollInterval
		}
		wait = max(wait, r.untilAllowed())
		r.cfg.Logger.Debug("provision: waiting for DPS to assign the device", "operation", op.OperationID, "wait", wait)
		if err := r.cfg.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("provision: waiting for DPS's decision: %w", err)
		}
		r.polls = append(r.polls, r.cfg.Now())
		path := "/" + url.PathEscape(r.cfg.IDScope) + "/registrations/" + url.PathEscape(r.cfg.RegistrationID) +
			"/operations/" + url.PathEscape(op.OperationID)
		res, err := r.send(ctx, "poll operation", http.MethodGet, path)
		if err != nil {
			return nil, err
		}
		if op, err = r.operation("poll operation", res); err != nil {
			return nil, err
		}
	}
	switch op.Status {
	case dpsapi.RegistrationAssigned, dpsapi.RegistrationDisabled, dpsapi.RegistrationFailed:
		return op, nil
	}
	return nil, fmt.Errorf("%w: unknown registration status %q", ErrBadResponse, op.Status)
}

// untilAllowed returns how long until another status call stays within DPS's limit.
func (r *registration) untilAllowed() time.Duration {
	now := r.cfg.Now()
	recent := r.polls[:0]
	for _, t := range r.polls {
		if now.Sub(t) < pollWindow {
			recent = append(recent, t)
		}
	}
	r.polls = recent
	if len(recent) < pollLimit {
		return 0
	}
	return recent[len(recent)-pollLimit].Add(pollWindow).Sub(now)
}
