package finalize

import (
	"context"
	"errors"
	"os/exec"
	"testing"
)

// TestCheckChangesNothing checks every workload unit's state in a temporary root with the real
// systemctl --root, and that looking enabled nothing.
func TestCheckChangesNothing(t *testing.T) {
	root := newRoot(t, map[string]string{
		"kiosk.service": installed, "bad.service": static, "usr:masked.service": installed,
	})
	if out, err := exec.Command("systemctl", "--root="+root, "mask", "masked.service").CombinedOutput(); err != nil {
		t.Fatalf("mask: %v: %s", err, out)
	}
	f := offline(t, root, "kiosk.service", "bad.service", "masked.service", "missing.service")
	got := f.Check(context.Background())
	want := []struct {
		unit, state string
		err         error
	}{
		{"kiosk.service", "disabled", nil},
		{"bad.service", "static", ErrNoInstall},
		{"masked.service", "masked", ErrMasked},
		{"missing.service", "", ErrUnitNotFound},
	}
	if len(got) != len(want) {
		t.Fatalf("Check: %+v", got)
	}
	for i, w := range want {
		g := got[i]
		var ue *UnitError
		if g.Unit != w.unit || g.State != w.state || (w.err == nil) != (g.Err == nil) ||
			w.err != nil && (!errors.Is(g.Err, w.err) || !errors.As(g.Err, &ue) || ue.Unit != w.unit) {
			t.Errorf("unit %d: %+v, want %s %q %v", i, g, w.unit, w.state, w.err)
		}
	}
	if enabled(t, root, "kiosk.service") {
		t.Error("Check enabled kiosk.service")
	}
	checkOutOfBox(t, root)
}
