package tpm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// parsePublic parses a TPM2B_PUBLIC, size prefix included, strictly: the size must cover exactly
// the rest, and the area must marshal back to the same bytes, so nothing unparsed hides in it.
func parsePublic(b []byte) (pub *tpm2.TPMTPublic, err error) {
	// go-tpm unmarshals by reflection; turn a panic on hostile input into an error.
	defer func() {
		if r := recover(); r != nil {
			pub, err = nil, fmt.Errorf("public area does not parse: %v", r)
		}
	}()
	if len(b) < 2 || int(binary.BigEndian.Uint16(b)) != len(b)-2 {
		return nil, fmt.Errorf("public area of %d bytes has a wrong size prefix", len(b))
	}
	pub, err = tpm2.Unmarshal[tpm2.TPMTPublic](b[2:])
	if err != nil {
		return nil, fmt.Errorf("public area does not parse: %w", err)
	}
	if !bytes.Equal(tpm2.Marshal(pub), b[2:]) {
		return nil, fmt.Errorf("public area has trailing or non-canonical bytes")
	}
	return pub, nil
}

// storageKeyProblem returns "" when pub is an RSA-2048 restricted decryption key, the kind both
// the EK and the SRK must be for DPS (it encrypts secrets to them with RSA-OAEP), and otherwise
// describes what pub is instead, for a message.
func storageKeyProblem(pub *tpm2.TPMTPublic) string {
	switch pub.Type {
	case tpm2.TPMAlgRSA:
		rsa, err := pub.Parameters.RSADetail()
		if err != nil {
			return "an RSA key with unreadable parameters"
		}
		if rsa.KeyBits != 2048 {
			return fmt.Sprintf("an RSA-%d key", rsa.KeyBits)
		}
		a := pub.ObjectAttributes
		if !a.Restricted || !a.Decrypt || a.SignEncrypt {
			return "an RSA-2048 key that is not a restricted decryption key"
		}
		return ""
	case tpm2.TPMAlgECC:
		ecc, err := pub.Parameters.ECCDetail()
		if err != nil {
			return "an ECC key"
		}
		return "an ECC key (" + curveName(ecc.CurveID) + ")"
	case tpm2.TPMAlgKeyedHash:
		return "a keyed-hash object"
	case tpm2.TPMAlgSymCipher:
		return "a symmetric key"
	}
	return fmt.Sprintf("an object of type 0x%04x", uint16(pub.Type))
}

// curveName names the ECC curves TPMs implement.
func curveName(c tpm2.TPMECCCurve) string {
	switch c {
	case tpm2.TPMECCNistP256:
		return "NIST P-256"
	case tpm2.TPMECCNistP384:
		return "NIST P-384"
	case tpm2.TPMECCNistP521:
		return "NIST P-521"
	case tpm2.TPMECCBNP256:
		return "BN P-256"
	case tpm2.TPMECCSM2P256:
		return "SM2 P-256"
	}
	return fmt.Sprintf("curve 0x%04x", uint16(c))
}
