package identity

import (
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// qrVersion returns the QR version the agent's encoder picks for text at level M. It calls
// skip2/go-qrcode directly, the encoder pkg/qr.Encode wraps, so that these tests do not
// depend on the camera decoder's dependencies.
func qrVersion(t *testing.T, text string) int {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	return q.VersionNumber
}

// maxV1Version is the promise to users: the identity of a device with a standard RSA-2048 EK
// and a derived registration ID fits a version 12 code at level M (65×65 modules), which a
// webcam reads from a small screen at arm's length.
const maxV1Version = 12

// TestQRVersion checks the user-visible size goal of the v1 format, and that it beats the
// original sample's JSON.
func TestQRVersion(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			v1 := qrVersion(t, v.V1)
			t.Logf("v1: %d characters, QR version %d at level M", len(v.V1), v1)
			if v.Name == "standard-ek" && v1 > maxV1Version {
				t.Errorf("v1 payload of a standard EK needs QR version %d at level M, want ≤ %d", v1, maxV1Version)
			}
			if v.Legacy == "" {
				return
			}
			legacy := qrVersion(t, v.Legacy)
			t.Logf("legacy: %d characters, QR version %d at level M", len(v.Legacy), legacy)
			if legacy <= v1 {
				t.Errorf("legacy payload makes QR version %d, v1 %d: v1 should be smaller", legacy, v1)
			}
		})
	}
}
