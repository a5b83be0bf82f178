package dps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Conditions callers branch on. A *Error matches the one its status code names, so
// errors.Is(err, ErrNotFound) works on anything a Client method returns.
var (
	ErrNotFound           = errors.New("dps: not found")
	ErrConflict           = errors.New("dps: conflict")
	ErrPreconditionFailed = errors.New("dps: precondition failed (ETag mismatch)")
	ErrUnauthorized       = errors.New("dps: unauthorized")
	ErrForbidden          = errors.New("dps: forbidden")
	ErrThrottled          = errors.New("dps: throttled")
	ErrUnavailable        = errors.New("dps: service error or unavailable")
	ErrBadRequest         = errors.New("dps: request rejected")
	// ErrBadResponse means the answer was not what DPS sends: not JSON, the wrong shape, or too
	// large. It usually means the endpoint is not a DPS (a proxy or captive portal).
	ErrBadResponse = errors.New("dps: unexpected response")
)

// Error is an error response from the service.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// ErrorCode is the service's six-digit code; 0 when the body had none.
	ErrorCode int
	// TrackingID identifies the request to Microsoft support.
	TrackingID string
	// Message is the service's own message, if any.
	Message string
	// Op and ID say what was asked: "get enrollment" and the registration ID, for instance.
	Op string
	ID string
}

// status returns the HTTP status, falling back to the one the error code embeds.
func (e *Error) status() int {
	if e.StatusCode != 0 {
		return e.StatusCode
	}
	return e.ErrorCode / 1000
}

// Is matches the sentinel for the error's status.
func (e *Error) Is(target error) bool {
	return target != nil && target == sentinelFor(e.status())
}

func sentinelFor(status int) error {
	switch {
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusPreconditionFailed:
		return ErrPreconditionFailed
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusTooManyRequests:
		return ErrThrottled
	case status >= 500:
		return ErrUnavailable
	case status >= 400:
		return ErrBadRequest
	}
	return nil
}

// Error says what failed, what to do about it, and the service's details.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dps: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		if e.ID != "" {
			b.WriteString(" " + strconv.Quote(e.ID))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.advice())
	fmt.Fprintf(&b, " (HTTP %d", e.StatusCode)
	if e.ErrorCode != 0 {
		fmt.Fprintf(&b, ", error %d", e.ErrorCode)
	}
	if e.TrackingID != "" {
		b.WriteString(", tracking ID " + e.TrackingID)
	}
	b.WriteString(")")
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// advice is the user-facing half of the message: what happened and what to do next.
func (e *Error) advice() string {
	switch {
	case e.ErrorCode == dpsapi.CodeInvalidEndorsementKey:
		return "DPS rejected the endorsement key: it must be the base64 of the EK's TPM2B_PUBLIC, size prefix included (rescan the device's QR code)"
	case e.ErrorCode == dpsapi.CodeRegistrationNotFound || (e.status() == http.StatusNotFound && strings.Contains(e.Op, "registration")):
		return "no registration record: the device has not registered with DPS yet"
	}
	switch s := e.status(); {
	case s == http.StatusNotFound:
		return "not enrolled: DPS has no enrollment with this registration ID"
	case s == http.StatusConflict:
		return "an enrollment with this registration ID already exists, or is being changed"
	case s == http.StatusPreconditionFailed:
		return "the enrollment changed since it was read (ETag mismatch): read it again and retry"
	case s == http.StatusUnauthorized:
		return "the connection string was refused: check the key and policy; copy it again from the portal (DPS instance → Shared access policies → provisioningserviceowner → Primary connection string)"
	case s == http.StatusForbidden:
		return "the access policy lacks the needed rights: use provisioningserviceowner or a policy with enrollment write rights"
	case s == http.StatusTooManyRequests:
		return "DPS is throttling requests: wait a minute and try again"
	case s >= 500:
		return "DPS failed or is unavailable: try again later"
	case s >= 400:
		return "DPS rejected the request"
	}
	return "unexpected status"
}

// IsNotFound reports whether err is a 404: no such enrollment or registration.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a 409.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsPreconditionFailed reports whether err is a 412: the ETag did not match.
func IsPreconditionFailed(err error) bool { return errors.Is(err, ErrPreconditionFailed) }

// IsUnauthorized reports whether err is a 401: the connection string was refused.
func IsUnauthorized(err error) bool { return errors.Is(err, ErrUnauthorized) }

// IsThrottled reports whether err is a 429 that outlasted the retries.
func IsThrottled(err error) bool { return errors.Is(err, ErrThrottled) }

// maxMessage bounds how much of an error body is quoted back to the user.
const maxMessage = 512

// decodeError builds an *Error from a non-2xx response. A JSON error body fills in the code,
// tracking ID and message; any other body is quoted, trimmed and made printable, so a proxy's
// HTML page or a truncated body still gives the user something to go on.
func decodeError(status int, h http.Header, body []byte) *Error {
	e := &Error{StatusCode: status}
	var d dpsapi.ErrorDetails
	if err := json.Unmarshal(body, &d); err == nil {
		e.ErrorCode, e.TrackingID, e.Message = d.ErrorCode, d.TrackingID, printable(d.Message)
	} else if len(bytes.TrimSpace(body)) > 0 {
		e.Message = printable(string(body))
	}
	if e.TrackingID == "" {
		e.TrackingID = printable(h.Get("x-ms-request-id"))
	}
	if e.ErrorCode == 0 {
		if c, err := strconv.Atoi(h.Get("x-ms-error-code")); err == nil && c/1000 == status {
			e.ErrorCode = c
		}
	}
	return e
}

// printable trims s to maxMessage runes and replaces control characters, so a hostile or broken
// body cannot rewrite the user's terminal.
func printable(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxMessage {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
