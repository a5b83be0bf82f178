package scan_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/journal"
	"github.com/oobtpm/oob/pkg/scan"
)

// mustTemplate parses a device ID template.
func mustTemplate(t *testing.T, s string) scan.Template {
	t.Helper()
	tmpl, err := scan.ParseTemplate(s)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// A video of the production line: each device shown is enrolled once, with its own key and its
// running number; a device shown again is reported as already enrolled, known from the
// journal; the web address's code is reported as foreign and the damaged codes as invalid,
// with the reason, and nothing is enrolled for them; the journal holds each sighting and one
// settling attempt per device; the summary agrees.
func TestScanEnrollsEachDeviceOnce(t *testing.T) {
	l := productionLine(t)
	site := newSite(t)
	cfg := site.config(l.video(t))
	cfg.Settings = enroll.Settings{IoTHub: "line4.azure-devices.net"}
	cfg.DeviceID = mustTemplate(t, "line4-{n:3}")
	evs, sum := run(t, cfg)

	// What DPS holds: the six devices, no more, each with its key, hub and running number.
	got := checkEnrolled(t, site.admin, l.devs...)
	for i, d := range l.devs {
		e := got[d.RegistrationID]
		if want := fmt.Sprintf("line4-%03d", i+1); e.DeviceID != want {
			t.Errorf("device %d is enrolled as %q, want %q (its running number)", i+1, e.DeviceID, want)
		}
		if len(e.IoTHubs) != 1 || e.IoTHubs[0] != "line4.azure-devices.net" {
			t.Errorf("device %d is enrolled for hubs %v, want the scan's settings", i+1, e.IoTHubs)
		}
	}

	// What the scan reported: each device code as it came into view.
	devices := ofKind(evs, scan.Device)
	if len(devices) != len(l.shown) {
		t.Fatalf("%d device events, want one for each of the %d device codes shown:%s", len(devices), len(l.shown), describe(evs))
	}
	first := map[int]bool{}
	for k, ev := range devices {
		a := l.shown[k]
		d := l.devs[a.dev]
		if ev.Device.RegistrationID != d.RegistrationID || ev.Frame != a.frame || ev.Device.Label != d.Label {
			t.Errorf("device event %d: %s %q from frame %d, want %s %q from frame %d", k+1,
				ev.Device.RegistrationID, ev.Device.Label, ev.Frame, d.RegistrationID, d.Label, a.frame)
		}
		wantID := fmt.Sprintf("line4-%03d", a.dev+1)
		if ev.Number != a.dev+1 || ev.DeviceID != wantID {
			t.Errorf("device event %d: number %d as %q, want %d as %q", k+1, ev.Number, ev.DeviceID, a.dev+1, wantID)
		}
		switch {
		case !first[a.dev]:
			first[a.dev] = true
			if ev.Outcome != enroll.Created || ev.Known || ev.Err != nil || ev.Enrollment == nil || ev.Enrollment.RegistrationID != d.RegistrationID {
				t.Errorf("device event %d, first sight of %s: %s known=%v %v enrollment=%v; want created", k+1, d.RegistrationID, ev.Outcome, ev.Known, ev.Err, ev.Enrollment != nil)
			}
		default:
			if ev.Outcome != enroll.AlreadyEnrolled || !ev.Known || ev.Err != nil {
				t.Errorf("device event %d, %s shown again: %s known=%v %v; want already enrolled, known", k+1, d.RegistrationID, ev.Outcome, ev.Known, ev.Err)
			}
		}
		if !ev.Done() {
			t.Errorf("device event %d (%s) is not done", k+1, ev.Outcome)
		}
	}
	if sent := ofKind(evs, scan.Sent); len(sent) != 0 {
		t.Errorf("DPS always answered, yet the scan sent from its queue:%s", describe(sent))
	}

	// The other codes: reported, with what is wrong with them, and skipped.
	foreign := ofKind(evs, scan.Foreign)
	if len(foreign) != len(l.foreign) {
		t.Errorf("%d foreign events, want %d:%s", len(foreign), len(l.foreign), describe(evs))
	}
	for _, ev := range foreign {
		if ev.Text != scantest.Foreign || !errors.Is(ev.Err, identity.ErrNotIdentity) || ev.Device.RegistrationID != "" {
			t.Errorf("foreign event: %q %v %s", ev.Text, ev.Err, ev.Device.RegistrationID)
		}
	}
	invalid := ofKind(evs, scan.Invalid)
	if len(invalid) != len(l.invalid) {
		t.Fatalf("%d invalid events, want %d:%s", len(invalid), len(l.invalid), describe(evs))
	}
	for k, ev := range invalid {
		if ev.Text != l.invalid[k].text || !errors.Is(ev.Err, l.invalid[k].want) {
			t.Errorf("invalid event %d: %.40q %v, want %.40q with %v", k+1, ev.Text, ev.Err, l.invalid[k].text, l.invalid[k].want)
		}
	}
	if len(evs) != len(devices)+len(foreign)+len(invalid) {
		t.Errorf("unexpected events:%s", describe(evs))
	}

	// The journal: each device seen where it was shown, and settled once, by the attempt made
	// as it was scanned.
	recs := records(t, site.journal)
	if len(recs) != len(l.devs) {
		t.Errorf("the journal holds %d devices, want %d", len(recs), len(l.devs))
	}
	for i, d := range l.devs {
		var frames []int
		for _, a := range l.shown {
			if a.dev == i {
				frames = append(frames, a.frame)
			}
		}
		seen := kinds(recs[d.RegistrationID], journal.Seen)
		if len(seen) != len(frames) {
			t.Errorf("device %d: %d seen records, want %d (shown at frames %v)", i+1, len(seen), len(frames), frames)
		} else {
			for k, e := range seen {
				if e.Frame != frames[k] || e.Source == "" {
					t.Errorf("device %d: seen at frame %d of %q, want frame %d", i+1, e.Frame, e.Source, frames[k])
				}
			}
		}
		s := settling(recs[d.RegistrationID])
		if len(s) != 1 || s[0].Kind != journal.Attempt || s[0].Outcome != enroll.Created || s[0].Settings == nil || s[0].Settings.DeviceID != fmt.Sprintf("line4-%03d", i+1) {
			t.Errorf("device %d: settling records %s, want one created attempt", i+1, brief(s))
		}
	}
	if p := scantest.Pending(t, site.journal); len(p) != 0 {
		t.Errorf("the journal still has %v to send", p)
	}

	want := scan.Summary{Frames: l.frames(), Devices: len(l.shown), Done: len(l.shown), Foreign: len(l.foreign), Invalid: len(l.invalid)}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
}
