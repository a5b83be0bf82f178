// Package httpapi is what the emulator's two HTTP APIs, the service API and the device
// registration API, share: DPS's error codes and error replies, JSON request and reply bodies,
// and the refusals for failed tokens and store failures.
package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Error codes in the service's error bodies. Azure's IoT services compose them as the HTTP status
// times 1000 plus a sub-code. The ones marked "seen" appear in responses from the real service
// (SDK issue reports and Microsoft's documentation); the shared IoT family codes (400001, 401002,
// 412001, 429001, 500001, 503001) come from the SDK error-code enums; the others follow the same
// pattern where no real value was found.
const (
	// CodeInvalidAPIVersion is a missing or unsupported api-version (IoT family InvalidProtocolVersion).
	CodeInvalidAPIVersion = 400001
	// CodeInvalidArgument is an invalid field in a request body; the service returns it for an
	// endorsement key it cannot parse (seen: "Endorsement key is invalid").
	CodeInvalidArgument = dpsapi.CodeInvalidEndorsementKey
	// CodeMalformedBody is a body that is not the JSON the operation expects.
	CodeMalformedBody = 400006
	// CodeUnauthorized is a missing, malformed, expired or wrongly signed SAS token (seen).
	CodeUnauthorized = 401002
	// CodeNotFound is a path the service does not serve.
	CodeNotFound = 404000
	// CodeEnrollmentNotFound is a registration ID without an individual enrollment (seen).
	CodeEnrollmentNotFound = dpsapi.CodeEnrollmentNotFound
	// CodeRegistrationNotFound is a registration ID without a device registration state.
	CodeRegistrationNotFound = dpsapi.CodeRegistrationNotFound
	// CodeMethodNotAllowed is a known path with a method the service does not serve there.
	CodeMethodNotAllowed = 405000
	// CodeConflict is a create of a record that already exists (bulk mode "create").
	CodeConflict = 409001
	// CodePreconditionFailed is an If-Match (or bulk item etag) that does not match the record.
	CodePreconditionFailed = 412001
	// CodeBodyTooLarge is a request body over the size limit.
	CodeBodyTooLarge = 413001
	// CodeUnsupportedMediaType is a body whose Content-Type is not JSON.
	CodeUnsupportedMediaType = 415001
	// CodeThrottled is a request refused by throttling.
	CodeThrottled = 429001
	// CodeOperationNotFound is a registration operation the service does not know (for that
	// device).
	CodeOperationNotFound = 404203
	// CodeInternal is a failure inside the emulator (the store, usually).
	CodeInternal = 500001
	// CodeUnavailable is a request refused because the service is (made) unavailable.
	CodeUnavailable = 503001
	// CodeEnrollmentGroupNotFound is an enrollment group ID without a group. No real value was found;
	// it follows the pattern of the service's other "not found" codes.
	CodeEnrollmentGroupNotFound = 404204
)

// Error is an error the service reports to its caller with a status and an error body.
type Error struct {
	Status  int
	Code    int
	Message string
	// RetryAfter, when positive, is sent as a Retry-After header (whole seconds).
	RetryAfter time.Duration
	// Body, when set, is sent instead of the error details: DPS's TPM challenge is a 401 with a
	// body of its own.
	Body any
}

// Error describes e with its status and code, for logs.
func (e *Error) Error() string {
	return fmt.Sprintf("emulator: %d %d: %s", e.Status, e.Code, e.Message)
}

// Errorf builds an Error whose status is derived from its code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Status: code / 1000, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WriteError sends e as the service does: the status, an x-ms-error-code header and the JSON body.
func WriteError(w http.ResponseWriter, now time.Time, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-error-code", strconv.Itoa(e.Code))
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(e.Status)
	if e.Body != nil {
		_ = json.NewEncoder(w).Encode(e.Body)
		return
	}
	_ = json.NewEncoder(w).Encode(dpsapi.ErrorDetails{
		ErrorCode:    e.Code,
		TrackingID:   TrackingID(),
		Message:      e.Message,
		TimestampUTC: FormatTime(now),
	})
}

// TrackingID returns a fresh GUID-shaped identifier, the form the service uses for trackingId.
func TrackingID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// timeLayout is the service's timestamp form: UTC with seven fractional digits, as .NET prints it.
const timeLayout = "2006-01-02T15:04:05.0000000Z"

// FormatTime renders t in the service's timestamp form, for the fields kept as text.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }
