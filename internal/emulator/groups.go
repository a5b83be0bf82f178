package emulator

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// groupNotFound is the service's reply for an enrollment group ID without a group.
func groupNotFound(id string) *httpapi.Error {
	return httpapi.Errorf(httpapi.CodeEnrollmentGroupNotFound, "Enrollment group %q was not found.", quote.Short(id))
}

// handleGetGroup serves GET /enrollmentGroups/{id}.
func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	g, err := s.store.GetEnrollmentGroup(r.Context(), id)
	if err != nil {
		return s.storeError(err, groupNotFound(id))
	}
	setETag(w, g.ETag)
	httpapi.WriteJSON(w, http.StatusOK, presentGroup(*g))
	return nil
}

// handlePutGroup serves PUT /enrollmentGroups/{id}: create or update, conditional on If-Match when
// the caller sends one.
func (s *Server) handlePutGroup(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	body, apiErr := httpapi.ReadBody(w, r, s.maxBody)
	if apiErr != nil {
		return apiErr
	}
	g, apiErr := decodeGroup(body, id)
	if apiErr != nil {
		return apiErr
	}
	out, err := s.store.PutEnrollmentGroup(r.Context(), g, r.Header.Get("If-Match"))
	if err != nil {
		return s.storeError(err, groupNotFound(id))
	}
	setETag(w, out.ETag)
	httpapi.WriteJSON(w, http.StatusOK, presentGroup(*out))
	return nil
}

// handleDeleteGroup serves DELETE /enrollmentGroups/{id}, conditional on If-Match.
func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	if err := s.store.DeleteEnrollmentGroup(r.Context(), id, r.Header.Get("If-Match")); err != nil {
		return s.storeError(err, groupNotFound(id))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleGroupAttestationMechanism serves POST /enrollmentGroups/{id}/attestationmechanism: the
// group's attestation with its secrets.
func (s *Server) handleGroupAttestationMechanism(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	g, err := s.store.GetEnrollmentGroup(r.Context(), id)
	if err != nil {
		return s.storeError(err, groupNotFound(id))
	}
	httpapi.WriteJSON(w, http.StatusOK, g.Attestation)
	return nil
}

// handleGroupQuery serves POST /enrollmentGroups/query as handleQuery serves enrollments: every
// group, in ID order, a page at a time.
func (s *Server) handleGroupQuery(w http.ResponseWriter, r *http.Request, _ string) *httpapi.Error {
	q, apiErr := s.readQuery(w, r, "enrollmentGroups")
	if apiErr != nil {
		return apiErr
	}
	page, next, err := s.store.QueryEnrollmentGroups(r.Context(), q.from, q.size)
	if err != nil {
		return s.storeError(err, nil)
	}
	out := make([]dpsapi.EnrollmentGroup, 0, len(page))
	for _, g := range page {
		out = append(out, presentGroup(g))
	}
	writePage(w, "EnrollmentGroup", q, next, out)
	return nil
}

// decodeGroup parses one enrollment group body and validates it as the service does: the ID
// follows the registration ID rules and agrees with the path's, the attestation is a symmetric key
// (generated when absent) or X.509 signing certificates or CA references, and the shared settings
// get the service's defaults. It never panics on any input.
func decodeGroup(body []byte, pathID string) (*dpsapi.EnrollmentGroup, *httpapi.Error) {
	if apiErr := checkObjectFields(body); apiErr != nil {
		return nil, apiErr
	}
	var g dpsapi.EnrollmentGroup
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, httpapi.Errorf(httpapi.CodeMalformedBody, "The request body is not a valid enrollment group: %s", httpapi.JSONProblem(err))
	}
	if g.EnrollmentGroupID == "" {
		g.EnrollmentGroupID = pathID
	}
	switch {
	case g.EnrollmentGroupID == "":
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "enrollmentGroupId is required.")
	case !validRegistrationID(g.EnrollmentGroupID):
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "Enrollment group ID %q is invalid: use up to 128 lowercase letters, digits and '-', '.', '_', ':', starting and ending with a letter or digit.", quote.Short(g.EnrollmentGroupID))
	case pathID != "" && g.EnrollmentGroupID != pathID:
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "The enrollmentGroupId in the body (%q) does not match the one in the request path (%q).", quote.Short(g.EnrollmentGroupID), quote.Short(pathID))
	}
	if apiErr := validateAttestation(g.Attestation, true); apiErr != nil {
		return nil, apiErr
	}
	if apiErr := validateSettings(settings{
		status: &g.ProvisioningStatus, allocation: g.AllocationPolicy, twin: g.InitialTwin,
		capabilities: &g.Capabilities, reprovision: &g.ReprovisionPolicy,
	}); apiErr != nil {
		return nil, apiErr
	}
	// Read-only fields: the service computes them, whatever the caller sent.
	g.ETag = ""
	g.CreatedDateTimeUTC = time.Time{}
	g.LastUpdatedDateTimeUTC = time.Time{}
	return &g, nil
}

// validateGroupX509 checks a group's X.509 attestation: devices are admitted by the certificate
// that signed theirs (signingCertificates) or by a CA uploaded to the service (caReferences), never
// by their own certificate, which is an individual enrollment's.
func validateGroupX509(a *dpsapi.X509Attestation) *httpapi.Error {
	if a != nil && a.ClientCertificates != nil {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.x509.clientCertificates are not supported for enrollment groups: use signingCertificates or caReferences.")
	}
	if a == nil || a.SigningCertificates == nil && a.CAReferences == nil {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.x509 of an enrollment group needs signingCertificates or caReferences.")
	}
	return validateX509(a)
}

// presentGroup returns the group as the service shows it: certificates replaced by their info.
func presentGroup(g dpsapi.EnrollmentGroup) dpsapi.EnrollmentGroup {
	g.Attestation = enrollcert.Present(g.Attestation)
	return g
}
