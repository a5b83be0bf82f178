package dpsapi

// BulkMode is what a bulk operation does with each of its enrollments.
type BulkMode string

// Bulk operation modes.
const (
	BulkCreate BulkMode = "create"
	// BulkUpdate creates or replaces each enrollment.
	BulkUpdate BulkMode = "update"
	// BulkUpdateIfMatchETag replaces each enrollment only if its ETag matches.
	BulkUpdateIfMatchETag BulkMode = "updateIfMatchETag"
	BulkDelete            BulkMode = "delete"
)

// MaxBulkEnrollments is the most enrollments the service takes in one bulk request.
const MaxBulkEnrollments = 10

// BulkEnrollmentOperation is the body of a bulk request: up to MaxBulkEnrollments enrollments.
type BulkEnrollmentOperation struct {
	Enrollments []IndividualEnrollment `json:"enrollments"`
	Mode        BulkMode               `json:"mode"`
}

// BulkEnrollmentOperationResult is the service's answer to a bulk request: IsSuccessful when every
// item succeeded, and one error per item that did not.
type BulkEnrollmentOperationResult struct {
	IsSuccessful bool                           `json:"isSuccessful"`
	Errors       []BulkEnrollmentOperationError `json:"errors,omitempty"`
}

// BulkEnrollmentOperationError is one failed item of a bulk request.
type BulkEnrollmentOperationError struct {
	RegistrationID string `json:"registrationId"`
	// ErrorCode is the service's six-digit code (HTTP status × 1000 + detail), as in ErrorDetails.
	ErrorCode   int    `json:"errorCode"`
	ErrorStatus string `json:"errorStatus"`
}
