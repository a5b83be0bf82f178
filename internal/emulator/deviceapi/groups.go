package deviceapi

import (
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"slices"
	"time"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// authenticateGroup admits a device without an individual enrollment through an enrollment group,
// trying the groups in ID order as the service tries them all: a symmetric-key device's token must
// be signed with the key derived from a group's primary or secondary key and its registration ID
// (sas.Key.DeriveDeviceKey); an X.509 device's certificate, whose common name is its registration
// ID, must chain to one of a group's signing certificates. TPM devices have no groups.
func (s *API) authenticateGroup(r *http.Request, req *dpsapi.DeviceRegistration) (*store.Operation, *httpapi.Error) {
	id := req.RegistrationID
	refused := notEnrolled(id, "has no individual enrollment and no enrollment group admits it")
	if req.TPM != nil {
		return nil, notEnrolled(id, "has no individual enrollment (enrollment groups do not attest TPM devices)")
	}
	groups, err := s.store.EnrollmentGroups(r.Context())
	if err != nil {
		return nil, s.storeError(err, nil)
	}
	token, leaf := r.Header.Get("Authorization") != "", clientCertificate(r)
	for _, g := range groups {
		switch {
		case g.Attestation == nil:
		case g.Attestation.Type == dpsapi.AttestationSymmetricKey && token:
			for _, key := range groupDeviceKeys(g.Attestation.SymmetricKey, id) {
				if s.verifyDeviceToken(r, id, key) == nil {
					return &store.Operation{Attestation: dpsapi.AttestationSymmetricKey, AuthKey: key, GroupID: g.EnrollmentGroupID}, nil
				}
			}
		case g.Attestation.Type == dpsapi.AttestationX509 && leaf != nil && leaf.Subject.CommonName == id:
			if signer := s.groupSigner(r, g.Attestation.X509); signer != "" {
				return &store.Operation{Attestation: dpsapi.AttestationX509, Thumbprint: enrollcert.Thumbprint(leaf), GroupID: g.EnrollmentGroupID, Signer: signer}, nil
			}
		}
	}
	return nil, refused
}

// groupDeviceKeys returns the keys of device registrationID in a group with keys a: each of the
// group's keys (primary first) through sas.Key.DeriveDeviceKey.
func groupDeviceKeys(a *dpsapi.SymmetricKeyAttestation, registrationID string) [][]byte {
	if a == nil {
		return nil
	}
	var out [][]byte
	for _, k := range []string{a.PrimaryKey, a.SecondaryKey} {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(raw) == 0 {
			continue
		}
		// Base64 is sas.Key's only way out; the derived key is stored on purpose, as the device's.
		derived, _ := base64.StdEncoding.DecodeString(sas.NewKey(raw).DeriveDeviceKey(registrationID).Base64())
		out = append(out, derived)
	}
	return out
}

// groupSigner verifies the request's client certificate chain (the leaf, then the intermediates
// the client sent) up to one of a group's signing certificates, taken as trust anchors whether or
// not they are roots, and returns that certificate's thumbprint; empty when none signed it. A group
// with only CA references admits nobody here: the emulator has no uploaded CA certificates.
func (s *API) groupSigner(r *http.Request, a *dpsapi.X509Attestation) string {
	if a == nil || a.SigningCertificates == nil {
		return ""
	}
	roots := x509.NewCertPool()
	for _, c := range enrollcert.List(a.SigningCertificates) {
		if cert, err := enrollcert.Parse(c.Certificate); err == nil {
			roots.AddCert(cert)
		}
	}
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := clientCertificate(r).Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   s.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil || len(chains) == 0 {
		return ""
	}
	chain := chains[0]
	return enrollcert.Thumbprint(chain[len(chain)-1])
}

// enrollmentFor returns the enrollment an operation is decided by: the device's individual
// enrollment, or, for a device that came through a group, the group as it is now seen as this
// device's enrollment (groupMember). store.ErrNotFound when it is gone.
func enrollmentFor(tx *store.Tx, op *store.Operation) (*dpsapi.IndividualEnrollment, error) {
	if op.GroupID == "" {
		return tx.Enrollment(op.RegistrationID)
	}
	g, err := tx.EnrollmentGroup(op.GroupID)
	if err != nil {
		return nil, err
	}
	return groupMember(g, op), nil
}

// groupMember is group g as one device's individual enrollment: the group's settings, the device's
// registration ID as its device ID, and as credentials the device's own keys (derived from the
// group's) or, while the group still holds the certificate that signed it, the device's
// certificate. The decision then treats group devices exactly as individually enrolled ones.
func groupMember(g *dpsapi.EnrollmentGroup, op *store.Operation) *dpsapi.IndividualEnrollment {
	e := &dpsapi.IndividualEnrollment{
		RegistrationID:     op.RegistrationID,
		Capabilities:       g.Capabilities,
		IoTHubHostName:     g.IoTHubHostName,
		InitialTwin:        g.InitialTwin,
		ProvisioningStatus: g.ProvisioningStatus,
		ReprovisionPolicy:  g.ReprovisionPolicy,
		AllocationPolicy:   g.AllocationPolicy,
		IoTHubs:            g.IoTHubs,
	}
	a := g.Attestation
	if a == nil {
		return e
	}
	e.Attestation = &dpsapi.Attestation{Type: a.Type}
	switch a.Type {
	case dpsapi.AttestationSymmetricKey:
		sk := &dpsapi.SymmetricKeyAttestation{}
		keys := groupDeviceKeys(a.SymmetricKey, op.RegistrationID)
		if len(keys) > 0 {
			sk.PrimaryKey = base64.StdEncoding.EncodeToString(keys[0])
		}
		if len(keys) > 1 {
			sk.SecondaryKey = base64.StdEncoding.EncodeToString(keys[1])
		}
		e.Attestation.SymmetricKey = sk
	case dpsapi.AttestationX509:
		x := &dpsapi.X509Attestation{}
		if a.X509 != nil && slices.ContainsFunc(enrollcert.List(a.X509.SigningCertificates), func(c *dpsapi.X509CertificateWithInfo) bool {
			return enrollcert.EnrolledThumbprint(c) == op.Signer
		}) {
			x.ClientCertificates = &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Info: &dpsapi.X509CertificateInfo{SHA256Thumbprint: op.Thumbprint}}}
		}
		e.Attestation.X509 = x
	}
	return e
}

// groupStateGone is decide's answer to a device whose group was deleted while it was being
// assigned: unlike an individual enrollment's, a group's deletion leaves the device's registration
// state, which records the failure.
func (s *API) groupStateGone(tx *store.Tx, now time.Time, op *store.Operation) error {
	s.fail(op, httpapi.CodeEnrollmentNotFound, "The enrollment group was deleted while the device was being assigned.")
	return writeResultState(tx, now, op)
}
