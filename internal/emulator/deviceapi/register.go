package deviceapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
)

// Register serves PUT /{idScope}/registrations/{registrationId}/register: the device proves
// who it is and an operation starts; its status is polled until DPS has decided.
func (s *API) Register(w http.ResponseWriter, r *http.Request, p Path) *httpapi.Error {
	body, apiErr := httpapi.ReadBody(w, r, s.maxBody)
	if apiErr != nil {
		return apiErr
	}
	req, apiErr := decodeDeviceRegistration(body, p.RegistrationID)
	if apiErr != nil {
		return apiErr
	}
	op, apiErr := s.authenticateRegistration(r, req)
	if apiErr != nil {
		return apiErr
	}
	now := s.now()
	op.ID = operationID()
	op.RegistrationID = req.RegistrationID
	op.Created = now
	op.ReadyAt = now.Add(s.assignDelay)
	op.Status = dpsapi.RegistrationAssigning
	if err := s.store.StartOperation(r.Context(), op); err != nil {
		return s.storeError(err, nil)
	}
	s.log.Info("device registration started", "registrationId", op.RegistrationID, "attestation", op.Attestation, "operationId", op.ID)
	s.setRetryAfter(w)
	httpapi.WriteJSON(w, http.StatusAccepted, dpsapi.RegistrationOperationStatus{OperationID: op.ID, Status: op.Status})
	return nil
}

// Operation serves GET /{idScope}/registrations/{registrationId}/operations/{operationId}:
// the operation's status, asked by the device that started it, proving itself as it did then.
// The first poll after the assignment delay decides the operation.
func (s *API) Operation(w http.ResponseWriter, r *http.Request, p Path) *httpapi.Error {
	notFound := httpapi.Errorf(httpapi.CodeOperationNotFound, "Operation %q of registration ID %q was not found; register again.", quote.Short(p.OperationID), quote.Short(p.RegistrationID))
	op, err := s.store.Operation(r.Context(), p.RegistrationID, p.OperationID)
	if err != nil {
		return s.storeError(err, notFound)
	}
	if apiErr := s.authenticatePoll(r, op); apiErr != nil {
		return apiErr
	}
	if op, err = s.store.AdvanceOperation(r.Context(), p.RegistrationID, p.OperationID, s.now(), s.decide); err != nil {
		return s.storeError(err, notFound)
	}
	res := dpsapi.RegistrationOperationStatus{OperationID: op.ID, Status: op.Status, RegistrationState: op.Result}
	if op.Status == dpsapi.RegistrationAssigning {
		res.RegistrationState = &dpsapi.DeviceRegistrationResult{RegistrationID: op.RegistrationID, Status: op.Status}
		s.setRetryAfter(w)
		httpapi.WriteJSON(w, http.StatusAccepted, res)
		return nil
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

// setRetryAfter asks the device to wait before its next poll.
func (s *API) setRetryAfter(w http.ResponseWriter) {
	secs := int((s.retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// decodeDeviceRegistration parses a register body strictly: one JSON object of the
// DeviceRegistration shape and nothing else, whose registrationId is the path's, with the TPM's
// keys in standard base64 when it has them. It never panics on any input.
func decodeDeviceRegistration(body []byte, pathID string) (*dpsapi.DeviceRegistration, *httpapi.Error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req dpsapi.DeviceRegistration
	if err := dec.Decode(&req); err != nil {
		return nil, httpapi.Errorf(httpapi.CodeMalformedBody, "The request body is not a valid device registration: %s", httpapi.JSONProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, httpapi.Errorf(httpapi.CodeMalformedBody, "The request body has data after the device registration.")
	}
	switch {
	case req.RegistrationID == "":
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "registrationId is required.")
	case req.RegistrationID != pathID:
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "The registrationId in the body (%q) does not match the one in the request path (%q).", quote.Short(req.RegistrationID), quote.Short(pathID))
	}
	// DPS's registration IDs are lower case: a certificate whose common name is in upper case
	// (a GUID as many tools print it) can never register.
	if err := identity.ValidateRegistrationID(req.RegistrationID); err != nil {
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "The registration ID is invalid: %s.", quote.Short(strings.TrimPrefix(err.Error(), "identity: ")))
	}
	if len(req.Payload) > 0 && httpapi.IsNull(req.Payload) {
		req.Payload = nil
	}
	if t := req.TPM; t != nil {
		if t.EndorsementKey == "" {
			return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "tpm.endorsementKey is required for TPM attestation.")
		}
		if _, err := base64.StdEncoding.DecodeString(t.EndorsementKey); err != nil {
			return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "Endorsement key is invalid: not base64.")
		}
		if _, err := base64.StdEncoding.DecodeString(t.StorageRootKey); err != nil {
			return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "Storage root key is invalid: not base64.")
		}
	}
	return &req, nil
}

// operationID returns a fresh operation ID in the service's form: a partition digit, 16 hex
// digits and a GUID.
func operationID() string {
	id := httpapi.TrackingID()
	return "5." + strings.ReplaceAll(id[:18], "-", "") + "." + httpapi.TrackingID()
}
