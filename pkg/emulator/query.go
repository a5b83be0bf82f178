package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/pkg/dps"
)

// Page sizes for enrollment queries: what a page holds when the caller does not say, and the most
// it may ask for.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// handleQuery serves POST /enrollments/query. The emulator answers the query every client sends,
// "*" (and its SQL spelling), in registration ID order, a page at a time: x-ms-max-item-count
// sets the page size and x-ms-continuation carries the opaque token for the next page, in and out.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request, _ string) *apiError {
	body, apiErr := readBody(w, r, s.maxBody)
	if apiErr != nil {
		return apiErr
	}
	var q dps.QuerySpecification
	if err := json.Unmarshal(body, &q); err != nil {
		return errorf(CodeMalformedBody, "The request body is not a valid query specification: %s", jsonProblem(err))
	}
	if q.Query == "" {
		return errorf(CodeInvalidArgument, "query is required.")
	}
	if !selectsAll(q.Query) {
		return errorf(CodeInvalidArgument, "Query %q is not supported: this emulator answers \"*\" (all enrollments).", truncate(q.Query))
	}
	size := defaultPageSize
	if v := r.Header.Get(dps.HeaderMaxItemCount); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return errorf(CodeInvalidArgument, "x-ms-max-item-count %q is invalid: send a positive number.", truncate(v))
		}
		size = min(n, maxPageSize)
	}
	from := ""
	if tok := r.Header.Get(dps.HeaderContinuation); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !validRegistrationID(string(raw)) {
			return errorf(CodeInvalidArgument, "x-ms-continuation is not a token this service issued.")
		}
		from = string(raw)
	}
	page, next, err := s.store.QueryEnrollments(r.Context(), from, size)
	if err != nil {
		return s.storeError(err, nil)
	}
	out := make([]dps.IndividualEnrollment, 0, len(page))
	for _, e := range page {
		out = append(out, present(e))
	}
	h := w.Header()
	h.Set(dps.HeaderItemType, "Enrollment")
	h.Set(dps.HeaderMaxItemCount, strconv.Itoa(size))
	if next != "" {
		h.Set(dps.HeaderContinuation, base64.RawURLEncoding.EncodeToString([]byte(next)))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// selectsAll reports whether a query asks for every enrollment.
func selectsAll(q string) bool {
	q = strings.Join(strings.Fields(strings.ToLower(q)), " ")
	return q == "*" || q == "select * from enrollments" || q == "select * from c"
}
