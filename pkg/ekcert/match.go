package ekcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// ErrKeyMismatch is returned by MatchEK when the certificate certifies another key than the EK:
// the EK was regenerated (a new endorsement seed) after its maker certified it, or the
// certificate belongs to another TPM.
var ErrKeyMismatch = errors.New("the EK certificate certifies another key than the TPM's EK")

// MatchEK checks that the certificate's public key is exactly the EK, given as its TPM2B_PUBLIC
// (size prefix included): the same RSA modulus and exponent, or the same curve and point.
func (c *Certificate) MatchEK(tpm2bPublic []byte) error {
	ek, err := ekPublicKey(tpm2bPublic)
	if err != nil {
		return err
	}
	if !sameKey(c.X509.PublicKey, ek) {
		return fmt.Errorf("%w: the EK was regenerated since its maker certified it, or the certificate is another TPM's; "+
			"a verifier will refuse this certificate for this EK", ErrKeyMismatch)
	}
	return nil
}

func sameKey(cert, ek crypto.PublicKey) bool {
	switch k := cert.(type) {
	case *rsa.PublicKey:
		e, ok := ek.(*rsa.PublicKey)
		return ok && k.Equal(e)
	case *ecdsa.PublicKey:
		e, ok := ek.(*ecdsa.PublicKey)
		return ok && k.Equal(e)
	}
	return false
}

// ekPublicKey decodes a TPM2B_PUBLIC into an RSA or ECDSA public key.
func ekPublicKey(b []byte) (key crypto.PublicKey, err error) {
	if len(b) < 2 || int(binary.BigEndian.Uint16(b)) != len(b)-2 {
		return nil, errors.New("the EK is not a TPM2B_PUBLIC: its size prefix does not match its length")
	}
	// go-tpm's reflection-based decoder is not written for hostile input.
	defer func() {
		if r := recover(); r != nil {
			key, err = nil, errors.New("the EK is not a decodable TPM2B_PUBLIC")
		}
	}()
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b[2:])
	if err != nil {
		return nil, fmt.Errorf("the EK is not a decodable TPM2B_PUBLIC: %v", err)
	}
	key, err = tpm2.Pub(*pub)
	if err != nil {
		return nil, fmt.Errorf("the EK's public key: %v", err)
	}
	return key, nil
}
