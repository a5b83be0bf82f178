// Package dpsblob builds and parses the authenticationKey blob with which Azure DPS hands a TPM
// device the HMAC key its SAS tokens are signed with.
//
// The blob is six TPM2B items, each a 2-byte big-endian size followed by that many bytes, one
// after the other with nothing between or after them:
//
//  1. TPM2B_ID_OBJECT: the credential blob of TPM2_MakeCredential (a TPM2B_DIGEST integrity HMAC,
//     then the encrypted TPM2B_DIGEST credential). The credential is the 16-byte AES-128 key of
//     the duplicate's inner wrapper; its objectName is the Name of the storage root key (SRK).
//  2. TPM2B_ENCRYPTED_SECRET: the seed protecting (1), RSA-OAEP (SHA-256, label "IDENTITY\0")
//     to the endorsement key (EK).
//  3. TPM2B_PRIVATE: the HMAC key duplicated to the SRK, inner wrapper (AES-128-CFB under the
//     credential, zero IV, over TPM2B_DIGEST(SHA-256(TPM2B_SENSITIVE ‖ Name)) ‖ TPM2B_SENSITIVE)
//     inside the outer wrapper (AES-128-CFB under KDFa(seed, "STORAGE", Name), then an HMAC
//     under KDFa(seed, "INTEGRITY") over the ciphertext ‖ Name, put in front as a TPM2B_DIGEST).
//  4. TPM2B_ENCRYPTED_SECRET: the seed of the outer wrapper, RSA-OAEP (SHA-256, label
//     "DUPLICATE\0") to the SRK.
//  5. TPM2B_PUBLIC: the HMAC key's public area: KEYEDHASH, nameAlg SHA-256, attributes
//     sign|userWithAuth|noDA (0x00040440), scheme HMAC-SHA-256, authPolicy
//     PolicyCommandCode(TPM2_Duplicate).
//  6. TPM2B: "URI data" encrypted under the credential. DPS sends it empty; some clients read it
//     unconditionally, so Build always writes it, and Parse accepts a blob that ends after (5).
//
// Name is the key's nameAlg (0x000B, SHA-256) followed by SHA-256 over its TPMT_PUBLIC.
//
// A device recovers the key with TPM2_ActivateCredential(activateHandle = SRK, keyHandle = EK)
// on (1) and (2), which yields the credential, then TPM2_Import under the SRK with the credential
// as the inner wrapper's key on (3), (4) and (5).
package dpsblob

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// ErrMalformed means a blob does not have the layout described in the package documentation;
// every error Parse returns wraps it.
var ErrMalformed = errors.New("dpsblob: malformed authenticationKey")

// Sizes the layout fixes for the RSA-2048 EK and SRK and the SHA-256 names DPS uses.
const (
	// secretSize is the size of an RSA-2048 ciphertext, items (2) and (4).
	secretSize = 256
	// digestSize is the size of the integrity HMACs in items (1) and (3), and of the key's unique.
	digestSize = 32
)

// Blob is a parsed authenticationKey: the arguments of TPM2_ActivateCredential and TPM2_Import.
// The byte slices hold the items' contents, without their size prefixes.
type Blob struct {
	// CredentialBlob is item (1): TPM2_ActivateCredential's credentialBlob.
	CredentialBlob []byte
	// CredentialSecret is item (2): TPM2_ActivateCredential's secret, encrypted to the EK.
	CredentialSecret []byte
	// Duplicate is item (3): TPM2_Import's duplicate.
	Duplicate []byte
	// DuplicateSeed is item (4): TPM2_Import's inSymSeed, encrypted to the SRK.
	DuplicateSeed []byte
	// Public is item (5): TPM2_Import's objectPublic, the HMAC key's public area.
	Public tpm2.TPMTPublic
	// EncryptedURI is item (6), nil when the blob ends after item (5).
	EncryptedURI []byte
}

// item names the items in error messages, by their position in the blob.
var item = [...]string{
	"item 1 (credential blob, TPM2B_ID_OBJECT)",
	"item 2 (credential secret, TPM2B_ENCRYPTED_SECRET)",
	"item 3 (duplicated key, TPM2B_PRIVATE)",
	"item 4 (duplication seed, TPM2B_ENCRYPTED_SECRET)",
	"item 5 (key public area, TPM2B_PUBLIC)",
	"item 6 (encrypted URI data, TPM2B)",
}

// malformed returns an ErrMalformed error about item i (0-based); msg is a format string.
func malformed(i int, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, item[i], fmt.Sprintf(format, args...))
}

// Parse splits an authenticationKey blob (base64-decoded) into its items and checks each: the
// size prefixes fit, the fixed-size parts have their sizes, the public area is the HMAC key DPS
// sends, and nothing follows the last item.
func Parse(blob []byte) (*Blob, error) {
	if len(blob) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	var items [6][]byte
	rest := blob
	n := 0
	for ; n < len(items) && len(rest) > 0; n++ {
		if len(rest) < 2 {
			return nil, malformed(n, "1 byte left where a 2-byte size prefix belongs")
		}
		size := int(binary.BigEndian.Uint16(rest))
		if size > len(rest)-2 {
			return nil, malformed(n, "size prefix says %d bytes, %d remain", size, len(rest)-2)
		}
		items[n], rest = rest[2:2+size], rest[2+size:]
	}
	switch {
	case len(rest) > 0:
		return nil, fmt.Errorf("%w: trailing data (%d bytes) after item 6, the last", ErrMalformed, len(rest))
	case n < 5:
		return nil, malformed(n, "missing: the blob ends after %d bytes", len(blob))
	}

	b := &Blob{
		CredentialBlob:   items[0],
		CredentialSecret: items[1],
		Duplicate:        items[2],
		DuplicateSeed:    items[3],
		EncryptedURI:     items[5],
	}
	if n == 6 && b.EncryptedURI == nil {
		b.EncryptedURI = []byte{}
	}
	if err := checkWrapped(0, b.CredentialBlob); err != nil {
		return nil, err
	}
	if err := checkSecret(1, b.CredentialSecret); err != nil {
		return nil, err
	}
	if err := checkWrapped(2, b.Duplicate); err != nil {
		return nil, err
	}
	if err := checkSecret(3, b.DuplicateSeed); err != nil {
		return nil, err
	}
	pub, err := parsePublic(items[4])
	if err != nil {
		return nil, malformed(4, "%v", err)
	}
	b.Public = *pub
	return b, nil
}

// checkWrapped checks the shape items (1) and (3) share: a TPM2B_DIGEST HMAC of digestSize
// bytes, then a ciphertext that is not empty.
func checkWrapped(i int, b []byte) error {
	switch {
	case len(b) < 2:
		return malformed(i, "too short (%d bytes) for its integrity HMAC", len(b))
	case binary.BigEndian.Uint16(b) != digestSize:
		return malformed(i, "integrity HMAC of %d bytes, want %d (SHA-256)", binary.BigEndian.Uint16(b), digestSize)
	case len(b) <= 2+digestSize:
		return malformed(i, "nothing encrypted after the integrity HMAC")
	}
	return nil
}

// checkSecret checks items (2) and (4), RSA-OAEP ciphertexts to RSA-2048 keys.
func checkSecret(i int, b []byte) error {
	if len(b) != secretSize {
		return malformed(i, "%d bytes, want %d (an RSA-2048 ciphertext)", len(b), secretSize)
	}
	return nil
}

// parsePublic parses item (5) and checks it is the HMAC key DPS sends.
func parsePublic(b []byte) (*tpm2.TPMTPublic, error) {
	pub, err := unmarshalPublic(b)
	if err != nil {
		return nil, err
	}
	if err := checkKey(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// Bytes returns the blob in its wire form, with item (6) always present (empty when
// EncryptedURI is nil). Each item must fit its 2-byte size prefix, as those of a parsed or built
// blob do.
func (b *Blob) Bytes() []byte {
	var out []byte
	for _, it := range [][]byte{b.CredentialBlob, b.CredentialSecret, b.Duplicate, b.DuplicateSeed, tpm2.Marshal(b.Public), b.EncryptedURI} {
		out = append2B(out, it)
	}
	return out
}

// append2B appends item with its 2-byte size prefix.
func append2B(out, item []byte) []byte {
	out = binary.BigEndian.AppendUint16(out, uint16(len(item)))
	return append(out, item...)
}
