package identity

import (
	"bytes"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/google/go-tpm/tpm2"
)

// ModulusLen is the size in bytes of an RSA-2048 EK's modulus.
const ModulusLen = 256

// EK is an endorsement key that passed validation: the TPM2B_PUBLIC of an RSA-2048 restricted
// decryption key, the only kind DPS TPM attestation can use.
type EK struct {
	// TPM2BPublic is the key's TPM2B_PUBLIC, 2-byte size prefix included: the exact bytes
	// DPS receives and the registration ID is derived from.
	TPM2BPublic []byte
	// Modulus is the RSA public modulus, big-endian, ModulusLen bytes.
	Modulus []byte
	// Exponent is the public exponent as the key stores it; 0 means the default, 65537.
	Exponent uint32
	// Standard reports whether every field but the modulus is the TCG default RSA-2048 EK
	// template's, so that the modulus alone is enough to rebuild the key.
	Standard bool
}

// PublicKey returns the EK as a Go RSA public key.
func (ek *EK) PublicKey() *rsa.PublicKey {
	e := int(ek.Exponent)
	if e == 0 {
		e = 65537
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(ek.Modulus), E: e}
}

// RegistrationID returns the registration ID derived from the EK.
func (ek *EK) RegistrationID() string { return DeriveRegistrationID(ek.TPM2BPublic) }

// exportHint is what a user whose EK is in the wrong shape should do instead.
const exportHint = "export it with `tpm2_readpublic -c 0x81010001 -o ek.pub` (tss format, the default) and base64 it"

// ValidateEK reports whether tpm2bPublic is a well-formed TPM2B_PUBLIC of an RSA-2048
// restricted decryption key with nameAlg SHA-256 that cannot leave its TPM (fixedTPM,
// fixedParent, sensitiveDataOrigin). Errors wrap ErrBadEK.
func ValidateEK(tpm2bPublic []byte) error {
	_, err := ParseEK(tpm2bPublic)
	return err
}

// ParseEK validates b as ValidateEK does and returns the key's fields. When b is an EK in one of
// the formats people export by mistake (no size prefix, PEM or DER SubjectPublicKeyInfo,
// tpm2-tools 3.x output, hex or base64 text), the error names the format and how to fix it.
func ParseEK(b []byte) (*EK, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, too short for a TPM2B_PUBLIC; %s", ErrBadEK, len(b), exportHint)
	}
	if size := int(binary.BigEndian.Uint16(b)); size != len(b)-2 {
		return nil, diagnoseEK(b)
	}
	return checkTPM2BPublic(b)
}

// checkTPM2BPublic is ParseEK without the diagnosis of wrong formats.
func checkTPM2BPublic(b []byte) (*EK, error) {
	if len(b) < 2 || int(binary.BigEndian.Uint16(b)) != len(b)-2 {
		return nil, fmt.Errorf("%w: the size prefix does not match the length; %s", ErrBadEK, exportHint)
	}
	pub, err := unmarshalPublic(b[2:])
	if err != nil {
		return nil, fmt.Errorf("%w: not a TPM2B_PUBLIC (%v); %s", ErrBadEK, err, exportHint)
	}
	ek, err := checkPublic(pub)
	if err != nil {
		return nil, err
	}
	ek.TPM2BPublic = bytes.Clone(b)
	ek.Standard = bytes.Equal(b, StandardEK(ek.Modulus))
	return ek, nil
}

// unmarshalPublic decodes a TPMT_PUBLIC that must fill body exactly. go-tpm does not report
// unread bytes, so the result is marshaled again: any difference means trailing data or an
// encoding go-tpm would not produce, and the key is rejected rather than guessed at.
func unmarshalPublic(body []byte) (pub *tpm2.TPMTPublic, err error) {
	// go-tpm's reflection-based codec is not written for hostile input; a panic in it must
	// become an error, never bring down the scanner.
	defer func() {
		if r := recover(); r != nil {
			pub, err = nil, fmt.Errorf("undecodable public area")
		}
	}()
	pub, err = tpm2.Unmarshal[tpm2.TPMTPublic](body)
	if err != nil {
		return nil, fmt.Errorf("truncated or undecodable public area")
	}
	again := tpm2.Marshal(*pub)
	switch {
	case len(again) < len(body):
		return nil, fmt.Errorf("%d bytes of trailing data after the public area", len(body)-len(again))
	case !bytes.Equal(again, body):
		return nil, fmt.Errorf("non-canonical public area")
	}
	return pub, nil
}

// checkPublic applies the rules DPS and the TPM specification set for an EK used in TPM
// attestation: DPS encrypts the activation secret to it (ActivateCredential), which needs an
// RSA restricted decryption key with a symmetric scheme; DPS only handles RSA-2048 and SHA-256.
func checkPublic(pub *tpm2.TPMTPublic) (*EK, error) {
	switch pub.Type {
	case tpm2.TPMAlgRSA:
	case tpm2.TPMAlgECC:
		return nil, fmt.Errorf("%w: it is an ECC key; DPS TPM attestation needs the RSA-2048 EK: %s", ErrBadEK, exportHint)
	default:
		return nil, fmt.Errorf("%w: key type 0x%04X is not RSA; %s", ErrBadEK, uint16(pub.Type), exportHint)
	}
	if pub.NameAlg != tpm2.TPMAlgSHA256 {
		return nil, fmt.Errorf("%w: name algorithm 0x%04X, DPS needs SHA-256 (0x000B); use the TCG default EK template", ErrBadEK, uint16(pub.NameAlg))
	}
	a := pub.ObjectAttributes
	if !a.Restricted || !a.Decrypt || a.SignEncrypt {
		return nil, fmt.Errorf("%w: not a restricted decryption key (attributes 0x%08X); this is not an endorsement key, %s",
			ErrBadEK, attributes(pub), exportHint)
	}
	// An EK never leaves its TPM and was made inside it: a key that could be duplicated to
	// another TPM, or imported, proves nothing about the device.
	if !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin {
		return nil, fmt.Errorf("%w: a key that can leave its TPM or was made outside it (attributes 0x%08X: fixedTPM, fixedParent "+
			"and sensitiveDataOrigin must all be set); this is not an endorsement key, %s", ErrBadEK, attributes(pub), exportHint)
	}
	params, err := pub.Parameters.RSADetail()
	if err != nil {
		return nil, fmt.Errorf("%w: missing RSA parameters", ErrBadEK)
	}
	if params.KeyBits != 2048 {
		return nil, fmt.Errorf("%w: RSA-%d, DPS needs RSA-2048", ErrBadEK, params.KeyBits)
	}
	if params.Symmetric.Algorithm == tpm2.TPMAlgNull {
		return nil, fmt.Errorf("%w: no symmetric algorithm, which a restricted decryption key must have", ErrBadEK)
	}
	if params.Scheme.Scheme != tpm2.TPMAlgNull {
		return nil, fmt.Errorf("%w: RSA scheme 0x%04X, a restricted decryption key must have none", ErrBadEK, uint16(params.Scheme.Scheme))
	}
	if e := params.Exponent; e != 0 && (e < 3 || e%2 == 0) {
		return nil, fmt.Errorf("%w: public exponent %d is not a valid RSA exponent", ErrBadEK, e)
	}
	unique, err := pub.Unique.RSA()
	if err != nil {
		return nil, fmt.Errorf("%w: missing RSA modulus", ErrBadEK)
	}
	n := unique.Buffer
	if len(n) != ModulusLen {
		return nil, fmt.Errorf("%w: %d-byte modulus, RSA-2048 needs %d", ErrBadEK, len(n), ModulusLen)
	}
	// A real 2048-bit modulus is odd and has its top bit set; anything else is damage.
	if n[0]&0x80 == 0 || n[len(n)-1]&1 == 0 {
		return nil, fmt.Errorf("%w: the modulus is not a 2048-bit RSA modulus", ErrBadEK)
	}
	return &EK{Modulus: bytes.Clone(n), Exponent: params.Exponent}, nil
}

// attributes returns the TPMA_OBJECT bits as the TPM marshals them, for messages.
func attributes(pub *tpm2.TPMTPublic) uint32 {
	b := tpm2.Marshal(pub.ObjectAttributes)
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}
