package sas

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	ctx := context.Background()
	key := testKey(t)
	other := NewKey([]byte("another key, 32 bytes long......"))
	// Device tokens as three kinds of client encode sr; each signature was computed by an
	// independent implementation over sr exactly as written here.
	deviceUpper := "SharedAccessSignature sr=0ne00000A1B%2Fregistrations%2Fdevice-01&sig=I4u7oKz3AX2SKQCPo%2Fpn4sbEZpZ0XB43mWuH1B4RRn4%3D&se=1700000000&skn=registration"
	deviceLower := "SharedAccessSignature sr=0ne00000A1B%2fregistrations%2fdevice-01&sig=bhYK8B6EwK54BNUeaj8r6MIF7IQGsDjrmseFXgw7bL0%3D&se=1700000000&skn=registration"
	deviceRaw := "SharedAccessSignature skn=registration&se=1700000000&sig=cl1ydMq5RHlNyiMbIprHtDwozhqSR366%2FQkKxhUtQjE%3D&sr=0ne00000A1B/registrations/device-01"
	service := "SharedAccessSignature sr=my-dps.azure-devices-provisioning.net&sig=H6WFyONeCIMVWZ3j6DiTPAOZxf8phJxubW3Vv6xDE%2FA%3D&se=1700000000&skn=provisioningserviceowner"
	// A signature computed over the upper-case spelling, attached to the lower-case one: the
	// resource is the same after unescaping, but the signed bytes are not.
	swapped := strings.Replace(deviceUpper, "%2Fregistrations%2F", "%2fregistrations%2f", 1)

	before := testExpiry.Add(-time.Minute)
	devRes := "0ne00000A1B/registrations/device-01"
	svcRes := "my-dps.azure-devices-provisioning.net"
	tests := []struct {
		name  string
		v     Verifier
		token string
		err   error
	}{
		{"device %2F", Verifier{Key: key, KeyName: "registration", Resource: devRes, Now: fixedNow(before)}, deviceUpper, nil},
		{"device %2f", Verifier{Key: key, KeyName: "registration", Resource: devRes, Now: fixedNow(before)}, deviceLower, nil},
		{"device raw, fields reordered", Verifier{Key: key, KeyName: "registration", Resource: devRes, Now: fixedNow(before)}, deviceRaw, nil},
		{"service", Verifier{Key: key, KeyName: "provisioningserviceowner", Resource: svcRes, Now: fixedNow(before)}, service, nil},
		{"service, host in other case", Verifier{Key: key, KeyName: "ProvisioningServiceOwner", Resource: "My-DPS.azure-devices-provisioning.net", Now: fixedNow(before)}, service, nil},
		{"host token covers a path", Verifier{Key: key, Resource: svcRes + "/enrollments/x", Now: fixedNow(before)}, service, nil},
		{"key name not checked when unset", Verifier{Key: key, Resource: devRes, Now: fixedNow(before)}, deviceUpper, nil},
		{"within skew", Verifier{Key: key, Resource: svcRes, Now: fixedNow(testExpiry.Add(4 * time.Minute))}, service, nil},
		{"past skew", Verifier{Key: key, Resource: svcRes, Now: fixedNow(testExpiry.Add(6 * time.Minute))}, service, ErrExpired},
		{"custom skew", Verifier{Key: key, Resource: svcRes, Skew: 10 * time.Minute, Now: fixedNow(testExpiry.Add(6 * time.Minute))}, service, nil},
		{"no skew, at expiry", Verifier{Key: key, Resource: svcRes, Skew: -1, Now: fixedNow(testExpiry)}, service, ErrExpired},
		{"wrong key", Verifier{Key: other, Resource: svcRes, Now: fixedNow(before)}, service, ErrSignature},
		{"wrong key beats expired", Verifier{Key: other, Resource: svcRes, Now: fixedNow(testExpiry.Add(time.Hour))}, service, ErrSignature},
		{"signature over another spelling", Verifier{Key: key, Resource: devRes, Now: fixedNow(before)}, swapped, ErrSignature},
		{"wrong policy", Verifier{Key: key, KeyName: "registryRead", Resource: svcRes, Now: fixedNow(before)}, service, ErrKeyName},
		{"missing skn", Verifier{Key: key, KeyName: "registration", Resource: svcRes, Now: fixedNow(before)},
			strings.TrimSuffix(service, "&skn=provisioningserviceowner"), ErrKeyName},
		{"other host", Verifier{Key: key, Resource: "other.azure-devices-provisioning.net", Now: fixedNow(before)}, service, ErrResource},
		{"other device", Verifier{Key: key, Resource: "0ne00000A1B/registrations/device-02", Now: fixedNow(before)}, deviceUpper, ErrResource},
		{"device token does not cover the scope", Verifier{Key: key, Resource: "0ne00000A1B", Now: fixedNow(before)}, deviceUpper, ErrResource},
		{"malformed", Verifier{Key: key, Resource: svcRes, Now: fixedNow(before)}, "SharedAccessSignature sr=x", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.v.Verify(ctx, tt.token)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if tok == nil {
					t.Fatal("Verify returned no token")
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if strings.Contains(err.Error(), testKeyB64) || strings.Contains(err.Error(), "sig=") {
				t.Errorf("error echoes a secret: %v", err)
			}
		})
	}
}

func TestCreatedTokensVerify(t *testing.T) {
	ctx := context.Background()
	key := testKey(t)
	now := time.Unix(1800000000, 0)
	for _, res := range []string{
		"my-dps.azure-devices-provisioning.net",
		"0ne00000A1B/registrations/device-01",
		"scope/registrations/reg:with_odd.chars-and~tilde",
	} {
		tok, err := NewToken(ctx, key, res, "registration", now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		v := Verifier{Key: key, KeyName: "registration", Resource: res, Now: fixedNow(now)}
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("%s: %v", res, err)
		}
	}
}

func TestResourceCovers(t *testing.T) {
	tests := []struct {
		granted, requested string
		want               bool
	}{
		{"h.example", "h.example", true},
		{"H.Example", "h.example", true},
		{"h.example/", "h.example", true},
		{"h.example", "h.example/enrollments/a", true},
		{"h.example/enrollments", "h.example/enrollments/a", true},
		{"h.example/enrollments", "h.example/enrollmentsX", false},
		{"h.example/enrollments/a", "h.example", false},
		{"h.example/Enrollments", "h.example/enrollments", false},
		{"h.examplex", "h.example", false},
		{"", "h.example", false},
		{"h.example", "", false},
	}
	for _, tt := range tests {
		if got := ResourceCovers(tt.granted, tt.requested); got != tt.want {
			t.Errorf("ResourceCovers(%q, %q) = %v, want %v", tt.granted, tt.requested, got, tt.want)
		}
	}
}

// Microsoft's Node service client signs a millisecond clock as se; DPS accepts the token, and so
// must a verifier, over the se exactly as sent.
func TestVerifyMillisecondExpiry(t *testing.T) {
	ctx := context.Background()
	key := testKey(t)
	const sr, se = "my-dps.azure-devices-provisioning.net", "1763812345678"
	mac, err := key.Sign(ctx, StringToSign(sr, se))
	if err != nil {
		t.Fatal(err)
	}
	token := "SharedAccessSignature sr=" + sr + "&sig=" + Escape(base64.StdEncoding.EncodeToString(mac)) + "&se=" + se + "&skn=provisioningserviceowner"
	v := Verifier{Key: key, KeyName: "provisioningserviceowner", Resource: sr, Now: fixedNow(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))}
	tok, err := v.Verify(ctx, token)
	if err != nil {
		t.Fatalf("a millisecond-expiry token was refused: %v", err)
	}
	if tok.Expiry.Year() != 9999 {
		t.Errorf("expiry %v, want the cap at year 9999", tok.Expiry)
	}
	tampered := strings.Replace(token, "se="+se, "se=1763812345679", 1)
	if _, err := v.Verify(ctx, tampered); !errors.Is(err, ErrSignature) {
		t.Errorf("a changed millisecond expiry: %v, want ErrSignature", err)
	}
}
