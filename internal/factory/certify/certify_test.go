package certify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
)

func TestCheckGUID(t *testing.T) {
	for _, tc := range []struct {
		in, say string
	}{
		{"0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b", ""},
		{"0B7E2C1A-3F4D-4E5F-8A9B-0C1D2E3F4A5B", "DPS refuses upper case"},
		{"0b7e2c1a3f4d4e5f8a9b0c1d2e3f4a5b", "8-4-4-4-12"},
		{"0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5g", "8-4-4-4-12"},
		{"0b7e2c1a_3f4d-4e5f-8a9b-0c1d2e3f4a5b", "8-4-4-4-12"},
		{"", "8-4-4-4-12"},
	} {
		err := CheckGUID(tc.in)
		switch {
		case tc.say == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.say != "" && (!errors.Is(err, ErrInvalidGUID) || !strings.Contains(err.Error(), tc.say)):
			t.Errorf("%q: %v, want ErrInvalidGUID saying %q", tc.in, err, tc.say)
		}
	}
}

func TestCheckKey(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	r1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	r2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tc := range map[string]struct {
		key any
		ok  bool
	}{
		"P-256": {p256.Public(), true}, "P-384": {p384.Public(), true}, "P-521": {p521.Public(), false},
		"RSA 1024": {r1024.Public(), false}, "RSA 2048": {r2048.Public(), true},
	} {
		if err := CheckKey(tc.key); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrWeakKey)) {
			t.Errorf("%s: %v, want accepted %v", name, err, tc.ok)
		}
	}
}
