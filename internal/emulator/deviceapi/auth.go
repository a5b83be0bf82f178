package deviceapi

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// deviceKeyName is the skn of device SAS tokens, and the keyName of DPS's TPM challenge.
const deviceKeyName = "registration"

// notEnrolled is the service's answer to a device it does not know, or that does not prove to be
// the enrolled one: 401 with no challenge, whichever it was, so that nobody learns which
// registration IDs exist.
func notEnrolled(id, why string) *httpapi.Error {
	return httpapi.Errorf(httpapi.CodeUnauthorized, "Unauthorized: registration ID %q %s.", quote.Short(id), why)
}

// authenticateRegistration checks a register request against the device's individual enrollment,
// or, when it has none, the enrollment groups, and returns the operation to start, with how the
// device proved itself. A TPM device without a valid token is answered with a challenge (a 401
// carrying a key only its TPM can import).
func (s *API) authenticateRegistration(r *http.Request, req *dpsapi.DeviceRegistration) (*store.Operation, *httpapi.Error) {
	return s.authenticateDevice(r, req, true)
}

// authenticateDevice is authenticateRegistration; a TPM device without a valid token is
// challenged only when challenge is set, and refused otherwise.
func (s *API) authenticateDevice(r *http.Request, req *dpsapi.DeviceRegistration, challenge bool) (*store.Operation, *httpapi.Error) {
	id := req.RegistrationID
	e, err := s.store.GetEnrollment(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return s.authenticateGroup(r, req)
	}
	if err != nil {
		return nil, s.storeError(err, nil)
	}
	var kind dpsapi.AttestationType
	if e.Attestation != nil {
		kind = e.Attestation.Type
	}
	switch {
	case req.TPM != nil:
		if kind != dpsapi.AttestationTPM {
			return nil, notEnrolled(id, "is not enrolled with TPM attestation")
		}
		return s.authenticateTPM(r, req, e, challenge)
	case kind == dpsapi.AttestationX509:
		tp, apiErr := s.authenticateX509(r, id, e.Attestation.X509)
		if apiErr != nil {
			return nil, apiErr
		}
		return &store.Operation{Attestation: kind, Thumbprint: tp}, nil
	case kind == dpsapi.AttestationSymmetricKey:
		key, apiErr := s.authenticateSymmetricKey(r, id, e.Attestation.SymmetricKey)
		if apiErr != nil {
			return nil, apiErr
		}
		return &store.Operation{Attestation: kind, AuthKey: key}, nil
	case kind == dpsapi.AttestationTPM:
		return nil, notEnrolled(id, "is enrolled with TPM attestation: send the TPM's tpm{endorsementKey, storageRootKey}")
	}
	return nil, notEnrolled(id, "has an enrollment this service cannot attest")
}

// authenticatePoll checks that a status poll comes from the device that started the operation,
// proving itself the same way: a token signed with the same key, or the same certificate. It does
// not look at the enrollment, which may have gone since (the operation then fails).
func (s *API) authenticatePoll(r *http.Request, op *store.Operation) *httpapi.Error {
	switch {
	case op.Thumbprint != "":
		leaf := clientCertificate(r)
		if leaf == nil || enrollcert.Thumbprint(leaf) != op.Thumbprint {
			return notEnrolled(op.RegistrationID, "did not present the certificate it registered with")
		}
		return nil
	case op.AuthKey != nil:
		return s.verifyDeviceToken(r, op.RegistrationID, op.AuthKey)
	}
	return notEnrolled(op.RegistrationID, "has an operation this service cannot authenticate")
}

// authenticateSymmetricKey checks the request's token against the enrollment's primary key, then
// its secondary, and returns the one that signed it.
func (s *API) authenticateSymmetricKey(r *http.Request, id string, a *dpsapi.SymmetricKeyAttestation) ([]byte, *httpapi.Error) {
	if r.Header.Get("Authorization") == "" {
		return nil, notEnrolled(id, "sent no Authorization: sign a SAS token with the enrollment's symmetric key")
	}
	if a == nil {
		return nil, notEnrolled(id, "has no symmetric keys")
	}
	last := notEnrolled(id, "has no symmetric keys")
	for _, k := range []string{a.PrimaryKey, a.SecondaryKey} {
		key, err := base64.StdEncoding.DecodeString(k)
		if k == "" || err != nil {
			continue
		}
		if last = s.verifyDeviceToken(r, id, key); last == nil {
			return key, nil
		}
	}
	return nil, last
}

// verifyDeviceToken checks the request's device SAS token: skn "registration", resource
// {idScope}/registrations/{registrationId}, signed with key, not expired (allowing
// sas.DefaultSkew: devices' clocks drift).
func (s *API) verifyDeviceToken(r *http.Request, id string, key []byte) *httpapi.Error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return notEnrolled(id, "sent no Authorization")
	}
	v := sas.Verifier{
		Key:      sas.NewKey(key),
		KeyName:  deviceKeyName,
		Resource: s.idScope + "/registrations/" + id,
		Now:      s.now,
	}
	return httpapi.VerifyToken(s.log, r, &v, map[error]*httpapi.Error{
		sas.ErrMalformed: notEnrolled(id, "sent an Authorization that is not a well-formed SharedAccessSignature token"),
		sas.ErrKeyName:   notEnrolled(id, "sent a token whose skn is not "+deviceKeyName),
		sas.ErrResource:  notEnrolled(id, "sent a token whose sr is not {idScope}/registrations/{registrationId}"),
		sas.ErrSignature: notEnrolled(id, "sent a token not signed with its enrolled key"),
		sas.ErrExpired:   notEnrolled(id, "sent an expired token (check the device's clock)"),
	})
}

// authenticateX509 checks the TLS client certificate a device presented as DPS does: a chain
// that links (each certificate signed by the next one presented), a leaf valid now (an expired
// or not yet valid certificate is refused), its common name equal to the registration ID, and its
// thumbprint that of an enrolled client certificate. It returns the thumbprint.
func (s *API) authenticateX509(r *http.Request, id string, a *dpsapi.X509Attestation) (string, *httpapi.Error) {
	leaf := clientCertificate(r)
	if leaf == nil {
		return "", notEnrolled(id, "is enrolled with X.509 attestation but presented no TLS client certificate")
	}
	if why := chainProblem(r.TLS.PeerCertificates); why != "" {
		return "", notEnrolled(id, why)
	}
	now := s.now()
	switch {
	case now.Before(leaf.NotBefore):
		return "", notEnrolled(id, "presented a certificate that is not valid before "+leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return "", notEnrolled(id, "presented a certificate that expired on "+leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if leaf.Subject.CommonName != id {
		return "", notEnrolled(id, "presented a certificate whose common name is not the registration ID")
	}
	tp := enrollcert.Thumbprint(leaf)
	if a != nil {
		for _, c := range enrollcert.List(a.ClientCertificates) {
			if enrollcert.EnrolledThumbprint(c) == tp {
				return tp, nil
			}
		}
	}
	return "", notEnrolled(id, "presented a certificate that is not its enrolled client certificate")
}

// chainProblem says what is wrong with a presented chain, leaf first, or "" when each
// certificate is signed by the next.
func chainProblem(chain []*x509.Certificate) string {
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return fmt.Sprintf("presented a certificate chain that does not link: certificate %d is not signed by certificate %d", i+1, i+2)
		}
	}
	return ""
}

func clientCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}
