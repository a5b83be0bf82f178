package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Conditions callers branch on.
var (
	// ErrNotEnrolled: DPS knows no enrollment for this registration ID and key (not enrolled yet,
	// enrolled with another key, or deleted).
	ErrNotEnrolled = errors.New("provision: not enrolled")
	// ErrUnavailable: DPS stayed throttled or unavailable through every retry.
	ErrUnavailable = errors.New("provision: DPS unavailable")
	// ErrBadResponse: the answer was not what DPS sends (not JSON, wrong shape, too large).
	ErrBadResponse = errors.New("provision: unexpected response")
	// ErrBadChallenge: the TPM could not import DPS's key (a corrupted blob, or one made for
	// another TPM).
	ErrBadChallenge = errors.New("provision: the TPM refused DPS's key")
)

// Error is an error answer from DPS.
type Error struct {
	StatusCode int
	// ErrorCode is DPS's six-digit code (HTTP status × 1000 + detail); 0 when absent.
	ErrorCode  int
	TrackingID string
	Message    string
	// Op says what was being done: "register" or "poll operation".
	Op string
}

// errorBody is the JSON of an error answer.
type errorBody struct {
	ErrorCode  int    `json:"errorCode"`
	TrackingID string `json:"trackingId"`
	Message    string `json:"message"`
}

func newError(op string, status int, body []byte) *Error {
	e := &Error{StatusCode: status, Op: op}
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		e.ErrorCode, e.TrackingID, e.Message = b.ErrorCode, b.TrackingID, b.Message
	}
	return e
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provision: %s: DPS answered HTTP %d", e.Op, e.StatusCode)
	if e.ErrorCode != 0 {
		fmt.Fprintf(&b, ", error %d", e.ErrorCode)
	}
	if e.TrackingID != "" {
		b.WriteString(", tracking ID " + e.TrackingID)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// notEnrolled explains a refusal of the device's identity. DPS's answer stays reachable with
// errors.As, for its tracking ID.
func notEnrolled(id string, e *Error) error {
	return fmt.Errorf("%w: DPS has no enrollment for registration ID %q with this device's key: "+
		"have it enrolled (companion enroll), or check that it was enrolled with this device's key "+
		"and that the ID scope is right (%w)", ErrNotEnrolled, id, e)
}
