package sas

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"32 bytes", testKeyB64, true},
		{"16 bytes", base64.StdEncoding.EncodeToString(make([]byte, 16)), true},
		{"64 bytes", base64.StdEncoding.EncodeToString(make([]byte, 64)), true},
		{"15 bytes", base64.StdEncoding.EncodeToString(make([]byte, 15)), false},
		{"65 bytes", base64.StdEncoding.EncodeToString(make([]byte, 65)), false},
		{"unpadded", strings.TrimRight(testKeyB64, "="), false},
		{"url alphabet", "-_" + testKeyB64[2:], false},
		{"not base64", "this is not a key at all!!!!", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseKey: %v", err)
				}
				if k.Base64() != tt.in {
					t.Errorf("Base64() does not round-trip")
				}
				return
			}
			if !errors.Is(err, ErrKey) {
				t.Fatalf("err = %v, want ErrKey", err)
			}
			if tt.in != "" && strings.Contains(err.Error(), tt.in) {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func TestKeyIsNeverPrinted(t *testing.T) {
	k := testKey(t)
	raw := string(k.b)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{k, &k, []Key{k}, struct{ K Key }{k}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testKeyB64) || strings.Contains(out, raw) ||
				strings.Contains(out, fmt.Sprintf("%x", raw)) || strings.Contains(out, "0 1 2 3") {
				t.Errorf("fmt %s of %T prints the key: %s", verb, v, out)
			}
		}
	}
}

func TestDeriveDeviceKey(t *testing.T) {
	// Golden value: base64(HMAC-SHA256(group key, "device-01")).
	got := testKey(t).DeriveDeviceKey("device-01").Base64()
	if want := "YlH/UCsaA7mBBFGAlOysUKGTTAKpddEkTUFpC9ViNHA="; got != want {
		t.Errorf("DeriveDeviceKey = %s, want %s", got, want)
	}
}

func TestEmptyKeyRefusesToSign(t *testing.T) {
	if _, err := (Key{}).Sign(context.Background(), []byte("x")); !errors.Is(err, ErrKey) {
		t.Errorf("Sign with empty key: err = %v, want ErrKey", err)
	}
}
