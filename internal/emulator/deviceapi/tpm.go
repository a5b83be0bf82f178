package deviceapi

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/dpsblob"
)

// tpmKeySize is the size of the HMAC keys DPS seals to a TPM: the challenge key and the hub key.
const tpmKeySize = 32

// authenticateTPM checks a TPM device's register request. The endorsement key must be the
// enrolled one (compared as bytes). A token signed with the key of the last challenge sent to
// that EK proves the device holds the TPM; without one, or with any other, the device is
// challenged again with a fresh key, or, without challenge, refused.
func (s *API) authenticateTPM(r *http.Request, req *dpsapi.DeviceRegistration, e *dpsapi.IndividualEnrollment, challenge bool) (*store.Operation, *httpapi.Error) {
	id := req.RegistrationID
	ek, _ := base64.StdEncoding.DecodeString(req.TPM.EndorsementKey)
	enrolled, err := base64.StdEncoding.DecodeString(e.Attestation.TPM.EndorsementKey)
	if err != nil || !bytes.Equal(ek, enrolled) {
		return nil, notEnrolled(id, "is enrolled with another endorsement key")
	}
	srk, _ := base64.StdEncoding.DecodeString(req.TPM.StorageRootKey)
	if len(srk) == 0 {
		// Only the enrollment may know the SRK; the request's wins when it has one.
		srk, _ = base64.StdEncoding.DecodeString(e.Attestation.TPM.StorageRootKey)
	}
	if len(srk) == 0 {
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "tpm.storageRootKey is required: DPS seals the device's key to it.")
	}
	if r.Header.Get("Authorization") != "" {
		keys, err := s.store.ChallengeKeys(r.Context(), id, ek, s.now())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, s.storeError(err, nil)
		}
		for _, key := range keys {
			if s.verifyDeviceToken(r, id, key) == nil {
				return &store.Operation{Attestation: dpsapi.AttestationTPM, AuthKey: key, EK: ek, SRK: srk}, nil
			}
		}
	}
	if !challenge {
		return nil, notEnrolled(id, "sent no token signed with the key of DPS's last challenge to its TPM")
	}
	return nil, s.challenge(r, id, ek, srk)
}

// challenge makes a fresh key, keeps it for the device and returns the 401 that delivers it
// sealed to the device's TPM.
func (s *API) challenge(r *http.Request, id string, ek, srk []byte) *httpapi.Error {
	key := make([]byte, tpmKeySize)
	if _, err := rand.Read(key); err != nil {
		return httpapi.Errorf(httpapi.CodeInternal, "The service could not make a key; retry later.")
	}
	blob, err := dpsblob.Build(rand.Reader, ek, srk, key)
	if err != nil {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "The TPM's keys cannot be attested: %s.", quote.Short(err.Error()))
	}
	if err := s.store.SetChallenge(r.Context(), id, ek, key, s.now()); err != nil {
		return s.storeError(err, nil)
	}
	s.log.Info("TPM challenge sent", "registrationId", id)
	apiErr := httpapi.Errorf(httpapi.CodeUnauthorized, "Import the authenticationKey into the TPM and sign the request's SAS token with it.")
	apiErr.Body = dpsapi.TPMChallenge{
		AuthenticationKey: base64.StdEncoding.EncodeToString(blob),
		KeyName:           deviceKeyName,
		Message:           apiErr.Message,
	}
	return apiErr
}

// sealHubKey makes a TPM device's hub key and the blob that delivers it, sealed to the same EK
// and SRK as the challenge.
func sealHubKey(op *store.Operation) (key []byte, blob string, err error) {
	key = make([]byte, tpmKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, "", err
	}
	b, err := dpsblob.Build(rand.Reader, op.EK, op.SRK, key)
	if err != nil {
		return nil, "", err
	}
	return key, base64.StdEncoding.EncodeToString(b), nil
}
