package tpm

import (
	"context"
	"math/big"
	"testing"
	"time"

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

// ctxT returns a context for one test's TPM work, bounded so that a hung TPM fails the test.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
