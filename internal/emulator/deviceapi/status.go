package deviceapi

import (
	"net/http"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// StatusLookup serves POST /{idScope}/registrations/{registrationId}, DPS's device registration
// status look-up: a device, proving itself as it does to register (its certificate, a token
// signed with its enrollment's key, or for a TPM a token signed with the key of the last
// challenge, with the TPM's keys in the body), reads its own registration state. The body is a
// device registration, or empty for a certificate or a symmetric key. Nothing is started and a
// TPM is never challenged: a device that cannot prove itself is refused. 404 means DPS has no
// registration state for the device: it never got as far as a decision.
func (s *API) StatusLookup(w http.ResponseWriter, r *http.Request, p Path) *httpapi.Error {
	req := &dpsapi.DeviceRegistration{RegistrationID: p.RegistrationID}
	if r.ContentLength != 0 {
		body, apiErr := httpapi.ReadBody(w, r, s.maxBody)
		if apiErr != nil {
			return apiErr
		}
		if req, apiErr = decodeDeviceRegistration(body, p.RegistrationID); apiErr != nil {
			return apiErr
		}
	}
	if _, apiErr := s.authenticateDevice(r, req, false); apiErr != nil {
		return apiErr
	}
	st, err := s.store.GetRegistrationState(r.Context(), req.RegistrationID)
	if err != nil {
		return s.storeError(err, httpapi.Errorf(httpapi.CodeRegistrationNotFound,
			"Registration state for registration ID %q was not found: the device has not registered yet.", quote.Short(req.RegistrationID)))
	}
	httpapi.WriteJSON(w, http.StatusOK, dpsapi.DeviceRegistrationResult{
		RegistrationID: st.RegistrationID, CreatedDateTimeUTC: st.CreatedDateTimeUTC, AssignedHub: st.AssignedHub,
		DeviceID: st.DeviceID, Status: st.Status, Substatus: string(st.Substatus), ErrorCode: st.ErrorCode,
		ErrorMessage: st.ErrorMessage, LastUpdatedDateTimeUTC: st.LastUpdatedDateTimeUTC, ETag: st.ETag, Payload: st.Payload,
	})
	return nil
}
