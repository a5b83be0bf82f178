package identity

import (
	"bytes"
	"encoding/base64"
	"os"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// vectorEK returns the EK of the named golden vector.
func vectorEK(t testing.TB, name string) []byte {
	t.Helper()
	for _, v := range loadVectors(t) {
		if v.Name == name {
			return v.identity(t).EndorsementKey
		}
	}
	t.Fatalf("no vector %q", name)
	return nil
}

// standardTestEK is an EK the reference simulator made from the TCG default template.
func standardTestEK(t testing.TB) []byte { return vectorEK(t, "standard-ek") }

// eccTestEK is the simulator's ECC P-256 EK, which DPS cannot use.
func eccTestEK(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/ek-ecc.b64")
	if err != nil {
		t.Fatal(err)
	}
	ek, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil {
		t.Fatal(err)
	}
	return ek
}

// ekWith returns the standard test EK with mutate applied to its public area.
func ekWith(t testing.TB, mutate func(pub *tpm2.TPMTPublic, rsa *tpm2.TPMSRSAParms, n *tpm2.TPM2BPublicKeyRSA)) []byte {
	t.Helper()
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](standardTestEK(t)[2:])
	if err != nil {
		t.Fatal(err)
	}
	params, err := pub.Parameters.RSADetail()
	if err != nil {
		t.Fatal(err)
	}
	n, err := pub.Unique.RSA()
	if err != nil {
		t.Fatal(err)
	}
	n.Buffer = bytes.Clone(n.Buffer)
	mutate(pub, params, n)
	return tpm2.Marshal(tpm2.New2B(*pub))
}
