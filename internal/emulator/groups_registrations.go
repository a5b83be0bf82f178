package emulator

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// handleGroupRegistrationQuery serves POST /registrations/{groupId}/query: the registration states
// of the group's devices, a page at a time as enrollment queries are. The REST specification sends
// no body; Microsoft's SDKs send a query specification, which must then select everything.
func (s *Server) handleGroupRegistrationQuery(w http.ResponseWriter, r *http.Request, groupID string) *httpapi.Error {
	if r.ContentLength != 0 {
		body, apiErr := httpapi.ReadBody(w, r, s.maxBody)
		if apiErr != nil {
			return apiErr
		}
		var q dpsapi.QuerySpecification
		if err := json.Unmarshal(body, &q); err != nil {
			return httpapi.Errorf(httpapi.CodeMalformedBody, "The request body is not a valid query specification: %s", httpapi.JSONProblem(err))
		}
		if f := strings.Fields(strings.ToLower(q.Query)); !(len(f) == 0 || len(f) == 1 && f[0] == "*" || len(f) == 4 && f[0] == "select" && f[1] == "*" && f[2] == "from") {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "Query %q is not supported: this emulator answers \"*\" (all of the group's registrations).", quote.Short(q.Query))
		}
	}
	q, apiErr := readPaging(r)
	if apiErr != nil {
		return apiErr
	}
	page, next, err := s.store.QueryGroupRegistrations(r.Context(), groupID, q.from, q.size)
	if err != nil {
		return s.storeError(err, groupNotFound(groupID))
	}
	writePage(w, "DeviceRegistration", q, next, page)
	return nil
}
