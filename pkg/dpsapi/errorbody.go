package dpsapi

// ErrorDetails is the JSON body of an error response (the REST specification's
// ProvisioningServiceErrorDetails). ErrorCode is the HTTP status × 1000 plus a detail code, e.g.
// 404201 "no enrollment for this registration ID", 412002 "ETag mismatch".
type ErrorDetails struct {
	ErrorCode  int               `json:"errorCode"`
	TrackingID string            `json:"trackingId,omitempty"`
	Message    string            `json:"message,omitempty"`
	Info       map[string]string `json:"info,omitempty"`
	// TimestampUTC is kept as text: an error body must stay readable even when its timestamp is
	// not, since it carries the message the user needs.
	TimestampUTC string `json:"timestampUtc,omitempty"`
}

// Error codes (HTTP status × 1000 + detail) that change what the user is told.
const (
	CodeInvalidEndorsementKey = 400004
	CodeEnrollmentNotFound    = 404201
	CodeRegistrationNotFound  = 404202
)
