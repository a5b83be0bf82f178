package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
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
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request, _ string) *httpapi.Error {
	q, apiErr := s.readQuery(w, r, "enrollments")
	if apiErr != nil {
		return apiErr
	}
	page, next, err := s.store.QueryEnrollments(r.Context(), q.from, q.size)
	if err != nil {
		return s.storeError(err, nil)
	}
	out := make([]dpsapi.IndividualEnrollment, 0, len(page))
	for _, e := range page {
		out = append(out, present(e))
	}
	writePage(w, "Enrollment", q, next, out)
	return nil
}

// pageQuery is a query request: where its page starts (a record ID; empty for the first page) and
// how many records it holds.
type pageQuery struct {
	from string
	size int
}

// readQuery reads a query request for a collection (enrollments, enrollmentGroups): its body, which
// must select every record of it, its page size and its continuation token.
func (s *Server) readQuery(w http.ResponseWriter, r *http.Request, collection string) (pageQuery, *httpapi.Error) {
	body, apiErr := httpapi.ReadBody(w, r, s.maxBody)
	if apiErr != nil {
		return pageQuery{}, apiErr
	}
	var q dpsapi.QuerySpecification
	if err := json.Unmarshal(body, &q); err != nil {
		return pageQuery{}, httpapi.Errorf(httpapi.CodeMalformedBody, "The request body is not a valid query specification: %s", httpapi.JSONProblem(err))
	}
	if q.Query == "" {
		return pageQuery{}, httpapi.Errorf(httpapi.CodeInvalidArgument, "query is required.")
	}
	if !selectsAll(q.Query, collection) {
		return pageQuery{}, httpapi.Errorf(httpapi.CodeInvalidArgument, "Query %q is not supported: this emulator answers \"*\" (all %s).", quote.Short(q.Query), collection)
	}
	return readPaging(r)
}

// readPaging reads a query request's page size and continuation token.
func readPaging(r *http.Request) (pageQuery, *httpapi.Error) {
	pq := pageQuery{size: defaultPageSize}
	if v := r.Header.Get(dpsapi.HeaderMaxItemCount); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return pageQuery{}, httpapi.Errorf(httpapi.CodeInvalidArgument, "x-ms-max-item-count %q is invalid: send a positive number.", quote.Short(v))
		}
		pq.size = min(n, maxPageSize)
	}
	if tok := r.Header.Get(dpsapi.HeaderContinuation); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !validRegistrationID(string(raw)) {
			return pageQuery{}, httpapi.Errorf(httpapi.CodeInvalidArgument, "x-ms-continuation is not a token this service issued.")
		}
		pq.from = string(raw)
	}
	return pq, nil
}

// writePage sends one page of a query's answer, with the token for the next page when there is
// one (next, the ID that page starts at).
func writePage(w http.ResponseWriter, itemType string, q pageQuery, next string, items any) {
	h := w.Header()
	h.Set(dpsapi.HeaderItemType, itemType)
	h.Set(dpsapi.HeaderMaxItemCount, strconv.Itoa(q.size))
	if next != "" {
		h.Set(dpsapi.HeaderContinuation, base64.RawURLEncoding.EncodeToString([]byte(next)))
	}
	httpapi.WriteJSON(w, http.StatusOK, items)
}

// selectsAll reports whether a query asks for every record of the collection.
func selectsAll(q, collection string) bool {
	q = strings.Join(strings.Fields(strings.ToLower(q)), " ")
	return q == "*" || q == "select * from "+strings.ToLower(collection) || q == "select * from c"
}
