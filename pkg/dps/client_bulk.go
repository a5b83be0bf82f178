package dps

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// BulkResult is the outcome of Bulk over all its chunks.
type BulkResult struct {
	// IsSuccessful is true when every enrollment succeeded.
	IsSuccessful bool
	// Errors has one entry per enrollment that failed, in input order within each chunk.
	Errors []BulkItemError
}

// BulkItemError is one enrollment that a bulk operation did not apply.
type BulkItemError struct {
	RegistrationID string
	// ErrorCode and ErrorStatus are the service's, for items it refused; for items whose whole
	// request failed they are the request's code and message.
	ErrorCode   int
	ErrorStatus string
	// Err is the request's error when the item's whole chunk failed (so errors.Is works on it),
	// nil when the service refused just this item.
	Err error
}

// Cause is the item's failure as an error: Err when its whole chunk failed, else a *Error made
// from the service's per-item code (so errors.Is(err, ErrConflict) works), op naming what was
// asked.
func (e BulkItemError) Cause(op string) error {
	if e.Err != nil {
		return e.Err
	}
	return &Error{StatusCode: e.ErrorCode / 1000, ErrorCode: e.ErrorCode, Message: e.ErrorStatus, Op: op, ID: e.RegistrationID}
}

// Bulk applies mode to the enrollments, MaxBulkEnrollments per request. Every item gets a result:
// the service's per-item errors are collected, and an item in a chunk that failed as a whole (a
// network error, a 400) gets that chunk's error. After an authorization failure or a cancelled
// context the remaining chunks are not sent and their items carry that error. Bulk returns an
// error itself only for input it refuses before sending anything.
func (c *Client) Bulk(ctx context.Context, mode dpsapi.BulkMode, enrollments []dpsapi.IndividualEnrollment) (*BulkResult, error) {
	const op = "bulk enrollment operation"
	switch mode {
	case dpsapi.BulkCreate, dpsapi.BulkUpdate, dpsapi.BulkUpdateIfMatchETag, dpsapi.BulkDelete:
	default:
		return nil, fmt.Errorf("dps: %s: unknown mode %q", op, mode)
	}
	for i := range enrollments {
		if err := CheckRegistrationID(enrollments[i].RegistrationID); err != nil {
			return nil, fmt.Errorf("enrollment %d: %w", i, err)
		}
	}
	result := &BulkResult{IsSuccessful: true}
	var fatal error // once set, remaining chunks are not sent
	for start := 0; start < len(enrollments); start += dpsapi.MaxBulkEnrollments {
		chunk := enrollments[start:min(start+dpsapi.MaxBulkEnrollments, len(enrollments))]
		if fatal == nil && ctx.Err() != nil {
			fatal = fmt.Errorf("dps: %s: %w", op, ctx.Err())
		}
		if fatal != nil {
			result.failChunk(chunk, fatal)
			continue
		}
		res, err := c.bulkChunk(ctx, op, mode, chunk)
		if err != nil {
			result.failChunk(chunk, err)
			if IsUnauthorized(err) || errors.Is(err, ErrForbidden) || ctx.Err() != nil {
				fatal = err
			}
			continue
		}
		if !res.IsSuccessful {
			result.IsSuccessful = false
		}
		for _, e := range res.Errors {
			result.IsSuccessful = false
			result.Errors = append(result.Errors, BulkItemError{RegistrationID: e.RegistrationID, ErrorCode: e.ErrorCode, ErrorStatus: e.ErrorStatus})
		}
	}
	return result, nil
}

// bulkChunk sends one request of at most MaxBulkEnrollments.
func (c *Client) bulkChunk(ctx context.Context, op string, mode dpsapi.BulkMode, chunk []dpsapi.IndividualEnrollment) (*dpsapi.BulkEnrollmentOperationResult, error) {
	body, err := marshal(op, dpsapi.BulkEnrollmentOperation{Enrollments: chunk, Mode: mode})
	if err != nil {
		return nil, err
	}
	// Not idempotent for network errors: a create that reached the service would come back as a
	// conflict on the retry, hiding that it succeeded.
	res, err := c.do(ctx, call{op: op, method: http.MethodPost, path: "/enrollments", body: body})
	if err != nil {
		return nil, err
	}
	var out dpsapi.BulkEnrollmentOperationResult
	if err := decodeJSON(op, res.body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// failChunk records every item of a chunk as failed with err.
func (r *BulkResult) failChunk(chunk []dpsapi.IndividualEnrollment, err error) {
	r.IsSuccessful = false
	code := 0
	var apiErr *Error
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode
		if code == 0 {
			code = apiErr.StatusCode * 1000
		}
	}
	for _, e := range chunk {
		r.Errors = append(r.Errors, BulkItemError{RegistrationID: e.RegistrationID, ErrorCode: code, ErrorStatus: err.Error(), Err: err})
	}
}
