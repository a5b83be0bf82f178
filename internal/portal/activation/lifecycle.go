package activation

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Deactivate disables the board's enrollment, under If-Match (etag, when given, must still be
// the enrollment's): DPS then refuses the board's next registration. Its initial twin and hub
// are kept for a re-activation. A device already registered keeps its identity in its hub:
// DPS does not reach into the hub.
func Deactivate(ctx context.Context, c Enrollments, guid, etag string) (*dpsapi.IndividualEnrollment, error) {
	return write(ctx, c, guid, etag, func(e *dpsapi.IndividualEnrollment) error {
		e.ProvisioningStatus = dpsapi.StatusDisabled
		return nil
	})
}

// Reactivate enables the board's enrollment again with r's metadata and hub (those the records
// kept), under If-Match as Activate. No activation code is asked: the board is already the
// organisation's, its code spent at the activation.
func Reactivate(ctx context.Context, c Enrollments, r Request) (*dpsapi.IndividualEnrollment, error) {
	return write(ctx, c, r.GUID, r.ETag, func(e *dpsapi.IndividualEnrollment) error { return Apply(e, r) })
}

// Edit replaces the metadata and hub of an activated board's initial twin before its first
// registration, under If-Match: the values of the form's fields (and of previous, what the
// records kept) are taken out of the twin's tags and desired properties, then r's applied as
// an activation does. Once the device has registered its twin lives in its hub, and an edit of
// the initial twin would not reach it: callers refuse it then.
func Edit(ctx context.Context, c Enrollments, r Request, previous map[string]string) (*dpsapi.IndividualEnrollment, error) {
	return write(ctx, c, r.GUID, r.ETag, func(e *dpsapi.IndividualEnrollment) error {
		if e.InitialTwin != nil {
			var drop []string
			for _, f := range r.schema().Fields {
				drop = append(drop, f.Name)
			}
			for k := range previous {
				drop = append(drop, k)
			}
			var err error
			if e.InitialTwin.Tags, err = remove(e.InitialTwin.Tags, drop); err != nil {
				return fmt.Errorf("activation: the enrollment's tags: %w", err)
			}
			if e.InitialTwin.Properties != nil {
				if e.InitialTwin.Properties.Desired, err = remove(e.InitialTwin.Properties.Desired, drop); err != nil {
					return fmt.Errorf("activation: the enrollment's desired properties: %w", err)
				}
			}
		}
		return Apply(e, r)
	})
}

// write reads guid's enrollment, checks etag, changes it with f and writes it back under
// If-Match: ErrChanged for someone else's change in between, never retried over.
func write(ctx context.Context, c Enrollments, guid, etag string, f func(*dpsapi.IndividualEnrollment) error) (*dpsapi.IndividualEnrollment, error) {
	e, err := Read(ctx, c, guid)
	if err != nil {
		return nil, err
	}
	if etag != "" && e.ETag != etag {
		return nil, ErrChanged
	}
	if err := f(e); err != nil {
		return nil, err
	}
	got, err := c.CreateOrUpdateEnrollment(ctx, e, e.ETag)
	if dps.IsPreconditionFailed(err) {
		return nil, ErrChanged
	}
	if err != nil {
		return nil, fmt.Errorf("activation: %w", err)
	}
	return got, nil
}

// remove deletes the members keys from the JSON object raw, keeping the others as they are.
func remove(raw json.RawMessage, keys []string) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return raw, nil
	}
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	for _, k := range keys {
		delete(obj, k)
	}
	return json.Marshal(obj)
}
