package dpsblob

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// hmacKey returns a fresh random 32-byte HMAC key, the size DPS uses.
func hmacKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// build builds a blob for d with key, failing the test on error.
func build(t testing.TB, d *testTPM, key []byte) []byte {
	t.Helper()
	blob, err := Build(rand.Reader, d.ekPub, d.srkPub, key)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return blob
}

func TestBuildGivesTheKeyToItsTPMOnly(t *testing.T) {
	d := tpms(t)
	key := hmacKey(t)
	blob := build(t, d[0], key)
	got, err := d[0].importKey(t, blob)
	if err != nil {
		t.Fatalf("the TPM it was built for cannot import it: %v", err)
	}
	if !bytes.Equal(got, key) {
		t.Fatalf("imported key %x, want %x", got, key)
	}
	if _, err := d[1].importKey(t, blob); err == nil {
		t.Errorf("another TPM imported it")
	}
	// The credential is bound to the SRK's Name: the right EK with another SRK fails too.
	mixed := &testTPM{ek: d[0].ek, ekPub: d[0].ekPub, srk: d[1].srk, srkPub: d[1].srkPub}
	if _, err := mixed.importKey(t, blob); err == nil || !strings.Contains(err.Error(), "activating the credential") {
		t.Errorf("a TPM with the same EK and another SRK: got %v, want the credential refused", err)
	}
}

func TestBuildLayout(t *testing.T) {
	d := tpms(t)[0]
	blob := build(t, d, hmacKey(t))
	b, err := Parse(blob)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	// Item 6 is present and empty: the last two bytes are its zero size.
	if !bytes.HasSuffix(blob, []byte{0, 0}) || b.EncryptedURI == nil || len(b.EncryptedURI) != 0 {
		t.Errorf("blob ends % x, URI data %v; want an empty item 6", blob[len(blob)-2:], b.EncryptedURI)
	}
	// Credential: 32-byte HMAC, then the encrypted TPM2B_DIGEST of the 16-byte inner key.
	if len(b.CredentialBlob) != 2+32+2+16 {
		t.Errorf("credential blob of %d bytes, want 52", len(b.CredentialBlob))
	}
	pub := tpm2.Marshal(b.Public)
	if got := binary.BigEndian.Uint32(pub[4:8]); got != 0x00040440 {
		t.Errorf("attributes 0x%08x, want 0x00040440", got)
	}
	// PolicyCommandCode(TPM_CC_Duplicate) = SHA-256(32 zero bytes ‖ 0000016c ‖ 0000014b).
	if got := hex.EncodeToString(b.Public.AuthPolicy.Buffer); got != "bef56b8c1cc84e11edd717528d2cd99356bd2bbf8f015209c3f84aeeaba8e8a2" {
		t.Errorf("authPolicy %s, want PolicyCommandCode(TPM_CC_Duplicate)", got)
	}
	// type KEYEDHASH, nameAlg SHA-256, attributes, 32-byte policy, scheme HMAC SHA-256, 32-byte unique.
	if want := "0008000b00040440"; hex.EncodeToString(pub[:8]) != want {
		t.Errorf("public area starts %x, want %s", pub[:8], want)
	}
	if want := "0005000b0020"; hex.EncodeToString(pub[42:48]) != want {
		t.Errorf("scheme and unique size %x, want %s", pub[42:48], want)
	}
	if !bytes.Equal(b.Bytes(), blob) {
		t.Errorf("Bytes differs from the blob parsed")
	}
}

func TestBuildRejects(t *testing.T) {
	d := tpms(t)[0]
	signingTemplate := tpm2.RSASRKTemplate
	signingTemplate.ObjectAttributes.Decrypt, signingTemplate.ObjectAttributes.SignEncrypt = false, true
	signing := rsaPublic(signingTemplate, d.srk)
	for _, tc := range []struct {
		name    string
		ek, srk []byte
		key     []byte
		rand    io.Reader
		say     string
	}{
		{name: "EK without size prefix", ek: d.ekPub[2:], srk: d.srkPub, key: make([]byte, 32), say: fmt.Sprintf("endorsement key of %d bytes is not a TPM2B_PUBLIC", len(d.ekPub)-2)},
		{name: "SRK a signing key", ek: d.ekPub, srk: signing, key: make([]byte, 32), say: "storage root key: not a restricted decryption key"},
		{name: "SRK garbage", ek: d.ekPub, srk: []byte{0, 3, 1, 2, 3}, key: make([]byte, 32), say: "storage root key: does not parse"},
		{name: "empty HMAC key", ek: d.ekPub, srk: d.srkPub, say: "HMAC key of 0 bytes"},
		{name: "long HMAC key", ek: d.ekPub, srk: d.srkPub, key: make([]byte, 65), say: "HMAC key of 65 bytes, want 1 to 64"},
		{name: "randomness runs out", ek: d.ekPub, srk: d.srkPub, key: make([]byte, 32), rand: bytes.NewReader(make([]byte, 20)), say: "reading randomness"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rand
			if r == nil {
				r = rand.Reader
			}
			_, err := Build(r, tc.ek, tc.srk, tc.key)
			if err == nil || !strings.HasPrefix(err.Error(), "dpsblob: ") || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("got %v, want an error saying %q", err, tc.say)
			}
		})
	}
}

// items splits a well-formed blob into its items, size prefixes included.
func items(t testing.TB, blob []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(blob) > 0 {
		n := 2 + int(binary.BigEndian.Uint16(blob))
		out, blob = append(out, blob[:n]), blob[n:]
	}
	return out
}

// join concatenates items.
func join(items ...[]byte) []byte { return bytes.Join(items, nil) }

// with2B returns an item with new contents and the matching size prefix.
func with2B(contents []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(contents))), contents...)
}

func TestParseRejects(t *testing.T) {
	blob := build(t, tpms(t)[0], hmacKey(t))
	it := items(t, blob)
	if len(it) != 6 {
		t.Fatalf("%d items, want 6", len(it))
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](it[4][2:])
	if err != nil {
		t.Fatal(err)
	}
	publicWith := func(change func(p *tpm2.TPMTPublic)) []byte {
		p := *pub
		change(&p)
		return tpm2.Marshal(tpm2.New2B(p))
	}
	sizeTooBig := bytes.Clone(it[2])
	binary.BigEndian.PutUint16(sizeTooBig, uint16(len(it[2])+5))

	for _, tc := range []struct {
		name string
		blob []byte
		say  string
	}{
		{name: "empty", blob: nil, say: "empty"},
		{name: "one byte", blob: []byte{0}, say: "item 1 (credential blob, TPM2B_ID_OBJECT): 1 byte left"},
		{name: "only the credential", blob: join(it[0], it[1]), say: "item 3 (duplicated key, TPM2B_PRIVATE): missing"},
		{name: "no public area", blob: join(it[:4]...), say: "item 5 (key public area, TPM2B_PUBLIC): missing"},
		{name: "cut inside the public area", blob: blob[:len(blob)-10], say: "item 5 (key public area, TPM2B_PUBLIC): size prefix says"},
		{name: "size prefix past the end", blob: join(it[0], it[1], sizeTooBig), say: "item 3 (duplicated key, TPM2B_PRIVATE): size prefix says"},
		{name: "trailing bytes", blob: append(bytes.Clone(blob), 0, 0), say: "trailing data (2 bytes) after item 6, the last"},
		{name: "trailing byte", blob: append(bytes.Clone(blob), 7), say: "trailing data (1 bytes) after item 6"},
		{name: "credential secret short", blob: join(it[0], with2B(it[1][3:]), it[2], it[3], it[4], it[5]), say: "item 2 (credential secret, TPM2B_ENCRYPTED_SECRET): 255 bytes, want 256"},
		{name: "duplication seed empty", blob: join(it[0], it[1], it[2], with2B(nil), it[4], it[5]), say: "item 4 (duplication seed, TPM2B_ENCRYPTED_SECRET): 0 bytes"},
		{name: "credential blob without HMAC", blob: join(with2B([]byte{0}), it[1], it[2], it[3], it[4], it[5]), say: "item 1 (credential blob, TPM2B_ID_OBJECT): too short (1 bytes)"},
		{name: "credential HMAC of 20 bytes", blob: join(with2B(append([]byte{0, 20}, make([]byte, 40)...)), it[1], it[2], it[3], it[4], it[5]), say: "integrity HMAC of 20 bytes, want 32"},
		{name: "duplicate with nothing encrypted", blob: join(it[0], it[1], with2B(it[2][2:2+34]), it[3], it[4], it[5]), say: "item 3 (duplicated key, TPM2B_PRIVATE): nothing encrypted"},
		{name: "public garbage", blob: join(it[0], it[1], it[2], it[3], with2B([]byte{0, 8, 0}), it[5]), say: "item 5 (key public area, TPM2B_PUBLIC): does not parse"},
		{name: "public trailing byte", blob: join(it[0], it[1], it[2], it[3], with2B(append(bytes.Clone(it[4][2:]), 0)), it[5]), say: "trailing or non-canonical"},
		{name: "public an RSA key", blob: join(it[0], it[1], it[2], it[3], tpms(t)[0].srkPub, it[5]), say: "type 0x0001, want KEYEDHASH"},
		{name: "key fixedTPM", blob: join(it[0], it[1], it[2], it[3], publicWith(func(p *tpm2.TPMTPublic) { p.ObjectAttributes.FixedTPM = true }), it[5]), say: "attributes 0x00040442, want sign|userWithAuth|noDA (0x00040440)"},
		{name: "key nameAlg SHA-1", blob: join(it[0], it[1], it[2], it[3], publicWith(func(p *tpm2.TPMTPublic) { p.NameAlg = tpm2.TPMAlgSHA1 }), it[5]), say: "nameAlg 0x0004, want SHA-256"},
		{name: "key scheme XOR", blob: join(it[0], it[1], it[2], it[3], publicWith(func(p *tpm2.TPMTPublic) {
			p.Parameters = tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{Scheme: tpm2.TPMTKeyedHashScheme{
				Scheme: tpm2.TPMAlgXOR, Details: tpm2.NewTPMUSchemeKeyedHash(tpm2.TPMAlgXOR, &tpm2.TPMSSchemeXOR{HashAlg: tpm2.TPMAlgSHA256, KDF: tpm2.TPMAlgKDF1SP800108})}})
		}), it[5]), say: "scheme 0x000a, want HMAC"},
		{name: "key HMAC with SHA-384", blob: join(it[0], it[1], it[2], it[3], publicWith(func(p *tpm2.TPMTPublic) {
			p.Parameters = tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{Scheme: tpm2.TPMTKeyedHashScheme{
				Scheme: tpm2.TPMAlgHMAC, Details: tpm2.NewTPMUSchemeKeyedHash(tpm2.TPMAlgHMAC, &tpm2.TPMSSchemeHMAC{HashAlg: tpm2.TPMAlgSHA384})}})
		}), it[5]), say: "HMAC hash 0x000c, want SHA-256"},
		{name: "key unique short", blob: join(it[0], it[1], it[2], it[3], publicWith(func(p *tpm2.TPMTPublic) {
			p.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgKeyedHash, &tpm2.TPM2BDigest{Buffer: make([]byte, 20)})
		}), it[5]), say: "unique field of 20 bytes, want 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Parse(tc.blob)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, %v; want ErrMalformed", b, err)
			}
			if !strings.HasPrefix(err.Error(), "dpsblob: malformed authenticationKey: ") || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("message %q does not say %q", err, tc.say)
			}
		})
	}
}

func TestParseURIItemOptional(t *testing.T) {
	blob := build(t, tpms(t)[0], hmacKey(t))
	it := items(t, blob)
	for _, tc := range []struct {
		name string
		blob []byte
		want []byte
	}{
		{name: "absent", blob: join(it[:5]...), want: nil},
		{name: "empty", blob: blob, want: []byte{}},
		{name: "data", blob: join(append(it[:5:5], with2B([]byte("encrypted uri")))...), want: []byte("encrypted uri")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Parse(tc.blob)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.EncryptedURI, tc.want) || (b.EncryptedURI == nil) != (tc.want == nil) {
				t.Errorf("URI data %q, want %q", b.EncryptedURI, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	d := tpms(f)[0]
	blob := build(f, d, hmacKey(f))
	f.Add(blob)
	for _, n := range []int{0, 1, 2, 60, 300, len(blob) / 2, len(blob) - 60, len(blob) - 2, len(blob) - 1} {
		f.Add(blob[:n])
	}
	f.Add(append(bytes.Clone(blob), 1, 2, 3))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := Parse(in)
		if err != nil {
			if b != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with a result, or not ErrMalformed", err)
			}
			return
		}
		// What parses is exactly what Bytes writes back, item 6 added when it was absent.
		out := b.Bytes()
		if !bytes.Equal(out, in) && !bytes.Equal(out, append(bytes.Clone(in), 0, 0)) {
			t.Fatalf("Bytes differs from the input")
		}
		if err := checkKey(&b.Public); err != nil {
			t.Fatalf("accepted a public area that is not the HMAC key: %v", err)
		}
	})
}
