package enroll

import (
	"strings"
	"testing"
)

func TestParseTwinRefusesWhatDPSWouldNot(t *testing.T) {
	bad := map[string]string{
		`[]`:                                   "initial twin is not",
		`{"tag":{"a":"b"}}`:                    "unknown field",
		`{"tags":{"a":"b"}} {}`:                "more after",
		`{}`:                                   "neither",
		`{"tags":[1]}`:                         "must be a JSON object",
		`{"tags":null}`:                        "must be a JSON object",
		`{"properties":{"reported":{}}}`:       "unknown field",
		`{"properties":{}}`:                    `must hold "desired"`,
		`{"tags":{"a.b":"c"}}`:                 "does not allow",
		`{"tags":{"x":{"$meta":1}}}`:           "does not allow",
		`{"properties":{"desired":{"a b":1}}}`: "does not allow",
		`{"tags":` + strings.Repeat(`{"a":`, 12) + `1` + strings.Repeat(`}`, 13): "deeper",
	}
	for in, want := range bad {
		if _, err := ParseTwin([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTwin(%s): got %v, want an error containing %q", in, err, want)
		}
	}
	if _, err := ParseTwin([]byte(strings.Repeat(" ", MaxTwinBytes+1))); err == nil {
		t.Error("an oversized twin file was accepted")
	}
}

func TestParseTag(t *testing.T) {
	k, v, err := ParseTag("site=lyon=east")
	if err != nil || k != "site" || v != "lyon=east" {
		t.Errorf("ParseTag: %q %q %v", k, v, err)
	}
	for _, in := range []string{"site", "=x", "a.b=c"} {
		if _, _, err := ParseTag(in); err == nil {
			t.Errorf("ParseTag(%q) accepted", in)
		}
	}
}

func FuzzParseTwin(f *testing.F) {
	f.Add([]byte(`{"tags":{"a":"b"},"properties":{"desired":{"c":{"d":1}}}}`))
	f.Add([]byte(`{"tags":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		twin, err := ParseTwin(b)
		if err != nil {
			return
		}
		if twin.Tags == nil && twin.Properties == nil {
			t.Fatal("accepted a twin with nothing in it")
		}
		if twin.Tags != nil {
			if err := checkCollection("tags", twin.Tags, 1); err != nil {
				t.Fatalf("accepted tags that fail the check: %v", err)
			}
		}
	})
}
