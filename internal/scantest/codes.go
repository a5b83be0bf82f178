package scantest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/identity"
)

// Foreign is a QR code's text that is not a device identity code: a web address, as on a
// poster or a router's sticker near the production line.
const Foreign = "https://example.com/wifi"

// Payload is id's identity code in format f, as the agent shows it.
func Payload(tb testing.TB, id identity.Identity, f identity.Format) string {
	tb.Helper()
	text, err := identity.Encode(id, f)
	if err != nil {
		tb.Fatalf("identity code of %s: %v", id.RegistrationID, err)
	}
	return text
}

// Truncated is id's v1 code cut short in its key digits, as a code damaged or copied in part
// would read: identity.Parse fails with identity.ErrMalformed.
func Truncated(tb testing.TB, id identity.Identity) string {
	tb.Helper()
	full := Payload(tb, id, identity.FormatV1)
	// "OOB1:M" and a third of the modulus's digits.
	return checkBad(tb, full[:len("OOB1:M")+200], identity.ErrMalformed)
}

// Tampered is id's code in the legacy JSON format (which carries no label) with a registration
// ID that is not the one its EK yields, as a tampered or hand-edited code would carry:
// identity.Parse fails with identity.ErrTampered.
func Tampered(tb testing.TB, id identity.Identity) string {
	tb.Helper()
	id.Label = ""
	var p struct {
		RegID string `json:"regid"`
		EK    string `json:"ek"`
	}
	if err := json.Unmarshal([]byte(Payload(tb, id, identity.FormatLegacy)), &p); err != nil {
		tb.Fatalf("legacy code of %s: %v", id.RegistrationID, err)
	}
	// Another letter in the last place: still a well-formed registration ID, not this key's.
	last := "a"
	if strings.HasSuffix(p.RegID, last) {
		last = "b"
	}
	p.RegID = p.RegID[:len(p.RegID)-1] + last
	b, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return checkBad(tb, string(b), identity.ErrTampered)
}

// FromNewerAgent is id's code as a newer agent's format version 2 would begin: identity.Parse
// fails with identity.ErrUnsupportedVersion.
func FromNewerAgent(tb testing.TB, id identity.Identity) string {
	tb.Helper()
	v1 := Payload(tb, id, identity.FormatV1)
	return checkBad(tb, "OOB2:"+strings.TrimPrefix(v1, "OOB1:"), identity.ErrUnsupportedVersion)
}

// checkBad returns text after checking that identity.Parse refuses it with want, so a change in
// the formats shows up here rather than as a puzzling scan test.
func checkBad(tb testing.TB, text string, want error) string {
	tb.Helper()
	if _, err := identity.Parse(text); !errors.Is(err, want) {
		tb.Fatalf("identity.Parse(%.40q…) = %v, want an error wrapping %v", text, err, want)
	}
	return text
}
