package emulator

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

	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// devicePath is what a device API path names.
type devicePath struct {
	idScope        string
	registrationID string
	operationID    string
}

// checkIDScope refuses a device request under another DPS instance's ID scope. The service
// answers it as it answers a device it does not know: 401, so that a device learns nothing about
// other instances.
func (s *Server) checkIDScope(scope string) *apiError {
	if !strings.EqualFold(scope, s.identity.IDScope) {
		return errorf(CodeUnauthorized, "Unauthorized: ID scope %q is not this service's; copy the ID scope from the DPS instance's overview.", quote.Short(scope))
	}
	return nil
}

// handleRegister serves PUT /{idScope}/registrations/{registrationId}/register: the device proves
// who it is and an operation starts; its status is polled until DPS has decided.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request, p devicePath) *apiError {
	body, apiErr := readBody(w, r, s.maxBody)
	if apiErr != nil {
		return apiErr
	}
	req, apiErr := decodeDeviceRegistration(body, p.registrationID)
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
	writeJSON(w, http.StatusAccepted, dpsapi.RegistrationOperationStatus{OperationID: op.ID, Status: op.Status})
	return nil
}

// handleOperation serves GET /{idScope}/registrations/{registrationId}/operations/{operationId}:
// the operation's status, asked by the device that started it, proving itself as it did then.
// The first poll after the assignment delay decides the operation.
func (s *Server) handleOperation(w http.ResponseWriter, r *http.Request, p devicePath) *apiError {
	notFound := errorf(CodeOperationNotFound, "Operation %q of registration ID %q was not found; register again.", quote.Short(p.operationID), quote.Short(p.registrationID))
	op, err := s.store.Operation(r.Context(), p.registrationID, p.operationID)
	if err != nil {
		return s.storeError(err, notFound)
	}
	if apiErr := s.authenticatePoll(r, op); apiErr != nil {
		return apiErr
	}
	if op, err = s.store.AdvanceOperation(r.Context(), p.registrationID, p.operationID, s.now(), s.decide); err != nil {
		return s.storeError(err, notFound)
	}
	res := dpsapi.RegistrationOperationStatus{OperationID: op.ID, Status: op.Status, RegistrationState: op.Result}
	if op.Status == dpsapi.RegistrationAssigning {
		res.RegistrationState = &dpsapi.DeviceRegistrationResult{RegistrationID: op.RegistrationID, Status: op.Status}
		s.setRetryAfter(w)
		writeJSON(w, http.StatusAccepted, res)
		return nil
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// setRetryAfter asks the device to wait before its next poll.
func (s *Server) setRetryAfter(w http.ResponseWriter) {
	secs := int((s.retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// decodeDeviceRegistration parses a register body strictly: one JSON object of the
// DeviceRegistration shape and nothing else, whose registrationId is the path's, with the TPM's
// keys in standard base64 when it has them. It never panics on any input.
func decodeDeviceRegistration(body []byte, pathID string) (*dpsapi.DeviceRegistration, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req dpsapi.DeviceRegistration
	if err := dec.Decode(&req); err != nil {
		return nil, errorf(CodeMalformedBody, "The request body is not a valid device registration: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(CodeMalformedBody, "The request body has data after the device registration.")
	}
	switch {
	case req.RegistrationID == "":
		return nil, errorf(CodeInvalidArgument, "registrationId is required.")
	case req.RegistrationID != pathID:
		return nil, errorf(CodeInvalidArgument, "The registrationId in the body (%q) does not match the one in the request path (%q).", quote.Short(req.RegistrationID), quote.Short(pathID))
	}
	if len(req.Payload) > 0 && isNull(req.Payload) {
		req.Payload = nil
	}
	if t := req.TPM; t != nil {
		if t.EndorsementKey == "" {
			return nil, errorf(CodeInvalidArgument, "tpm.endorsementKey is required for TPM attestation.")
		}
		if _, err := base64.StdEncoding.DecodeString(t.EndorsementKey); err != nil {
			return nil, errorf(CodeInvalidArgument, "Endorsement key is invalid: not base64.")
		}
		if _, err := base64.StdEncoding.DecodeString(t.StorageRootKey); err != nil {
			return nil, errorf(CodeInvalidArgument, "Storage root key is invalid: not base64.")
		}
	}
	return &req, nil
}

// operationID returns a fresh operation ID in the service's form: a partition digit, 16 hex
// digits and a GUID.
func operationID() string {
	id := trackingID()
	return "5." + strings.ReplaceAll(id[:18], "-", "") + "." + trackingID()
}
