// Package identity defines a device's DPS identity and the QR payload formats that carry it.
//
// The formats are specified in docs/payload.md. Parse reads and fully validates a scanned
// payload; Encode validates an identity and writes it.
package identity

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Identity is what a device shows and what the companion enrolls.
type Identity struct {
	// RegistrationID is the DPS registration ID: derived from the EK, or chosen by the OEM.
	RegistrationID string
	// EndorsementKey is the EK's TPM2B_PUBLIC, including its 2-byte size prefix.
	EndorsementKey []byte
	// StorageRootKey is the SRK's TPM2B_PUBLIC, when known (never carried in a QR code).
	StorageRootKey []byte
	// EKCertificate is the manufacturer's DER EK certificate, when provisioned (never in a QR code).
	EKCertificate []byte
	// Label is a short, human-chosen device label, when set.
	Label string
}

// Derived reports whether the registration ID is the one derived from the EK, as opposed to one
// chosen by the OEM.
func (id Identity) Derived() bool {
	return id.RegistrationID == DeriveRegistrationID(id.EndorsementKey)
}

var lowerBase32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// DeriveRegistrationID returns the registration ID Microsoft's tools derive from an EK:
// SHA-256 over the TPM2B_PUBLIC (size prefix included), RFC 4648 base32, lowercase, unpadded.
func DeriveRegistrationID(ekTPM2BPublic []byte) string {
	sum := sha256.Sum256(ekTPM2BPublic)
	return strings.ToLower(lowerBase32.EncodeToString(sum[:]))
}
