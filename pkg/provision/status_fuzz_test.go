package provision

import (
	"errors"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// FuzzParseStatus feeds the status look-up's answer parser anything DPS, or something posing as
// it, might send: it never panics, and what it accepts has a status DPS uses.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{
		`{"registrationId":"dev","assignedHub":"hub.example","deviceId":"dev","status":"assigned","substatus":"initialAssignment"}`,
		`{"registrationId":"dev","status":"disabled"}`,
		`{"registrationId":"dev","status":"failed","errorCode":401002,"errorMessage":"x"}`,
		`{"status":"maybe"}`, `[]`, `null`, ``, `{"status":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := parseStatus(b, "dev")
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error without ErrBadResponse: %v", err)
			}
			return
		}
		switch res.Status {
		case dpsapi.RegistrationUnassigned, dpsapi.RegistrationAssigning, dpsapi.RegistrationAssigned,
			dpsapi.RegistrationDisabled, dpsapi.RegistrationFailed:
		default:
			t.Fatalf("accepted status %q", res.Status)
		}
	})
}
