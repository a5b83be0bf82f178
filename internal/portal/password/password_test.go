package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %q", h)
	}
	if err := Verify(h, "correct horse battery"); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := Verify(h, "correct horse batterY"); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: %v", err)
	}
	h2, _ := Hash("correct horse battery")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	if _, err := Hash("short"); !errors.Is(err, ErrTooShort) {
		t.Errorf("short password: %v", err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if err := Verify(bad, "x"); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want a malformed-hash error", bad, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5", "pw")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		_ = Verify(hash, pw) // must not panic or allocate without bound
	})
}
