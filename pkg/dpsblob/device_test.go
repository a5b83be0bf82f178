package dpsblob

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// A software stand-in for the device's TPM: it undoes what Build does with the private halves of
// an EK and an SRK, following TPM 2.0 Part 1 (credential protection, duplication wrappers), so
// that the blob's cryptography is checked without a TPM. The TPM itself checks it in package tpm.

// testTPM is an RSA-2048 EK and SRK with their TPM2B_PUBLIC areas.
type testTPM struct {
	ek, srk       *rsa.PrivateKey
	ekPub, srkPub []byte
}

var (
	testTPMs     [2]*testTPM
	testTPMsOnce sync.Once
)

// tpms returns two distinct test TPMs, generated once per test process.
func tpms(t testing.TB) [2]*testTPM {
	t.Helper()
	testTPMsOnce.Do(func() {
		for i := range testTPMs {
			testTPMs[i] = newTestTPM()
		}
	})
	return testTPMs
}

func newTestTPM() *testTPM {
	ek, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	srk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &testTPM{
		ek: ek, srk: srk,
		ekPub:  rsaPublic(tpm2.RSAEKTemplate, ek),
		srkPub: rsaPublic(tpm2.RSASRKTemplate, srk),
	}
}

// rsaPublic returns the TPM2B_PUBLIC of k made from tmpl, as a TPM reports it.
func rsaPublic(tmpl tpm2.TPMTPublic, k *rsa.PrivateKey) []byte {
	tmpl.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()})
	return tpm2.Marshal(tpm2.New2B(tmpl))
}

// name returns the Name of a TPM2B_PUBLIC.
func name(t testing.TB, b []byte) []byte {
	t.Helper()
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b[2:])
	if err != nil {
		t.Fatal(err)
	}
	n, err := tpm2.ObjectName(pub)
	if err != nil {
		t.Fatal(err)
	}
	return n.Buffer
}

// importKey does in software what the device's TPM does with a blob: ActivateCredential with the
// EK and the SRK's Name, then Import under the SRK. It returns the HMAC key.
func (d *testTPM) importKey(t testing.TB, blob []byte) ([]byte, error) {
	t.Helper()
	b, err := Parse(blob)
	if err != nil {
		return nil, err
	}
	innerKey, err := unwrapOuter(d.ek, "IDENTITY", b.CredentialSecret, b.CredentialBlob, name(t, d.srkPub))
	if err != nil {
		return nil, fmt.Errorf("activating the credential: %w", err)
	}
	credential, err := tpm2.Unmarshal[tpm2.TPM2BDigest](innerKey)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	keyName, err := tpm2.ObjectName(&b.Public)
	if err != nil {
		return nil, err
	}
	inner, err := unwrapOuter(d.srk, "DUPLICATE", b.DuplicateSeed, b.Duplicate, keyName.Buffer)
	if err != nil {
		return nil, fmt.Errorf("outer wrapper: %w", err)
	}
	plain := cfbDecrypt(credential.Buffer, inner)
	integrity, err := tpm2.Unmarshal[tpm2.TPM2BDigest](plain)
	if err != nil {
		return nil, fmt.Errorf("inner integrity: %w", err)
	}
	sensitive2B := plain[2+len(integrity.Buffer):]
	want := sha256.Sum256(append(append([]byte{}, sensitive2B...), keyName.Buffer...))
	if !bytes.Equal(integrity.Buffer, want[:]) {
		return nil, errors.New("inner integrity does not match")
	}
	sensitive, err := tpm2.Unmarshal[tpm2.TPM2BSensitive](sensitive2B)
	if err != nil {
		return nil, fmt.Errorf("sensitive: %w", err)
	}
	if !bytes.Equal(tpm2.Marshal(sensitive), sensitive2B) {
		return nil, errors.New("bytes after the sensitive area")
	}
	contents, err := sensitive.Contents()
	if err != nil {
		return nil, err
	}
	key, err := contents.Sensitive.Bits()
	if err != nil {
		return nil, err
	}
	unique, err := b.Public.Unique.KeyedHash()
	if err != nil {
		return nil, err
	}
	if u := sha256.Sum256(append(append([]byte{}, contents.SeedValue.Buffer...), key.Buffer...)); !bytes.Equal(u[:], unique.Buffer) {
		return nil, errors.New("public unique does not match the sensitive area")
	}
	return key.Buffer, nil
}

// unwrapOuter recovers the seed encrypted to priv under label, checks the integrity HMAC in
// front of the ciphertext in wrapped, and returns the decrypted ciphertext (TPM 2.0 Part 1,
// 24.4 and 23.3.2.2: both protections work the same way).
func unwrapOuter(priv *rsa.PrivateKey, label string, encSeed, wrapped, name []byte) ([]byte, error) {
	seed, err := rsa.DecryptOAEP(sha256.New(), nil, priv, encSeed, []byte(label+"\x00"))
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	integrity, err := tpm2.Unmarshal[tpm2.TPM2BDigest](wrapped)
	if err != nil {
		return nil, err
	}
	enc := wrapped[2+len(integrity.Buffer):]
	mac := hmac.New(sha256.New, tpm2.KDFa(crypto.SHA256, seed, "INTEGRITY", nil, nil, 256))
	mac.Write(enc)
	mac.Write(name)
	if !hmac.Equal(mac.Sum(nil), integrity.Buffer) {
		return nil, errors.New("integrity HMAC does not match")
	}
	return cfbDecrypt(tpm2.KDFa(crypto.SHA256, seed, "STORAGE", name, nil, 128), enc), nil
}

func cfbDecrypt(key, enc []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(enc))
	cipher.NewCFBDecrypter(block, make([]byte, aes.BlockSize)).XORKeyStream(out, enc)
	return out
}
