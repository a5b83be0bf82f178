package tpm

import (
	"math/big"

	"github.com/google/go-tpm/tpm2"
)

// ekModulus returns the RSA modulus of an EK's TPM2B_PUBLIC.
func ekModulus(ek []byte) (*big.Int, error) {
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ek[2:])
	if err != nil {
		return nil, err
	}
	n, err := pub.Unique.RSA()
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(n.Buffer), nil
}
