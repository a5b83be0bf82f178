package dps

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// MaxRegistrationIDLen is the longest registration ID DPS accepts.
const MaxRegistrationIDLen = 128

// ErrInvalidID means a registration ID DPS would refuse; no request was sent.
var ErrInvalidID = errors.New("dps: invalid registration ID")

// CheckRegistrationID reports whether id is one DPS accepts: 1 to 128 letters, digits, '-', '.',
// '_' or ':' (DPS compares them without regard to case).
func CheckRegistrationID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: it is empty", ErrInvalidID)
	}
	if len(id) > MaxRegistrationIDLen {
		return fmt.Errorf("%w: %d characters, at most %d allowed", ErrInvalidID, len(id), MaxRegistrationIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':') {
			return fmt.Errorf("%w: it may hold only letters, digits and - . _ :", ErrInvalidID)
		}
	}
	return nil
}

// CreateOrUpdateEnrollment creates the enrollment, or replaces it. With ifMatch set (an ETag from
// a previous read) it replaces only that version, and fails with ErrPreconditionFailed otherwise;
// "*" replaces whatever exists. It returns the enrollment as the service stored it, with its new
// ETag.
func (c *Client) CreateOrUpdateEnrollment(ctx context.Context, e *dpsapi.IndividualEnrollment, ifMatch string) (*dpsapi.IndividualEnrollment, error) {
	const op = "create or update enrollment"
	if e == nil {
		return nil, fmt.Errorf("dps: %s: no enrollment given", op)
	}
	if err := CheckRegistrationID(e.RegistrationID); err != nil {
		return nil, err
	}
	body, err := marshal(op, e)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{op: op, id: e.RegistrationID, method: http.MethodPut, path: enrollmentPath(e.RegistrationID),
		body: body, ifMatch: ifMatch, idempotent: true})
	if err != nil {
		return nil, err
	}
	var out dpsapi.IndividualEnrollment
	if err := decodeJSON(op, res.body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetEnrollment returns the enrollment for a registration ID, or an error matching ErrNotFound
// when the device is not enrolled.
func (c *Client) GetEnrollment(ctx context.Context, id string) (*dpsapi.IndividualEnrollment, error) {
	const op = "get enrollment"
	if err := CheckRegistrationID(id); err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{op: op, id: id, method: http.MethodGet, path: enrollmentPath(id), idempotent: true})
	if err != nil {
		return nil, err
	}
	var out dpsapi.IndividualEnrollment
	if err := decodeJSON(op, res.body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEnrollment deletes an enrollment; with ifMatch set, only that version of it.
func (c *Client) DeleteEnrollment(ctx context.Context, id, ifMatch string) error {
	const op = "delete enrollment"
	if err := CheckRegistrationID(id); err != nil {
		return err
	}
	_, err := c.do(ctx, call{op: op, id: id, method: http.MethodDelete, path: enrollmentPath(id), ifMatch: ifMatch, idempotent: true})
	return err
}

// statusAttempts bounds SetEnrollmentStatus's read-modify-write when others keep changing the
// enrollment between its read and its write.
const statusAttempts = 3

// SetEnrollmentStatus enables or disables an enrollment, leaving the rest of it as it is: it
// reads the enrollment, changes provisioningStatus and writes it back under If-Match, reading
// again if someone changed it in between. It returns the enrollment as stored.
func (c *Client) SetEnrollmentStatus(ctx context.Context, id string, enabled bool) (*dpsapi.IndividualEnrollment, error) {
	want := dpsapi.StatusDisabled
	if enabled {
		want = dpsapi.StatusEnabled
	}
	var err error
	for range statusAttempts {
		var e *dpsapi.IndividualEnrollment
		if e, err = c.GetEnrollment(ctx, id); err != nil {
			return nil, err
		}
		current := e.ProvisioningStatus
		if current == "" {
			current = dpsapi.StatusEnabled // the service's default
		}
		if current == want {
			return e, nil
		}
		e.ProvisioningStatus = want
		// The registration state is the service's, read-only; sending it back is pointless.
		e.RegistrationState = nil
		var out *dpsapi.IndividualEnrollment
		if out, err = c.CreateOrUpdateEnrollment(ctx, e, e.ETag); err == nil {
			return out, nil
		}
		if !IsPreconditionFailed(err) {
			return nil, err
		}
		c.log.Debug("dps: enrollment changed while setting its status; reading it again", "id", id)
	}
	return nil, err
}

func enrollmentPath(id string) string { return "/enrollments/" + id }
