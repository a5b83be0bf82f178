package emulator

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// bulkRequest is the body of POST /enrollments: dpsapi.BulkEnrollmentOperation with its items left
// as raw JSON, so that an item that cannot be decoded fails on its own, as on the service, instead
// of failing the whole request.
type bulkRequest struct {
	Enrollments []json.RawMessage `json:"enrollments"`
	Mode        dpsapi.BulkMode   `json:"mode"`
}

// bulkResult is the reply to POST /enrollments: dpsapi.BulkEnrollmentOperationResult, except that
// errors is always present (an empty list when every item succeeded), which the wire type leaves
// out, so that clients reading the list without a null check work.
type bulkResult struct {
	IsSuccessful bool                                  `json:"isSuccessful"`
	Errors       []dpsapi.BulkEnrollmentOperationError `json:"errors"`
}

// bulkItem is one enrollment of a bulk operation after parsing: the record, the etag the caller
// sent with it, or the reason it failed before reaching the store.
type bulkItem struct {
	id     string
	rec    *dpsapi.IndividualEnrollment
	etag   string
	failed *httpapi.Error
}

// handleBulk serves POST /enrollments. A request-level problem (body, mode, item count) fails the
// whole request; an item's own problem is reported in the result's errors list while the other
// items go ahead, all of them in one store transaction.
func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request, _ string) *httpapi.Error {
	body, apiErr := httpapi.ReadBody(w, r, s.maxBulk)
	if apiErr != nil {
		return apiErr
	}
	var req bulkRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return httpapi.Errorf(httpapi.CodeMalformedBody, "The request body is not a valid bulk enrollment operation: %s", httpapi.JSONProblem(err))
	}
	switch req.Mode {
	case dpsapi.BulkCreate, dpsapi.BulkUpdate, dpsapi.BulkUpdateIfMatchETag, dpsapi.BulkDelete:
	case "":
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "mode is required: create, update, updateIfMatchETag or delete.")
	default:
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "mode %q is invalid: use create, update, updateIfMatchETag or delete.", quote.Short(string(req.Mode)))
	}
	if len(req.Enrollments) == 0 {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "enrollments is required and must not be empty.")
	}
	if len(req.Enrollments) > dpsapi.MaxBulkEnrollments {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "A bulk operation takes at most %d enrollments; this one has %d.", dpsapi.MaxBulkEnrollments, len(req.Enrollments))
	}
	items := s.parseBulkItems(req)
	err := s.store.Update(r.Context(), func(tx *store.Tx) error {
		for _, it := range items {
			if it.failed != nil {
				continue
			}
			var err error
			switch req.Mode {
			case dpsapi.BulkCreate:
				_, err = tx.CreateEnrollment(it.rec)
			case dpsapi.BulkUpdate:
				_, err = tx.PutEnrollment(it.rec, "")
			case dpsapi.BulkUpdateIfMatchETag:
				_, err = tx.PutEnrollment(it.rec, it.etag)
			case dpsapi.BulkDelete:
				err = tx.DeleteEnrollment(it.id, it.etag)
			}
			switch {
			case err == nil:
			case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists), errors.Is(err, store.ErrPreconditionFailed):
				it.failed = s.storeError(err, enrollmentNotFound(it.id))
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.storeError(err, nil)
	}
	res := bulkResult{IsSuccessful: true, Errors: []dpsapi.BulkEnrollmentOperationError{}}
	for _, it := range items {
		if it.failed != nil {
			res.IsSuccessful = false
			res.Errors = append(res.Errors, dpsapi.BulkEnrollmentOperationError{RegistrationID: it.id, ErrorCode: it.failed.Code, ErrorStatus: it.failed.Message})
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

// parseBulkItems decodes and validates each item; an item that fails carries its error.
func (s *Server) parseBulkItems(req bulkRequest) []*bulkItem {
	items := make([]*bulkItem, 0, len(req.Enrollments))
	seen := map[string]bool{}
	for _, raw := range req.Enrollments {
		it := &bulkItem{}
		items = append(items, it)
		if it.failed = checkObjectFields(raw); it.failed != nil {
			continue
		}
		var e dpsapi.IndividualEnrollment
		if err := json.Unmarshal(raw, &e); err != nil {
			it.failed = httpapi.Errorf(httpapi.CodeMalformedBody, "The enrollment is not valid JSON of an individual enrollment: %s", httpapi.JSONProblem(err))
			continue
		}
		it.id, it.etag = e.RegistrationID, e.ETag
		if seen[it.id] {
			it.failed = httpapi.Errorf(httpapi.CodeInvalidArgument, "Registration ID %q appears more than once in this operation.", quote.Short(it.id))
			continue
		}
		seen[it.id] = true
		if req.Mode == dpsapi.BulkDelete {
			if !validRegistrationID(it.id) {
				it.failed = enrollmentNotFound(it.id)
			}
			continue
		}
		if req.Mode == dpsapi.BulkUpdateIfMatchETag && it.etag == "" {
			it.failed = httpapi.Errorf(httpapi.CodeInvalidArgument, "Mode updateIfMatchETag needs the enrollment's etag.")
			continue
		}
		it.rec, it.failed = s.validateEnrollment(&e, "")
	}
	return items
}
