package scantest

import (
	"errors"
	"testing"

	"github.com/oobtpm/oob/pkg/identity"
)

// Devices are distinct, their codes read back as the same identity, labels included; the
// damaged codes fail as documented.
func TestDevicesAndCodes(t *testing.T) {
	devs := Labelled(t, "", "press 7")
	devs = append(devs, Devices(t, 2)...)
	seen := map[string]bool{}
	for _, d := range devs {
		if seen[d.RegistrationID] {
			t.Fatalf("two devices share %s", d.RegistrationID)
		}
		seen[d.RegistrationID] = true
		if !d.Derived() {
			t.Errorf("%s is not derived from its EK", d.RegistrationID)
		}
		v, err := identity.Parse(Payload(t, d, identity.FormatV1))
		got := v.Identity()
		if err != nil || got.RegistrationID != d.RegistrationID || got.Label != d.Label || string(got.EndorsementKey) != string(d.EndorsementKey) {
			t.Errorf("%s read back as %+v, %v", d.RegistrationID, got, err)
		}
	}
	if devs[1].Label != "press 7" || devs[0].Label != "" {
		t.Errorf("labels %q, %q", devs[0].Label, devs[1].Label)
	}
	for _, c := range []struct {
		text string
		want error
	}{
		{Truncated(t, devs[1]), identity.ErrMalformed},
		{Tampered(t, devs[1]), identity.ErrTampered},
		{FromNewerAgent(t, devs[1]), identity.ErrUnsupportedVersion},
		{Foreign, identity.ErrNotIdentity},
	} {
		if _, err := identity.Parse(c.text); !errors.Is(err, c.want) {
			t.Errorf("Parse(%.30q…) = %v, want %v", c.text, err, c.want)
		}
	}
}
