package identity

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	std := standardTestEK(t)
	other := vectorEK(t, "non-standard-ek")
	tests := []struct {
		name   string
		id     Identity
		format Format
		kind   string // the v1 key kind expected after the prefix
	}{
		{"v1 derived", Identity{EndorsementKey: std}, FormatV1, "M"},
		{"v1 derived, given", Identity{EndorsementKey: std, RegistrationID: DeriveRegistrationID(std)}, FormatV1, "M"},
		{"v1 OEM regid", Identity{EndorsementKey: std, RegistrationID: "a-b.c_d:e9"}, FormatV1, "M"},
		{"v1 label", Identity{EndorsementKey: std, Label: "Line 3 / Bay 12"}, FormatV1, "M"},
		{"v1 label with every escape", Identity{EndorsementKey: std, Label: "a*b%c_d é 日本#?"}, FormatV1, "M"},
		{"v1 longest OEM regid and label", Identity{EndorsementKey: std, RegistrationID: strings.Repeat("_", 128), Label: strings.Repeat("ü", 16)}, FormatV1, "M"},
		{"v1 OEM regid and label", Identity{EndorsementKey: std, RegistrationID: "sensor-0042", Label: "Kühlraum 3"}, FormatV1, "M"},
		{"v1 non-standard EK", Identity{EndorsementKey: other}, FormatV1, "P"},
		{"v1 non-standard EK, OEM regid, label", Identity{EndorsementKey: other, RegistrationID: "x", Label: "y"}, FormatV1, "P"},
		{"legacy standard EK", Identity{EndorsementKey: std}, FormatLegacy, ""},
		{"legacy non-standard EK", Identity{EndorsementKey: other}, FormatLegacy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := Encode(tt.id, tt.format)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if tt.format == FormatV1 {
				if !strings.HasPrefix(text, "OOB1:"+tt.kind) {
					t.Errorf("payload starts %.7q, want OOB1:%s", text, tt.kind)
				}
				for _, c := range []byte(text) {
					if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", rune(c)) {
						t.Fatalf("payload holds %q, outside the QR alphanumeric set", c)
					}
				}
			}
			got, err := Parse(text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", text, err)
			}
			want := tt.id
			if want.RegistrationID == "" {
				want.RegistrationID = DeriveRegistrationID(want.EndorsementKey)
			}
			assertSameIdentity(t, got, want)
			if got.Identity().Derived() != (want.RegistrationID == DeriveRegistrationID(want.EndorsementKey)) {
				t.Error("Derived() is wrong")
			}
		})
	}
}

// standardV1 returns the v1 payload of the standard test EK, to build damaged variants from.
func standardV1(t *testing.T) string {
	t.Helper()
	s, err := Encode(Identity{EndorsementKey: standardTestEK(t)}, FormatV1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func legacyJSON(regid, ek string) string {
	return fmt.Sprintf(`{"regid":%q,"ek":%q}`, regid, ek)
}

func TestParseRejects(t *testing.T) {
	ek := standardTestEK(t)
	v1 := standardV1(t)
	modulus := ek[len(ek)-ModulusLen:]
	digits := v1[len("OOB1:M"):]
	regid := DeriveRegistrationID(ek)
	b64 := base64.StdEncoding.EncodeToString(ek)
	evenModulus := append([]byte(nil), modulus...)
	evenModulus[ModulusLen-1] &^= 1

	tests := []struct {
		name string
		in   string
		err  error
		want string // a phrase the message must hold
	}{
		// Foreign codes.
		{"empty", "", ErrNotIdentity, "empty"},
		{"URL", "https://example.com/device?id=1", ErrNotIdentity, "web address"},
		{"Wi-Fi", "WIFI:S:factory;T:WPA;P:secret;;", ErrNotIdentity, "Wi-Fi"},
		{"text", "hello, world", ErrNotIdentity, "device's screen"},
		{"OOB without version", "OOB:M123", ErrNotIdentity, ""},
		{"OOB with letters", "OOBX:M123", ErrNotIdentity, ""},
		{"lowercase prefix", strings.ToLower(v1), ErrNotIdentity, ""},
		{"other JSON", `{"ssid":"factory","psk":"x"}`, ErrNotIdentity, ""},
		{"JSON array", `["regid","ek"]`, ErrNotIdentity, ""},
		{"broken foreign JSON", `{"a":`, ErrNotIdentity, ""},

		// Versions.
		{"newer version", "OOB2:M" + digits, ErrUnsupportedVersion, "newer version of the agent; update the companion"},
		{"much newer version", "OOB12:anything", ErrUnsupportedVersion, "update the companion"},
		{"version 0", "OOB0:M" + digits, ErrUnsupportedVersion, "does not exist"},
		{"version 01", "OOB01:M" + digits, ErrUnsupportedVersion, "does not exist"},

		// v1 grammar.
		{"nothing after prefix", "OOB1:", ErrMalformed, "truncated"},
		{"no digits", "OOB1:M", ErrMalformed, "no key digits"},
		{"no digits before a field", "OOB1:M*LX", ErrMalformed, "no key digits"},
		{"digit missing", v1[:len(v1)-1], ErrMalformed, "not a valid count"},
		{"digits missing", v1[:len(v1)-10], ErrMalformed, "modulus"},
		{"group too large", "OOB1:M" + "99999999999999999" + digits[17:], ErrMalformed, "too large"},
		{"unknown kind", "OOB1:Q" + digits, ErrMalformed, "unknown key kind"},
		{"lowercase kind", "OOB1:m" + digits, ErrMalformed, "unknown key kind"},
		{"junk after digits", v1 + "#", ErrMalformed, "after the key digits"},
		{"space after digits", v1 + " ", ErrMalformed, "after the key digits"},
		{"empty field", v1 + "*", ErrMalformed, "empty field"},
		{"empty field between", v1 + "*RA**LB", ErrMalformed, "empty field"},
		{"unknown field", v1 + "*X1", ErrMalformed, "unknown field *X"},
		{"out of order", v1 + "*LA*RB", ErrMalformed, "out of order"},
		{"repeated", v1 + "*LA*LB", ErrMalformed, "repeated"},
		{"empty regid", v1 + "*R", ErrMalformed, "*R is empty"},
		{"empty label", v1 + "*L", ErrMalformed, "*L is empty"},
		{"lowercase regid", v1 + "*Rabc", ErrMalformed, "must be escaped"},
		{"regid escape of a literal", v1 + "*RA%41", ErrMalformed, "written as itself"},
		{"regid escape of a lowercase letter", v1 + "*RA%61", ErrMalformed, "written as itself"},
		{"lowercase hex escape", v1 + "*RA%5f", ErrMalformed, "bad escape"},
		{"truncated escape", v1 + "*RA%5", ErrMalformed, "truncated escape"},
		{"label escape of a literal", v1 + "*L%41", ErrMalformed, "written as itself"},
		{"label lowercase literal", v1 + "*La", ErrMalformed, "must be escaped"},
		{"regid too long", v1 + "*R" + strings.Repeat("A", 129), ErrBadRegistrationID, "at most 128"},
		{"regid with a slash", v1 + "*RA/B", ErrMalformed, "must be escaped"},
		{"label too long", v1 + "*L" + strings.Repeat("A", 33), ErrBadLabel, "at most 32"},
		{"label not UTF-8", v1 + "*L%FF", ErrBadLabel, "UTF-8"},
		{"label control character", v1 + "*LA%0AB", ErrBadLabel, "control"},
		{"label right-to-left override", v1 + "*LA%E2%80%AEB", ErrBadLabel, "bidirectional control character U+202E"},
		{"M form of an even modulus", "OOB1:M" + string(appendDigits(nil, evenModulus)), ErrBadEK, "modulus"},
		{"P form of a raw TPMT_PUBLIC", "OOB1:P" + string(appendDigits(nil, ek[2:])), ErrBadEK, "TPMT_PUBLIC"},
		{"P form of an ECC EK", "OOB1:P" + string(appendDigits(nil, eccTestEK(t))), ErrBadEK, "ECC"},

		// Legacy JSON.
		{"legacy wrong regid", legacyJSON(strings.Repeat("a", 52), b64), ErrTampered, "corrupted or tampered"},
		{"legacy uppercase regid", legacyJSON(strings.ToUpper(regid), b64), ErrTampered, ""},
		{"legacy OEM regid", legacyJSON("sensor-0042", b64), ErrTampered, ""},
		{"legacy unknown field", `{"regid":"` + regid + `","ek":"` + b64 + `","label":"x"}`, ErrMalformed, `unknown field "label"`},
		{"legacy key in another case", `{"regid":"` + regid + `","EK":"` + b64 + `"}`, ErrMalformed, `unknown field "EK"`},
		{"legacy keys all in another case", `{"REGID":"` + regid + `","EK":"` + b64 + `"}`, ErrMalformed, `unknown field`},
		{"legacy duplicate", `{"regid":"` + regid + `","ek":"` + b64 + `","ek":"` + b64 + `"}`, ErrMalformed, "twice"},
		{"legacy number", `{"regid":1,"ek":"` + b64 + `"}`, ErrMalformed, "not a string"},
		{"legacy null", `{"regid":null,"ek":"` + b64 + `"}`, ErrMalformed, "not a string"},
		{"legacy huge number", `{"regid":1` + strings.Repeat("0", 100000) + `,"ek":"` + b64 + `"}`, ErrMalformed, `field "regid" is not a string`},
		{"legacy huge unknown key", `{"regid":"` + regid + `","` + strings.Repeat("k", 100000) + `":"x","ek":"` + b64 + `"}`, ErrMalformed, "(100000 bytes)"},
		{"legacy missing ek", `{"regid":"` + regid + `"}`, ErrMalformed, "both"},
		{"legacy trailing data", legacyJSON(regid, b64) + "x", ErrMalformed, "after the JSON object"},
		{"legacy two objects", legacyJSON(regid, b64) + "{}", ErrMalformed, "after the JSON object"},
		{"legacy broken", `{"regid":"` + regid + `","ek":`, ErrMalformed, "broken JSON"},
		{"legacy empty ek", legacyJSON(regid, ""), ErrBadEK, "empty"},
		{"legacy hex ek", legacyJSON(regid, hex.EncodeToString(ek)), ErrBadEK, "hex"},
		{"legacy PEM ek", legacyJSON(regid, "-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n"), ErrBadEK, "PEM"},
		{"legacy unpadded ek", legacyJSON(regid, strings.TrimRight(b64, "=")), ErrBadEK, "base64url or unpadded"},
		{"legacy base64url ek", legacyJSON(regid, base64.URLEncoding.EncodeToString(ek)), ErrBadEK, "base64url or unpadded"},
		{"legacy not base64", legacyJSON(regid, "not base64!"), ErrBadEK, "not standard base64"},
		{"legacy raw TPMT_PUBLIC", legacyJSON(regid, base64.StdEncoding.EncodeToString(ek[2:])), ErrBadEK, "raw TPMT_PUBLIC"},
		{"legacy truncated ek", legacyJSON(regid, base64.StdEncoding.EncodeToString(ek[:100])), ErrBadEK, "truncated"},
		{"legacy ECC ek", legacyJSON(regid, base64.StdEncoding.EncodeToString(eccTestEK(t))), ErrBadEK, "ECC"},
	}
	sentinels := []error{ErrNotIdentity, ErrUnsupportedVersion, ErrMalformed, ErrBadEK, ErrTampered, ErrBadRegistrationID, ErrBadLabel}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := Parse(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse = %v, want %v", err, tt.err)
			}
			for _, s := range sentinels {
				if s != tt.err && errors.Is(err, s) {
					t.Errorf("error also wraps %v", s)
				}
			}
			if !strings.HasPrefix(err.Error(), "identity: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %q, want a message with %q", err, tt.want)
			}
			// A message quotes an excerpt of hostile input, never all of it.
			if len(err.Error()) > 600 {
				t.Errorf("a %d-byte message for %d bytes of input", len(err.Error()), len(tt.in))
			}
			if !id.IsZero() {
				t.Error("Parse returned an identity with its error")
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	ek := standardTestEK(t)
	tests := []struct {
		name   string
		id     Identity
		format Format
		err    error  // nil: no sentinel, only a message
		want   string // a phrase the message must hold
	}{
		{"no EK", Identity{}, FormatV1, ErrBadEK, "too short"},
		{"raw TPMT_PUBLIC", Identity{EndorsementKey: ek[2:]}, FormatV1, ErrBadEK, "TPMT_PUBLIC"},
		{"bad OEM regid", Identity{EndorsementKey: ek, RegistrationID: "Sensor 42"}, FormatV1, ErrBadRegistrationID, "'S'"},
		{"label too long", Identity{EndorsementKey: ek, Label: strings.Repeat("x", 33)}, FormatV1, ErrBadLabel, "at most 32"},
		{"label with a newline", Identity{EndorsementKey: ek, Label: "a\nb"}, FormatV1, ErrBadLabel, "control"},
		{"legacy OEM regid", Identity{EndorsementKey: ek, RegistrationID: "sensor-42"}, FormatLegacy, nil, "cannot carry an OEM-chosen registration ID"},
		{"legacy label", Identity{EndorsementKey: ek, Label: "Bay 1"}, FormatLegacy, nil, "cannot carry a device label"},
		{"unknown format", Identity{EndorsementKey: ek}, Format(7), nil, "unknown payload format Format(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Encode(tt.id, tt.format)
			if err == nil {
				t.Fatalf("Encode = %q, want an error", s)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("Encode = %v, want %v", err, tt.err)
			}
			if !strings.HasPrefix(err.Error(), "identity: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Encode = %q, want a message with %q", err, tt.want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{FormatV1, FormatLegacy} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), got, err)
		}
	}
	for _, s := range []string{"", "V1", "json", "v2"} {
		if _, err := ParseFormat(s); err == nil {
			t.Errorf("ParseFormat(%q) succeeded", s)
		}
	}
	var zero Format
	if zero != FormatV1 {
		t.Error("the zero Format is not FormatV1")
	}
}

func TestValidateRegistrationID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"2kl6y7cxaquk6vicrl3r4hmptd4zkstp65finor4bsgbwoeb266a", true},
		{"contoso:line-3.dev_0042", true},
		{strings.Repeat("z", 128), true},
		{"", false},
		{strings.Repeat("z", 129), false},
		{"Device", false},
		{"dev ice", false},
		{"dev/ice", false},
		{"dévice", false},
	}
	for _, tt := range tests {
		err := ValidateRegistrationID(tt.in)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadRegistrationID)) {
			t.Errorf("ValidateRegistrationID(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

// TestParseAcceptsEquivalents checks the two spellings a reader accepts although the agent
// never writes them: the P form of a standard-template EK, and an *R field holding the derived
// registration ID. Both carry the same identity as the canonical payload, so other encoders
// may use them.
func TestParseAcceptsEquivalents(t *testing.T) {
	ek := standardTestEK(t)
	want := Identity{EndorsementKey: ek, RegistrationID: DeriveRegistrationID(ek)}
	for _, text := range []string{
		"OOB1:P" + string(appendDigits(nil, ek)),
		standardV1(t) + "*R" + strings.ToUpper(want.RegistrationID),
	} {
		got, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%.12q…): %v", text, err)
		}
		assertSameIdentity(t, got, want)
	}
}
