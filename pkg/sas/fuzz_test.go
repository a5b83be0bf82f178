package sas

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseToken checks that ParseToken never panics, that whatever it accepts has the fields a
// verifier needs, that an error is always one of the package's kinds, and that a token signed
// for the parsed resource verifies.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		"SharedAccessSignature sr=my-dps.azure-devices-provisioning.net&sig=H6WFyONeCIMVWZ3j6DiTPAOZxf8phJxubW3Vv6xDE%2FA%3D&se=1700000000&skn=provisioningserviceowner",
		"SharedAccessSignature sr=0ne00000A1B%2fregistrations%2fdevice-01&sig=bhYK8B6EwK54BNUeaj8r6MIF7IQGsDjrmseFXgw7bL0%3D&se=1700000000&skn=registration",
		"SharedAccessSignature skn=registration&se=1700000000&sig=cl1ydMq5RHlNyiMbIprHtDwozhqSR366%2FQkKxhUtQjE%3D&sr=0ne00000A1B/registrations/device-01",
		"SharedAccessSignature sr=a&sig=%zz&se=1",
		"SharedAccessSignature sr=a&sr=a&sig=AA==&se=1",
		"SharedAccessSignature ",
		"",
	} {
		f.Add(s)
	}
	key := NewKey([]byte("fuzz key, thirty-two bytes long!"))
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		if tok.RawResource == "" || tok.RawExpiry == "" || len(tok.sig) == 0 {
			t.Fatalf("accepted a token without sr, se or sig: %q", s)
		}
		if tok.Resource == "" || strings.Trim(tok.Resource, "/") == "" {
			return // nothing a token can be signed for
		}
		ctx := context.Background()
		signed, err := NewToken(ctx, key, tok.Resource, tok.KeyName, tok.Expiry)
		if err != nil {
			t.Fatal(err)
		}
		v := Verifier{Key: key, KeyName: tok.KeyName, Resource: tok.Resource, Now: fixedNow(tok.Expiry.Add(-time.Second))}
		if _, err := v.Verify(ctx, signed); err != nil {
			t.Fatalf("a token signed for %q does not verify: %v", tok.Resource, err)
		}
	})
}

// FuzzParseConnectionString checks that parsing never panics, that what it accepts round-trips
// through Secret, and that no error and no String() ever shows the key.
func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{
		testCS,
		`"` + testCS + `";`,
		"HostName=hub.azure-devices.net;DeviceId=d;SharedAccessKey=" + testKeyB64,
		"HostName=h;SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64[:20],
		"HostName=h;HostName=h",
		"SharedAccessKey=" + testKeyB64,
		";;;",
	} {
		f.Add(s, testKeyB64)
	}
	f.Fuzz(func(t *testing.T, s, key string) {
		// Put the candidate key into the input in every position a paste could put it.
		for _, in := range []string{s, strings.ReplaceAll(s, testKeyB64, key), s + ";SharedAccessKey=" + key, key + ";" + s} {
			cs, err := ParseConnectionString(in)
			secret := key
			if err == nil {
				secret = cs.Key.Base64()
				back, err2 := ParseConnectionString(cs.Secret())
				if err2 != nil || !back.Key.Equal(cs.Key) || back.HostName != cs.HostName || back.KeyName != cs.KeyName {
					t.Fatalf("Secret() does not round-trip: %v", err2)
				}
				if strings.Contains(cs.String(), secret) {
					t.Fatalf("String() shows the key")
				}
				continue
			}
			if !errors.Is(err, ErrConnectionString) {
				t.Fatalf("error is not ErrConnectionString: %v", err)
			}
			// A usable key must never appear; the fixed hint text is excluded because the policy
			// name in it ("provisioningserviceowner") happens to be valid base64 of key length.
			if _, kerr := ParseKey(secret); kerr == nil && !strings.Contains(whereToFind, secret) && strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains the key %q", err, secret)
			}
		}
	})
}
