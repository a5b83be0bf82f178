package dps

import (
	"context"
	"net/http"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// GetRegistrationState returns the device's registration record, or an error matching
// ErrNotFound when the device has never registered.
func (c *Client) GetRegistrationState(ctx context.Context, id string) (*dpsapi.DeviceRegistrationState, error) {
	const op = "get registration state"
	if err := CheckRegistrationID(id); err != nil {
		return nil, err
	}
	res, err := c.do(ctx, call{op: op, id: id, method: http.MethodGet, path: registrationPath(id), idempotent: true})
	if err != nil {
		return nil, err
	}
	var out dpsapi.DeviceRegistrationState
	if err := decodeJSON(op, res.body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteRegistrationState deletes the device's registration record (the device stays enrolled
// and may register again); with ifMatch set, only that version of it.
func (c *Client) DeleteRegistrationState(ctx context.Context, id, ifMatch string) error {
	const op = "delete registration state"
	if err := CheckRegistrationID(id); err != nil {
		return err
	}
	_, err := c.do(ctx, call{op: op, id: id, method: http.MethodDelete, path: registrationPath(id), ifMatch: ifMatch, idempotent: true})
	return err
}

func registrationPath(id string) string { return "/registrations/" + id }
