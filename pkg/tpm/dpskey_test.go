package tpm

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/oobtpm/oob/pkg/dpsblob"
)

// These tests run the same checks on the simulator (dpskey_sim_test.go) and on swtpm
// (dpskey_swtpm_test.go): blobs are built in software with dpsblob.Build, as DPS builds them,
// and what the TPM then signs is compared with crypto/hmac under the key put in the blob.

// persistentHandles lists dev's persistent handles through dev itself.
func persistentHandles(t testing.TB, dev *TPM) []uint32 { return handles(t, dev, 0x81000000) }

// checkNothingLoaded checks that no transient object or session was left in the TPM: with no
// resource manager in between, as here, what a command sequence leaves stays until a reboot.
func checkNothingLoaded(t testing.TB, dev *TPM) {
	t.Helper()
	for _, first := range []uint32{0x80000000, 0x02000000, 0x03000000} {
		if hs := handles(t, dev, first); len(hs) != 0 {
			t.Errorf("left loaded: %x", hs)
		}
	}
}

// handles lists the TPM's handles of the type of first.
func handles(t testing.TB, dev *TPM, first uint32) []uint32 {
	t.Helper()
	rsp, err := run(ctxT(t), dev, tpm2.GetCapability{Capability: tpm2.TPMCapHandles, Property: first, PropertyCount: 64})
	if err != nil {
		t.Fatalf("GetCapability(handles): %v", err)
	}
	hs, err := rsp.CapabilityData.Data.Handles()
	if err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for _, h := range hs.Handle {
		out = append(out, uint32(h))
	}
	return out
}

// newHMACKey returns a random 32-byte key, the size DPS uses.
func newHMACKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// buildBlob builds the authenticationKey DPS would send for ek and srk carrying key.
func buildBlob(t testing.TB, ek, srk, key []byte) []byte {
	t.Helper()
	blob, err := dpsblob.Build(rand.Reader, ek, srk, key)
	if err != nil {
		t.Fatalf("dpsblob.Build: %v", err)
	}
	return blob
}

var foreign struct {
	once sync.Once
	ek   []byte
	srk  []byte
}

// foreignKeys returns an EK and an SRK of some other TPM: RSA-2048 keys from the TCG templates.
func foreignKeys(t testing.TB) (ek, srk []byte) {
	t.Helper()
	foreign.once.Do(func() {
		pub := func(tmpl tpm2.TPMTPublic) []byte {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			tmpl.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()})
			return tpm2.Marshal(tpm2.New2B(tmpl))
		}
		foreign.ek, foreign.srk = pub(ekTemplate()), pub(srkTemplate())
	})
	return foreign.ek, foreign.srk
}

// hmacSHA256 is the HMAC the TPM must compute.
func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// signData are inputs for SignHMAC around the single-command limit: a SAS token's "sr\nse", and
// data that needs an HMAC sequence.
var signData = map[string][]byte{
	"empty":                 {},
	"sas":                   []byte("scope%2Fregistrations%2Fdevice-1\n1767225600"),
	"1024 bytes":            bytes.Repeat([]byte{'a'}, 1024),
	"1025 bytes":            bytes.Repeat([]byte{'b'}, 1025),
	"3000 bytes":            bytes.Repeat([]byte("sr\nse"), 600),
	"exactly two sequences": bytes.Repeat([]byte{'c'}, 2048),
}

// checkSigns checks that dev signs every signData input exactly as crypto/hmac does under key.
func checkSigns(t *testing.T, dev *TPM, key []byte) {
	t.Helper()
	for name, data := range signData {
		got, err := dev.SignHMAC(ctxT(t), data)
		if err != nil {
			t.Fatalf("SignHMAC(%s): %v", name, err)
		}
		if want := hmacSHA256(key, data); !bytes.Equal(got, want) {
			t.Errorf("SignHMAC(%s) = %x, want %x", name, got, want)
		}
	}
}

// testDPSKey runs the import and signing checks on dev, a TPM with an EK persisted and nothing
// at DPSKeyHandle.
func testDPSKey(t *testing.T, dev *TPM) {
	ctx := ctxT(t)
	id, err := dev.Identity(ctx)
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	if _, err := dev.SignHMAC(ctx, []byte("sr\nse")); !errors.Is(err, ErrNoDPSKey) ||
		!strings.Contains(err.Error(), "must register with DPS first") {
		t.Fatalf("SignHMAC before any import: got %v, want ErrNoDPSKey saying to register first", err)
	}
	before := persistentHandles(t, dev)

	first := newHMACKey(t)
	if err := dev.ImportDPSKey(ctx, buildBlob(t, id.EndorsementKey, id.StorageRootKey, first)); err != nil {
		t.Fatalf("ImportDPSKey: %v", err)
	}
	withKey := persistentHandles(t, dev)
	if want := slices.Sorted(slices.Values(append(slices.Clone(before), DPSKeyHandle))); !slices.Equal(withKey, want) {
		t.Fatalf("persistent handles after import %x, want %x", withKey, want)
	}
	checkSigns(t, dev, first)
	checkNothingLoaded(t, dev)

	second := newHMACKey(t)
	if err := dev.ImportDPSKey(ctx, buildBlob(t, id.EndorsementKey, id.StorageRootKey, second)); err != nil {
		t.Fatalf("ImportDPSKey of a second key: %v", err)
	}
	if got := persistentHandles(t, dev); !slices.Equal(got, withKey) {
		t.Errorf("persistent handles after the second import %x, want %x", got, withKey)
	}
	checkSigns(t, dev, second)

	t.Run("refused", func(t *testing.T) {
		testRefusedBlobs(t, dev, id.EndorsementKey, id.StorageRootKey, second)
	})
}

// testRefusedBlobs checks that blobs that are not for dev, or damaged, are refused with a clear
// error and change nothing: the same persistent handles, the same key signing.
func testRefusedBlobs(t *testing.T, dev *TPM, ek, srk, current []byte) {
	otherEK, otherSRK := foreignKeys(t)
	good := buildBlob(t, ek, srk, newHMACKey(t))
	flipped := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	parsed, err := dpsblob.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	// Offsets of one byte inside the encrypted credential and inside the duplicate's ciphertext.
	inCredential := 2 + len(parsed.CredentialBlob) - 1
	inDuplicate := 2 + len(parsed.CredentialBlob) + 2 + len(parsed.CredentialSecret) + 2 + len(parsed.Duplicate) - 1
	for _, tc := range []struct {
		name string
		blob []byte
		kind error
		say  string
	}{
		{name: "for another EK", blob: buildBlob(t, otherEK, srk, newHMACKey(t)), kind: ErrBlobNotForThisTPM,
			say: "recovering the credential with the endorsement key: the TPM refused the authenticationKey"},
		{name: "for another SRK", blob: buildBlob(t, ek, otherSRK, newHMACKey(t)), kind: ErrBlobNotForThisTPM,
			say: "made it for another TPM's endorsement key or storage root key"},
		{name: "credential damaged", blob: flipped(inCredential), kind: ErrBlobNotForThisTPM, say: "or it was damaged on the way"},
		{name: "duplicate damaged", blob: flipped(inDuplicate), kind: ErrBlobNotForThisTPM,
			say: "importing the DPS key under the storage root key: the TPM refused"},
		{name: "truncated", blob: good[:len(good)-40], kind: ErrBadBlob, say: "the authenticationKey from DPS is malformed"},
		{name: "empty", blob: nil, kind: ErrBadBlob, say: "malformed"},
		{name: "trailing garbage", blob: append(bytes.Clone(good), 1, 2, 3), kind: ErrBadBlob, say: "after item 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := persistentHandles(t, dev)
			err := dev.ImportDPSKey(ctxT(t), tc.blob)
			t.Log(err)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), "tpm: ") || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("message %q does not say %q", err, tc.say)
			}
			if after := persistentHandles(t, dev); !slices.Equal(after, before) {
				t.Errorf("persistent handles changed from %x to %x", before, after)
			}
			checkNothingLoaded(t, dev)
			got, err := dev.SignHMAC(ctxT(t), []byte("sr\nse"))
			if err != nil || !bytes.Equal(got, hmacSHA256(current, []byte("sr\nse"))) {
				t.Errorf("after the refusal the key signs %x, %v; want the previous key's HMAC", got, err)
			}
		})
	}
}
