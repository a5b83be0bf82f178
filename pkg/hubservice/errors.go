package hubservice

import (
	"errors"
	"fmt"
)

// Conditions every *Error wraps exactly one of.
var (
	// ErrUnknownHub means no connection string was given for the hub asked about.
	ErrUnknownHub = errors.New("hubservice: no connection string for this hub")
	// ErrDeviceNotFound means the hub has no device with that ID.
	ErrDeviceNotFound = errors.New("hubservice: the hub has no such device")
	// ErrUnauthorized means the hub refused the policy's token.
	ErrUnauthorized = errors.New("hubservice: the hub refused the connection string's policy")
	// ErrUnavailable means the hub throttled the request or failed: try again later.
	ErrUnavailable = errors.New("hubservice: the hub is busy or failing")
	// ErrUnreachable means no answer came: the connection or its TLS failed.
	ErrUnreachable = errors.New("hubservice: the hub could not be reached")
	// ErrBadResponse means the answer is not the one IoT Hub gives.
	ErrBadResponse = errors.New("hubservice: unexpected answer from the hub")
)

// Error is a failed read of one device. It never holds a key or a token.
type Error struct {
	Hub, DeviceID string
	// Kind is one of the conditions above.
	Kind error
	// Status is the HTTP status, zero when there was no answer; Code is IoT Hub's error code
	// (iothub-errorcode), when it gave one.
	Status int
	Code   string
	// Err is the underlying failure, when there is one.
	Err error
}

func (e *Error) Error() string {
	var what string
	switch e.Kind {
	case ErrUnknownHub:
		what = "no connection string was given for this hub: add the hub's iothubowner (or registry read) connection string to the connection strings"
	case ErrDeviceNotFound:
		what = "the hub has no such device: it has not been provisioned to this hub (yet), or was deleted"
	case ErrUnauthorized:
		what = "the hub refused the token: check that the connection string is the hub's current one for a policy with registry read, and that this machine's clock is right"
	case ErrUnavailable:
		what = "the hub is throttling or failing: try again later"
	case ErrUnreachable:
		what = "the hub could not be reached: check the network, the host name and the CA"
	default:
		what = "the hub's answer is not IoT Hub's: check that the host name (or endpoint) is an IoT hub"
	}
	msg := fmt.Sprintf("hubservice: reading device %q from %s: %s", e.DeviceID, e.Hub, what)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d", e.Status)
		if e.Code != "" {
			msg += " " + e.Code
		}
		msg += ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns Kind and the underlying failure.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
