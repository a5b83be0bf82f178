package sas

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const (
	testHost = "my-dps.azure-devices-provisioning.net"
	testCS   = "HostName=" + testHost + ";SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + testKeyB64
)

func TestParseConnectionString(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		ok      bool
		mention string // a word the error must contain, to say what is wrong
	}{
		{"portal form", testCS, true, ""},
		{"any order", "SharedAccessKey=" + testKeyB64 + ";HostName=" + testHost + ";SharedAccessKeyName=provisioningserviceowner", true, ""},
		{"trailing semicolon and newline", testCS + ";\n", true, ""},
		{"quoted", `"` + testCS + `"`, true, ""},
		{"field names in other case", "hostname=" + testHost + ";sharedaccesskeyname=provisioningserviceowner;sharedaccesskey=" + testKeyB64, true, ""},
		{"emulator host", "HostName=localhost;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + testKeyB64, true, ""},
		{"empty", "   ", false, "empty"},
		{"missing key", "HostName=" + testHost + ";SharedAccessKeyName=provisioningserviceowner", false, "SharedAccessKey is missing"},
		{"missing host", "SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + testKeyB64, false, "HostName is missing"},
		{"missing policy", "HostName=" + testHost + ";SharedAccessKey=" + testKeyB64, false, "SharedAccessKeyName is missing"},
		{"duplicate", testCS + ";HostName=other.azure-devices-provisioning.net", false, "more than once"},
		{"duplicate in other case", testCS + ";hostname=" + testHost, false, "more than once"},
		{"unknown field", testCS + ";Foo=bar", false, "unknown field"},
		{"device connection string", "HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessKey=" + testKeyB64, false, "device connection string"},
		{"iot hub owner", "HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=" + testKeyB64, false, "IoT Hub"},
		{"sas token", "SharedAccessSignature sr=a&sig=b&se=1", false, "SAS token"},
		{"token field", "HostName=" + testHost + ";SharedAccessKeyName=p;SharedAccessSignature=SharedAccessSignature sr=a", false, "SAS token"},
		{"host with port", "HostName=localhost:8443;SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64, true, ""},
		{"host with bad port", "HostName=localhost:84a3;SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64, false, "port"},
		{"host with port 0", "HostName=localhost:0;SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64, false, "port"},
		{"host with scheme", "HostName=https://" + testHost + ";SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64, false, "without scheme"},
		{"bad policy chars", "HostName=" + testHost + ";SharedAccessKeyName=a b;SharedAccessKey=" + testKeyB64, false, "SharedAccessKeyName"},
		{"key truncated", "HostName=" + testHost + ";SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64[:20], false, "SharedAccessKey"},
		{"key too short", "HostName=" + testHost + ";SharedAccessKeyName=p;SharedAccessKey=AAECAwQFBgcICQoLDA0O", false, "bytes"},
		{"empty value", "HostName=;SharedAccessKeyName=p;SharedAccessKey=" + testKeyB64, false, "HostName is empty"},
		{"no equals", "HostName=" + testHost + ";SharedAccessKeyName=p;" + testKeyB64[:40], false, "Name=Value"},
		{"too long", testCS + ";" + strings.Repeat("x", MaxConnectionStringLen), false, "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := ParseConnectionString(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseConnectionString: %v", err)
				}
				if cs.Key.Base64() != testKeyB64 {
					t.Errorf("key does not round-trip")
				}
				return
			}
			if !errors.Is(err, ErrConnectionString) {
				t.Fatalf("err = %v, want ErrConnectionString", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q does not mention %q", msg, tt.mention)
			}
			if !strings.Contains(msg, "Azure portal") && !strings.Contains(msg, "endpoint") {
				t.Errorf("error %q does not say where to find a connection string", msg)
			}
			if strings.Contains(msg, testKeyB64[:12]) {
				t.Errorf("error quotes the key: %q", msg)
			}
		})
	}
}

func TestConnectionStringRedacted(t *testing.T) {
	cs, err := ParseConnectionString(testCS)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, v := range []any{cs, &cs, []ConnectionString{cs}, struct{ C ConnectionString }{cs}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, testKeyB64[:12]) || strings.Contains(out, string(cs.Key.b)) {
				t.Errorf("fmt %s of %T shows the key: %s", verb, v, out)
			}
		}
	}
	if got := fmt.Sprint(cs); !strings.Contains(got, testHost) || !strings.Contains(got, "provisioningserviceowner") {
		t.Errorf("String() hides more than the key: %s", got)
	}
	back, err := ParseConnectionString(cs.Secret())
	if err != nil || !back.Key.Equal(cs.Key) || back.HostName != cs.HostName || back.KeyName != cs.KeyName {
		t.Errorf("Secret() does not round-trip: %v", err)
	}
}

func TestConnectionStringToken(t *testing.T) {
	ctx := context.Background()
	cs, err := ParseConnectionString("HostName=My-DPS.azure-devices-provisioning.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + testKeyB64)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cs.Token(ctx, testExpiry)
	if err != nil {
		t.Fatal(err)
	}
	// The host name is signed in lower case: the golden service token, byte for byte.
	want := "SharedAccessSignature sr=my-dps.azure-devices-provisioning.net&sig=H6WFyONeCIMVWZ3j6DiTPAOZxf8phJxubW3Vv6xDE%2FA%3D&se=1700000000&skn=provisioningserviceowner"
	if tok != want {
		t.Errorf("Token =\n %s\nwant\n %s", tok, want)
	}
	v := Verifier{Key: cs.Key, KeyName: cs.KeyName, Resource: cs.HostName, Now: fixedNow(testExpiry.Add(-time.Minute))}
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Errorf("Verify: %v", err)
	}
}
