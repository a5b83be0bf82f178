package identity

import "bytes"

// Verified is an identity that passed every check Parse makes: its EK is an RSA-2048
// restricted decryption key (ParseEK), its registration ID is the one derived from the EK or an
// OEM's that DPS accepts, and its label is valid. Only Parse and Verify make one, so code that
// takes a Verified needs to check nothing again. The zero value is not an identity: IsZero
// reports it, and consumers refuse it with ErrNotVerified.
type Verified struct {
	id Identity
}

// Verify checks id as Parse checks a payload and returns it as a Verified identity. The SRK
// and the EK certificate are carried as given. The errors are Parse's: ErrBadEK,
// ErrBadRegistrationID or ErrBadLabel.
func Verify(id Identity) (Verified, error) {
	ek, err := ParseEK(id.EndorsementKey)
	if err != nil {
		return Verified{}, err
	}
	if id.RegistrationID != ek.RegistrationID() {
		if err := ValidateRegistrationID(id.RegistrationID); err != nil {
			return Verified{}, err
		}
	}
	if err := validateLabel(id.Label); err != nil {
		return Verified{}, err
	}
	id.EndorsementKey = ek.TPM2BPublic
	id.StorageRootKey = bytes.Clone(id.StorageRootKey)
	id.EKCertificate = bytes.Clone(id.EKCertificate)
	return Verified{id: id}, nil
}

// IsZero reports whether v is the zero value, which no check made.
func (v Verified) IsZero() bool { return v.id.EndorsementKey == nil }

// Identity returns a copy of the identity, for encoding, display and records.
func (v Verified) Identity() Identity {
	id := v.id
	id.EndorsementKey = bytes.Clone(id.EndorsementKey)
	id.StorageRootKey = bytes.Clone(id.StorageRootKey)
	id.EKCertificate = bytes.Clone(id.EKCertificate)
	return id
}

// RegistrationID is the DPS registration ID.
func (v Verified) RegistrationID() string { return v.id.RegistrationID }

// EndorsementKey returns a copy of the EK's TPM2B_PUBLIC, size prefix included.
func (v Verified) EndorsementKey() []byte { return bytes.Clone(v.id.EndorsementKey) }

// StorageRootKey returns a copy of the SRK's TPM2B_PUBLIC, or nil when it is not known.
func (v Verified) StorageRootKey() []byte { return bytes.Clone(v.id.StorageRootKey) }

// Label is the device label, or "".
func (v Verified) Label() string { return v.id.Label }
