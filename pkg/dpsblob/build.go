package dpsblob

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/google/go-tpm/tpm2"
)

// Sizes of what Build makes up or accepts.
const (
	// innerKeySize is the size of the inner wrapper's AES-128 key, the credential.
	innerKeySize = 16
	// maxHMACKeySize is the largest HMAC key Build takes: SHA-256's block size, beyond which
	// HMAC would hash the key first and a TPM refuses it.
	maxHMACKeySize = 64
)

// Build makes the authenticationKey blob that gives the TPM with endorsement key ekPub and storage
// root key srkPub the HMAC key hmacKey, as DPS does for a registering device. ekPub and srkPub are
// TPM2B_PUBLIC areas, size prefix included, as an enrollment holds them; both must be RSA-2048
// restricted decryption keys with AES-128-CFB, as the TCG templates make them. rand supplies every
// random value: the inner wrapper's key, the key's obfuscation value and both encrypted seeds.
func Build(rand io.Reader, ekPub, srkPub, hmacKey []byte) ([]byte, error) {
	ek, _, err := storageKey("endorsement key", ekPub)
	if err != nil {
		return nil, err
	}
	srk, srkName, err := storageKey("storage root key", srkPub)
	if err != nil {
		return nil, err
	}
	if len(hmacKey) == 0 || len(hmacKey) > maxHMACKeySize {
		return nil, fmt.Errorf("dpsblob: HMAC key of %d bytes, want 1 to %d", len(hmacKey), maxHMACKeySize)
	}
	innerKey, err := random(rand, innerKeySize)
	if err != nil {
		return nil, err
	}
	seed, err := random(rand, sha256.Size)
	if err != nil {
		return nil, err
	}

	pub := keyPublic(hmacKey, seed)
	name, err := tpm2.ObjectName(&pub)
	if err != nil {
		return nil, fmt.Errorf("dpsblob: the key's name: %w", err)
	}
	sensitive := tpm2.Marshal(tpm2.New2B(tpm2.TPMTSensitive{
		SensitiveType: tpm2.TPMAlgKeyedHash,
		SeedValue:     tpm2.TPM2BDigest{Buffer: seed},
		Sensitive:     tpm2.NewTPMUSensitiveComposite(tpm2.TPMAlgKeyedHash, &tpm2.TPM2BSensitiveData{Buffer: hmacKey}),
	}))
	inner, err := innerWrap(innerKey, sensitive, name.Buffer)
	if err != nil {
		return nil, err
	}
	duplicate, dupSeed, err := outerWrap(rand, srk, name.Buffer, inner)
	if err != nil {
		return nil, err
	}
	credBlob, credSecret, err := tpm2.CreateCredential(rand, ek, srkName, innerKey)
	if err != nil {
		return nil, fmt.Errorf("dpsblob: making the credential for the endorsement key: %w", err)
	}
	b := Blob{
		CredentialBlob:   credBlob,
		CredentialSecret: credSecret,
		Duplicate:        duplicate,
		DuplicateSeed:    dupSeed,
		Public:           pub,
	}
	return b.Bytes(), nil
}

// storageKey parses a TPM2B_PUBLIC that secrets are encrypted to, and returns it as go-tpm's
// encapsulation key along with its Name. what names the key in errors.
func storageKey(what string, b []byte) (tpm2.LabeledEncapsulationKey, []byte, error) {
	if len(b) < 2 || int(binary.BigEndian.Uint16(b)) != len(b)-2 {
		return nil, nil, fmt.Errorf("dpsblob: %s of %d bytes is not a TPM2B_PUBLIC: its size prefix does not match", what, len(b))
	}
	pub, err := unmarshalPublic(b[2:])
	if err != nil {
		return nil, nil, fmt.Errorf("dpsblob: %s: %w", what, err)
	}
	if err := checkStorageKey(pub); err != nil {
		return nil, nil, fmt.Errorf("dpsblob: %s: %w", what, err)
	}
	kem, err := tpm2.ImportEncapsulationKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("dpsblob: %s: %w", what, err)
	}
	name, err := tpm2.ObjectName(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("dpsblob: %s's name: %w", what, err)
	}
	return kem, name.Buffer, nil
}

// unmarshalPublic parses a TPMT_PUBLIC that must marshal back to exactly b.
func unmarshalPublic(b []byte) (pub *tpm2.TPMTPublic, err error) {
	// go-tpm unmarshals by reflection; a panic on hostile input becomes an error.
	defer func() {
		if r := recover(); r != nil {
			pub, err = nil, fmt.Errorf("does not parse: %v", r)
		}
	}()
	pub, err = tpm2.Unmarshal[tpm2.TPMTPublic](b)
	if err != nil {
		return nil, fmt.Errorf("does not parse: %v", err)
	}
	if !bytes.Equal(tpm2.Marshal(pub), b) {
		return nil, errors.New("trailing or non-canonical bytes")
	}
	return pub, nil
}

// checkStorageKey checks that pub is an RSA-2048 restricted decryption key with AES-128-CFB,
// nameAlg SHA-256: the wrappers are made for exactly that.
func checkStorageKey(pub *tpm2.TPMTPublic) error {
	if pub.Type != tpm2.TPMAlgRSA || pub.NameAlg != tpm2.TPMAlgSHA256 {
		return fmt.Errorf("type 0x%04x, nameAlg 0x%04x; want RSA with SHA-256", uint16(pub.Type), uint16(pub.NameAlg))
	}
	a := pub.ObjectAttributes
	if !a.Restricted || !a.Decrypt || a.SignEncrypt {
		return errors.New("not a restricted decryption key")
	}
	rsa, err := pub.Parameters.RSADetail()
	if err != nil {
		return fmt.Errorf("unreadable RSA parameters: %w", err)
	}
	if rsa.KeyBits != 2048 {
		return fmt.Errorf("RSA-%d, want RSA-2048", rsa.KeyBits)
	}
	bits, errBits := rsa.Symmetric.KeyBits.AES()
	mode, errMode := rsa.Symmetric.Mode.AES()
	if rsa.Symmetric.Algorithm != tpm2.TPMAlgAES || errBits != nil || errMode != nil || *bits != 128 || *mode != tpm2.TPMAlgCFB {
		return errors.New("its symmetric algorithm is not AES-128-CFB")
	}
	return nil
}

// innerWrap applies the inner duplication wrapper (TPM 2.0 Part 1, 23.3.2.3): an integrity
// digest over the TPM2B_SENSITIVE and the key's Name goes in front of it, and both are encrypted
// with AES-CFB under key, the IV zero.
func innerWrap(key, sensitive, name []byte) ([]byte, error) {
	h := sha256.New()
	h.Write(sensitive)
	h.Write(name)
	plain := tpm2.Marshal(tpm2.TPM2BDigest{Buffer: h.Sum(nil)})
	return cfbEncrypt(key, append(plain, sensitive...))
}

// outerWrap applies the outer duplication wrapper (TPM 2.0 Part 1, 23.3.2.2) for the new parent:
// a seed encrypted to the parent yields, through KDFa, an AES key that encrypts the inner-wrapped
// data (labelled "STORAGE", bound to the key's Name) and an HMAC key (labelled "INTEGRITY") whose
// HMAC over the ciphertext and Name goes in front. It returns TPM2_Import's duplicate and
// inSymSeed.
func outerWrap(rand io.Reader, parent tpm2.LabeledEncapsulationKey, name, inner []byte) (duplicate, encSeed []byte, err error) {
	seed, encSeed, err := parent.Encapsulate(rand, "DUPLICATE")
	if err != nil {
		return nil, nil, fmt.Errorf("dpsblob: encrypting the seed to the storage root key: %w", err)
	}
	hash, err := parent.NameAlg().Hash()
	if err != nil {
		return nil, nil, err
	}
	bits, err := parent.SymmetricParameters().KeyBits.AES()
	if err != nil {
		return nil, nil, err
	}
	enc, err := cfbEncrypt(tpm2.KDFa(hash, seed, "STORAGE", name, nil, int(*bits)), inner)
	if err != nil {
		return nil, nil, err
	}
	mac := hmac.New(hash.New, tpm2.KDFa(hash, seed, "INTEGRITY", nil, nil, hash.Size()*8))
	mac.Write(enc)
	mac.Write(name)
	duplicate = tpm2.Marshal(tpm2.TPM2BDigest{Buffer: mac.Sum(nil)})
	return append(duplicate, enc...), encSeed, nil
}

// cfbEncrypt encrypts plain with AES-CFB under key with a zero IV, as TPM wrappers do.
func cfbEncrypt(key, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("dpsblob: %w", err)
	}
	out := make([]byte, len(plain))
	cipher.NewCFBEncrypter(block, make([]byte, aes.BlockSize)).XORKeyStream(out, plain)
	return out, nil
}

// random reads n bytes from rand.
func random(rand io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, fmt.Errorf("dpsblob: reading randomness: %w", err)
	}
	return b, nil
}
