// Package ektest makes endorsement keys and the enrollments built on them, for tests: well-formed
// RSA-2048 EKs in the TCG default template with real moduli, as a TPM of no machine here would
// report them. No program imports it.
package ektest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
)

// Generate returns a fresh EK's TPM2B_PUBLIC, size prefix included, for callers without a
// testing.TB.
func Generate() ([]byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return identity.StandardEK(k.N.FillBytes(make([]byte, identity.ModulusLen))), nil
}

// New returns a fresh EK's TPM2B_PUBLIC, size prefix included.
func New(tb testing.TB) []byte {
	tb.Helper()
	ek, err := Generate()
	if err != nil {
		tb.Fatal(err)
	}
	return ek
}

// Identity returns a device identity with a fresh EK and the registration ID derived from it.
func Identity(tb testing.TB, label string) identity.Identity {
	tb.Helper()
	ek := New(tb)
	return identity.Identity{RegistrationID: identity.DeriveRegistrationID(ek), EndorsementKey: ek, Label: label}
}

// Verify returns id verified, as identity.Parse returns a scanned one, failing the test if id
// is not valid.
func Verify(tb testing.TB, id identity.Identity) identity.Verified {
	tb.Helper()
	v, err := identity.Verify(id)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Enrollment is the TPM individual enrollment the companion makes for ek under id.
func Enrollment(id string, ek []byte) *dpsapi.IndividualEnrollment {
	return &dpsapi.IndividualEnrollment{
		RegistrationID: id,
		Attestation: &dpsapi.Attestation{
			Type: dpsapi.AttestationTPM,
			TPM:  &dpsapi.TPMAttestation{EndorsementKey: base64.StdEncoding.EncodeToString(ek)},
		},
	}
}
