package emulator

import (
	"net/http"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// enrollmentNotFound is the service's reply for a registration ID without an enrollment.
func enrollmentNotFound(id string) *httpapi.Error {
	return httpapi.Errorf(httpapi.CodeEnrollmentNotFound, "Enrollment for registration ID %q was not found.", quote.Short(id))
}

// handleGetEnrollment serves GET /enrollments/{id}.
func (s *Server) handleGetEnrollment(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	e, err := s.store.GetEnrollment(r.Context(), id)
	if err != nil {
		return s.storeError(err, enrollmentNotFound(id))
	}
	setETag(w, e.ETag)
	httpapi.WriteJSON(w, http.StatusOK, present(*e))
	return nil
}

// handlePutEnrollment serves PUT /enrollments/{id}: create or update, as the service does,
// conditional on If-Match when the caller sends one.
func (s *Server) handlePutEnrollment(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	body, apiErr := httpapi.ReadBody(w, r, s.maxBody)
	if apiErr != nil {
		return apiErr
	}
	e, apiErr := s.decodeEnrollment(body, id)
	if apiErr != nil {
		return apiErr
	}
	out, err := s.store.PutEnrollment(r.Context(), e, r.Header.Get("If-Match"))
	if err != nil {
		return s.storeError(err, enrollmentNotFound(id))
	}
	setETag(w, out.ETag)
	httpapi.WriteJSON(w, http.StatusOK, present(*out))
	return nil
}

// handleDeleteEnrollment serves DELETE /enrollments/{id}, conditional on If-Match.
func (s *Server) handleDeleteEnrollment(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	if err := s.store.DeleteEnrollment(r.Context(), id, r.Header.Get("If-Match")); err != nil {
		return s.storeError(err, enrollmentNotFound(id))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleAttestationMechanism serves POST /enrollments/{id}/attestationmechanism: the enrollment's
// attestation with its secrets (symmetric keys, certificates), which GET also returns for
// individual enrollments.
func (s *Server) handleAttestationMechanism(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	e, err := s.store.GetEnrollment(r.Context(), id)
	if err != nil {
		return s.storeError(err, enrollmentNotFound(id))
	}
	httpapi.WriteJSON(w, http.StatusOK, e.Attestation)
	return nil
}

// present returns the enrollment as the service shows it: certificates replaced by their info.
func present(e dpsapi.IndividualEnrollment) dpsapi.IndividualEnrollment {
	e.Attestation = enrollcert.Present(e.Attestation)
	return e
}
