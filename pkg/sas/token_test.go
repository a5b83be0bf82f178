package sas

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestNewTokenGolden(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, resource, keyName, want string
	}{
		{
			name:     "service token",
			resource: "my-dps.azure-devices-provisioning.net",
			keyName:  "provisioningserviceowner",
			want: "SharedAccessSignature sr=my-dps.azure-devices-provisioning.net" +
				"&sig=H6WFyONeCIMVWZ3j6DiTPAOZxf8phJxubW3Vv6xDE%2FA%3D&se=1700000000&skn=provisioningserviceowner",
		},
		{
			name:     "device token, sr encoded with upper-case hex",
			resource: "0ne00000A1B/registrations/device-01",
			keyName:  "registration",
			want: "SharedAccessSignature sr=0ne00000A1B%2Fregistrations%2Fdevice-01" +
				"&sig=I4u7oKz3AX2SKQCPo%2Fpn4sbEZpZ0XB43mWuH1B4RRn4%3D&se=1700000000&skn=registration",
		},
		{
			name:     "no key name",
			resource: "my-dps.azure-devices-provisioning.net",
			want: "SharedAccessSignature sr=my-dps.azure-devices-provisioning.net" +
				"&sig=H6WFyONeCIMVWZ3j6DiTPAOZxf8phJxubW3Vv6xDE%2FA%3D&se=1700000000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewToken(ctx, testKey(t), tt.resource, tt.keyName, testExpiry)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("NewToken =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestNewTokenEmptyResource(t *testing.T) {
	if _, err := NewToken(context.Background(), testKey(t), "", "x", testExpiry); err == nil {
		t.Fatal("NewToken with empty resource succeeded")
	}
}

func TestParseToken(t *testing.T) {
	const sig = "H6WFyONeCIMVWZ3j6DiTPAOZxf8phJxubW3Vv6xDE%2FA%3D"
	tests := []struct {
		name     string
		in       string
		resource string // want, when ok
		keyName  string
		err      error // nil: ok
	}{
		{"canonical", "SharedAccessSignature sr=a.b&sig=" + sig + "&se=1700000000&skn=p", "a.b", "p", nil},
		{"portal order", "SharedAccessSignature sig=" + sig + "&se=1700000000&skn=p&sr=a.b", "a.b", "p", nil},
		{"no skn", "SharedAccessSignature sr=a.b&sig=" + sig + "&se=1700000000", "a.b", "", nil},
		{"prefix case", "sharedaccesssignature sr=a.b&sig=" + sig + "&se=1700000000", "a.b", "", nil},
		{"lower-case escapes", "SharedAccessSignature sr=s%2fregistrations%2fd&sig=" + sig + "&se=1", "s/registrations/d", "", nil},
		{"raw slashes", "SharedAccessSignature sr=s/registrations/d&sig=" + sig + "&se=1", "s/registrations/d", "", nil},
		{"raw base64 sig", "SharedAccessSignature sr=a&sig=H6WFyONeCIMVWZ3j6DiTPAOZxf8phJxubW3Vv6xDE/A=&se=1", "a", "", nil},
		{"millisecond se (Node service client)", "SharedAccessSignature sr=a.b&sig=" + sig + "&se=1763812345678&skn=p", "a.b", "p", nil},
		{"no prefix", "sr=a.b&sig=" + sig + "&se=1", "", "", ErrMalformed},
		{"bearer", "Bearer abc", "", "", ErrMalformed},
		{"missing sig", "SharedAccessSignature sr=a.b&se=1", "", "", ErrMalformed},
		{"missing sr", "SharedAccessSignature sig=" + sig + "&se=1", "", "", ErrMalformed},
		{"missing se", "SharedAccessSignature sr=a&sig=" + sig, "", "", ErrMalformed},
		{"duplicate sr", "SharedAccessSignature sr=a&sr=b&sig=" + sig + "&se=1", "", "", ErrMalformed},
		{"unknown field", "SharedAccessSignature sr=a&sig=" + sig + "&se=1&x=y", "", "", ErrMalformed},
		{"empty value", "SharedAccessSignature sr=&sig=" + sig + "&se=1", "", "", ErrMalformed},
		{"no equals", "SharedAccessSignature sr&sig=" + sig + "&se=1", "", "", ErrMalformed},
		{"signed se", "SharedAccessSignature sr=a&sig=" + sig + "&se=+1", "", "", ErrMalformed},
		{"fractional se", "SharedAccessSignature sr=a&sig=" + sig + "&se=1.5", "", "", ErrMalformed},
		{"huge se", "SharedAccessSignature sr=a&sig=" + sig + "&se=99999999999999999999", "", "", ErrMalformed},
		{"sig not base64", "SharedAccessSignature sr=a&sig=!!!&se=1", "", "", ErrMalformed},
		{"bad escape", "SharedAccessSignature sr=a%zz&sig=" + sig + "&se=1", "", "", ErrMalformed},
		{"too long", "SharedAccessSignature sr=" + strings.Repeat("a", MaxTokenLen) + "&sig=" + sig + "&se=1", "", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ParseToken(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				var te *TokenError
				if !errors.As(err, &te) {
					t.Errorf("err is %T, want *TokenError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseToken: %v", err)
			}
			if tok.Resource != tt.resource || tok.KeyName != tt.keyName {
				t.Errorf("got sr %q skn %q, want %q %q", tok.Resource, tok.KeyName, tt.resource, tt.keyName)
			}
		})
	}
}

func TestTokenStringHidesSignature(t *testing.T) {
	s, err := NewToken(context.Background(), testKey(t), "a.b", "p", testExpiry)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok.String(), "H6WFyONeCIMV") {
		t.Errorf("Token.String shows the signature: %s", tok)
	}
	if !tok.Expiry.Equal(testExpiry) || tok.RawExpiry != "1700000000" {
		t.Errorf("expiry = %v (%q)", tok.Expiry, tok.RawExpiry)
	}
}
