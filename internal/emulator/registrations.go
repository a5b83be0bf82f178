package emulator

import (
	"net/http"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
)

// registrationNotFound is the reply for a registration ID without a registration state.
func registrationNotFound(id string) *httpapi.Error {
	return httpapi.Errorf(httpapi.CodeRegistrationNotFound, "Registration state for registration ID %q was not found.", quote.Short(id))
}

// handleGetRegistration serves GET /registrations/{id}.
func (s *Server) handleGetRegistration(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	st, err := s.store.GetRegistrationState(r.Context(), id)
	if err != nil {
		return s.storeError(err, registrationNotFound(id))
	}
	setETag(w, st.ETag)
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

// handleDeleteRegistration serves DELETE /registrations/{id}, conditional on If-Match. The device
// may then register again from scratch; its enrollment is untouched.
func (s *Server) handleDeleteRegistration(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error {
	if err := s.store.DeleteRegistrationState(r.Context(), id, r.Header.Get("If-Match")); err != nil {
		return s.storeError(err, registrationNotFound(id))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
