package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// ErrNoRegistration: DPS has no registration state for the device: it never got as far as a
// decision (it has not registered, or its registration state was deleted).
var ErrNoRegistration = errors.New("provision: DPS has no registration for this device")

// LookupStatus asks DPS what it decided about the device, with DPS's device registration status
// look-up (POST /{idScope}/registrations/{registrationId}), and changes nothing there. The device
// proves itself as it does to register, except a TPM device: a look-up is never challenged, so
// its TPM must already hold the key of DPS's last challenge, in the slot cfg.TPM signs with. A
// device DPS does not accept gets an ErrNotEnrolled error; one without a registration state
// ErrNoRegistration.
func LookupStatus(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r, err := newRegistration(cfg)
	if err != nil {
		return nil, err
	}
	defer r.http.CloseIdleConnections()
	if cfg.TPM != nil {
		r.signer = cfg.TPM
	}
	const op = "status look-up"
	path := "/" + url.PathEscape(cfg.IDScope) + "/registrations/" + url.PathEscape(cfg.RegistrationID)
	res, err := r.send(ctx, op, http.MethodPost, path)
	if err != nil {
		return nil, err
	}
	switch res.status {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return nil, notEnrolled(cfg.RegistrationID, newError(op, res.status, res.body))
	case http.StatusNotFound:
		return nil, fmt.Errorf("%w: registration ID %q (%w)", ErrNoRegistration, cfg.RegistrationID, newError(op, res.status, res.body))
	default:
		return nil, newError(op, res.status, res.body)
	}
	return parseStatus(res.body, cfg.RegistrationID)
}

// parseStatus reads a status look-up's answer: a registration state of a known status.
func parseStatus(body []byte, id string) (*Result, error) {
	var s dpsapi.DeviceRegistrationResult
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("%w: the status look-up's answer is not a registration state: %v", ErrBadResponse, err)
	}
	switch s.Status {
	case dpsapi.RegistrationUnassigned, dpsapi.RegistrationAssigning, dpsapi.RegistrationAssigned,
		dpsapi.RegistrationDisabled, dpsapi.RegistrationFailed:
	default:
		return nil, fmt.Errorf("%w: the status look-up's answer has an unknown status %q", ErrBadResponse, s.Status)
	}
	return resultOf(&dpsapi.RegistrationOperationStatus{Status: s.Status, RegistrationState: &s}, id), nil
}
