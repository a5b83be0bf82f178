package dps

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// FuzzDecodeError feeds arbitrary error bodies and statuses: decoding never panics, always yields
// an *Error matching the status's sentinel, and its message stays bounded and printable.
func FuzzDecodeError(f *testing.F) {
	f.Add(404, `{"errorCode":404201,"trackingId":"abc","message":"Enrollment not found","timestampUtc":"2024-03-05T10:15:30.1234567Z"}`)
	f.Add(401, `{"errorCode":"401002"}`)
	f.Add(429, `<html>Too Many Requests</html>`)
	f.Add(500, "")
	f.Add(412, `{"errorCode":412002,"info":{"a":"b"},"message":"\u001b[2J"}`)
	f.Add(400, strings.Repeat("x", 5000))
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 400 || status > 599 {
			return
		}
		e := decodeError(status, http.Header{}, []byte(body))
		if e.StatusCode != status {
			t.Fatalf("status %d became %d", status, e.StatusCode)
		}
		if !errors.Is(e, sentinelFor(status)) {
			t.Fatalf("%d does not match its sentinel", status)
		}
		msg := e.Error()
		if len([]rune(e.Message)) > maxMessage+1 {
			t.Fatalf("message of %d runes", len([]rune(e.Message)))
		}
		for _, r := range msg {
			if unicode.IsControl(r) {
				t.Fatalf("control character %U in %q", r, msg)
			}
		}
	})
}

// FuzzDecodeEnrollment feeds arbitrary success bodies to the response parser: it never panics,
// and whatever it accepts is a single JSON object that encodes again.
func FuzzDecodeEnrollment(f *testing.F) {
	f.Add(`{"registrationId":"dev-1","attestation":{"type":"tpm","tpm":{"endorsementKey":"AToA"}},"createdDateTimeUtc":"2024-03-05T10:15:30.1234567Z"}`)
	f.Add(`{"registrationId":"a"} trailing`)
	f.Add(`[]`)
	f.Add(`<html>`)
	f.Add(`{"initialTwin":{"tags":{"a":[1,2,{"b":null}]}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var e dpsapi.IndividualEnrollment
		err := decodeJSON("test", []byte(body), &e)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error is not ErrBadResponse: %v", err)
			}
			return
		}
		if _, err := marshal("test", e); err != nil {
			t.Fatalf("accepted %q but cannot encode it again: %v", body, err)
		}
	})
}
