package activation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/registration"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Errors of the changes after activation, nothing written in DPS; Reason gives the sentence after
// the sentinel's text.
var (
	// ErrWrongState: the change does not apply to the board's state; nothing was written.
	ErrWrongState = errors.New("activation: the change does not apply to the board's state")
	// ErrRegistered: the board has registered, so its initial twin no longer reaches it.
	ErrRegistered = errors.New("activation: the board has registered: its twin lives in its IoT hub, and the initial twin no longer reaches it")
	// ErrHubNotAllowed: the factory no longer allows the hub the board was activated for.
	ErrHubNotAllowed = errors.New("activation: the factory no longer allows the board's hub")
)

// Changes are an organisation's board's changes after activation, as both front ends make
// them: the DPS write under If-Match, then the records' change and its audit line.
type Changes struct {
	Store *records.Store
	DPS   Enrollments
	// Registrations, when set, is asked before an edit whether the board has registered.
	Registrations registration.States
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func wrongState(b *records.FleetBoard, want string) error {
	return fmt.Errorf("%w: the board is %s, not %s", ErrWrongState, b.FleetState, want)
}

// recorded maps the records' refusal of a change DPS took to the package's error.
func recorded(guid string, err error) error {
	if errors.Is(err, records.ErrWrongState) {
		return fmt.Errorf("%w: DPS took the change, but the board was changed in the portal at the same time", ErrWrongState)
	}
	if err != nil {
		return fmt.Errorf("board %s changed in DPS but not recorded: %w", guid, err)
	}
	return nil
}

// Deactivate disables an activated or registered board's enrollment (etag, when given, must
// still be its ETag) and records it; c is who, from where (its Detail is set here).
func (ch Changes) Deactivate(ctx context.Context, b *records.FleetBoard, etag string, c records.Change) (*dpsapi.IndividualEnrollment, error) {
	if b.FleetState != records.FleetActivated && b.FleetState != records.FleetRegistered {
		return nil, wrongState(b, "activated")
	}
	e, err := Deactivate(ctx, ch.DPS, b.GUID, etag)
	if err != nil {
		return nil, err
	}
	c.GUID, c.Customer, c.Detail = b.GUID, b.Customer, "provisioning disabled in DPS"
	if b.RegisteredHub != "" {
		c.Detail += "; its identity in " + b.RegisteredHub + " stays"
	}
	return e, recorded(b.GUID, ch.Store.Deactivate(ctx, c))
}

// Reactivate enables a deactivated board's enrollment again with the metadata and hub the
// records kept, and records it. No activation code: the board is the organisation's already.
func (ch Changes) Reactivate(ctx context.Context, b *records.FleetBoard, etag string, c records.Change) (*dpsapi.IndividualEnrollment, error) {
	if b.FleetState != records.FleetDeactivated {
		return nil, wrongState(b, "deactivated")
	}
	schema, hubs, err := Organisation(ctx, ch.Store, b.Customer)
	if err != nil {
		return nil, err
	}
	if msg := CheckHub(b.Hub, hubs); msg != "" {
		return nil, fmt.Errorf("%w: the board was activated for %s. %s", ErrHubNotAllowed, b.Hub, msg)
	}
	e, err := Reactivate(ctx, ch.DPS, Request{GUID: b.GUID, Hub: b.Hub, ETag: etag, Customer: b.Customer, Values: b.Metadata, Schema: schema, AllowedHubs: hubs})
	if err != nil {
		return nil, err
	}
	c.GUID, c.Customer, c.Detail = b.GUID, b.Customer, "provisioning enabled again for hub "+b.Hub
	return e, recorded(b.GUID, ch.Store.Reactivate(ctx, c))
}

// Edit replaces an activated, not yet registered board's metadata and hub with values and hub
// (asking DPS first whether it has registered, when Registrations is set), and records it. It
// returns the request's field errors, if any, with nothing written.
func (ch Changes) Edit(ctx context.Context, b *records.FleetBoard, etag, hub string, values map[string]string, c records.Change) (*dpsapi.IndividualEnrollment, FieldErrors, error) {
	if b.FleetState == records.FleetActivated && ch.Registrations != nil {
		now := time.Now
		if ch.Now != nil {
			now = ch.Now
		}
		st, err := registration.Check(ctx, ch.Store, ch.Registrations, b.GUID, now())
		if err != nil {
			return nil, nil, err
		}
		if st != nil && st.Status == dpsapi.RegistrationAssigned {
			return nil, nil, ErrRegistered
		}
	}
	switch b.FleetState {
	case records.FleetActivated:
	case records.FleetRegistered:
		return nil, nil, ErrRegistered
	default:
		return nil, nil, wrongState(b, "activated")
	}
	schema, hubs, err := Organisation(ctx, ch.Store, b.Customer)
	if err != nil {
		return nil, nil, err
	}
	r := Request{GUID: b.GUID, Hub: hub, ETag: etag, Customer: b.Customer, Values: values, Schema: schema, AllowedHubs: hubs}
	r.Normalize()
	if fe := r.Validate(); fe != nil {
		return nil, fe, nil
	}
	e, err := Edit(ctx, ch.DPS, r, b.Metadata)
	if err != nil {
		return nil, nil, err
	}
	c.GUID, c.Customer, c.Detail, c.Hub, c.Metadata = b.GUID, b.Customer, AuditDetail(r), r.Hub, r.Kept()
	return e, nil, recorded(b.GUID, ch.Store.EditMetadata(ctx, c))
}

// Reason is what err says beyond the sentinel it wraps: "the board is shipped, not activated".
func Reason(err error) string {
	for _, sentinel := range []error{ErrWrongState, ErrHubNotAllowed} {
		if errors.Is(err, sentinel) {
			msg := err.Error()
			if i := len(sentinel.Error()) + 2; len(msg) > i && msg[:i-2] == sentinel.Error() {
				return msg[i:]
			}
		}
	}
	return err.Error()
}
