package identity

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestVerifyAccepts(t *testing.T) {
	ek := standardTestEK(t)
	for _, id := range []Identity{
		{RegistrationID: DeriveRegistrationID(ek), EndorsementKey: ek},
		{RegistrationID: "contoso:line-3.dev_0042", EndorsementKey: ek, StorageRootKey: vectorEK(t, "non-standard-ek"), Label: "Kühlraum 3"},
	} {
		v, err := Verify(id)
		if err != nil {
			t.Fatalf("Verify(%q): %v", id.RegistrationID, err)
		}
		if v.IsZero() || v.RegistrationID() != id.RegistrationID || v.Label() != id.Label ||
			!bytes.Equal(v.EndorsementKey(), ek) || !bytes.Equal(v.StorageRootKey(), id.StorageRootKey) {
			t.Errorf("Verify(%q): accessors disagree with the identity", id.RegistrationID)
		}
	}
}

// A Verified identity stays what was checked: changing the bytes it was made from, or the
// bytes it hands out, does not change it.
func TestVerifiedIsACopy(t *testing.T) {
	ek := standardTestEK(t)
	id := Identity{RegistrationID: DeriveRegistrationID(ek), EndorsementKey: bytes.Clone(ek)}
	v, err := Verify(id)
	if err != nil {
		t.Fatal(err)
	}
	id.EndorsementKey[10] ^= 0xFF
	v.EndorsementKey()[10] ^= 0xFF
	v.Identity().EndorsementKey[10] ^= 0xFF
	if !bytes.Equal(v.EndorsementKey(), ek) {
		t.Fatal("the verified EK changed after Verify")
	}
}

// Verify refuses what Parse refuses, with the same sentinels.
func TestVerifyRejects(t *testing.T) {
	ek := standardTestEK(t)
	for _, tt := range []struct {
		name string
		id   Identity
		err  error
		want string
	}{
		{"no EK", Identity{RegistrationID: "dev-1"}, ErrBadEK, "too short"},
		{"truncated EK", Identity{RegistrationID: "dev-1", EndorsementKey: ek[:100]}, ErrBadEK, "size"},
		{"ECC EK", Identity{RegistrationID: "dev-1", EndorsementKey: eccTestEK(t)}, ErrBadEK, "ECC"},
		{"no registration ID", Identity{EndorsementKey: ek}, ErrBadRegistrationID, "empty"},
		{"registration ID DPS refuses", Identity{RegistrationID: "Dev 1", EndorsementKey: ek}, ErrBadRegistrationID, `"Dev 1"`},
		{"label with a control character", Identity{RegistrationID: "dev-1", EndorsementKey: ek, Label: "a\x1b[2J"}, ErrBadLabel, "control"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Verify(tt.id)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want an error wrapping %v that mentions %q", err, tt.err, tt.want)
			}
			if !v.IsZero() {
				t.Error("Verify returned an identity with its error")
			}
		})
	}
}
