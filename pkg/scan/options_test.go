package scan_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/scan"
)

// images is a folder source of segments, one picture each (a second apart in the stream).
func images(t *testing.T, segs ...scantest.Segment) *camera.Files {
	t.Helper()
	src, err := camera.OpenDir(scantest.Frames(t, segs, 1))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func shows(t *testing.T, d identity.Identity) scantest.Segment {
	return scantest.Segment{Text: scantest.Payload(t, d, identity.FormatV1), Duration: time.Second}
}

// A dry run reads and checks the codes and says how each device would be named, with no
// journal and no DPS: nothing is enrolled or recorded.
func TestDryRunChecksOnly(t *testing.T) {
	devs := scantest.Labelled(t, "press 7", "")
	src := images(t,
		scantest.Segment{Text: scantest.Foreign, Plain: true},
		shows(t, devs[0]),
		scantest.Segment{Text: scantest.Tampered(t, devs[1])},
		shows(t, devs[1]),
		shows(t, devs[0]),
	)
	evs, sum := run(t, scan.Config{Source: src, DryRun: true, DeviceID: mustTemplate(t, "{label}-{n:2}")})

	type want struct {
		id       string
		number   int
		deviceID string
	}
	wants := []want{
		{devs[0].RegistrationID, 1, "press-7-01"},
		{devs[1].RegistrationID, 2, devs[1].RegistrationID + "-02"},
		{devs[0].RegistrationID, 1, "press-7-01"},
	}
	got := ofKind(evs, scan.Device)
	if len(got) != len(wants) {
		t.Fatalf("device events:%s\nwant %d", describe(evs), len(wants))
	}
	for k, ev := range got {
		w := wants[k]
		if ev.Device.RegistrationID != w.id || ev.Number != w.number || ev.DeviceID != w.deviceID || ev.Outcome != scan.Checked || ev.Err != nil || ev.Done() || ev.Enrollment != nil {
			t.Errorf("device event %d:%s\nwant %s checked as #%d %q", k+1, describe([]scan.Event{ev}), w.id, w.number, w.deviceID)
		}
	}
	if inv := ofKind(evs, scan.Invalid); len(inv) != 1 || !errors.Is(inv[0].Err, identity.ErrTampered) {
		t.Errorf("invalid events:%s\nwant the tampered code", describe(inv))
	}
	if wantSum := (scan.Summary{Frames: 5, Devices: 3, Checked: 3, Foreign: 1, Invalid: 1}); sum != wantSum {
		t.Errorf("summary %+v, want %+v", sum, wantSum)
	}
}

// counting is a source that counts the frames asked of it.
type counting struct {
	camera.Source
	n atomic.Int32
}

func (c *counting) Next(ctx context.Context) (camera.Frame, error) {
	c.n.Add(1)
	return c.Source.Next(ctx)
}

// With Once, the scan ends as soon as it has enrolled the first device: the codes after it are
// not read, and not enrolled.
func TestOnceStopsAfterTheFirstDevice(t *testing.T) {
	devs := scantest.Devices(t, 3)
	site := newSite(t)
	src := &counting{Source: images(t,
		scantest.Segment{Text: scantest.Foreign, Plain: true},
		scantest.Segment{},
		shows(t, devs[0]), shows(t, devs[1]), shows(t, devs[2]),
	)}
	cfg := site.config(src)
	cfg.Once = true
	evs, sum := run(t, cfg)

	if len(evs) != 2 || evs[0].Kind != scan.Foreign || evs[1].Kind != scan.Device ||
		evs[1].Device.RegistrationID != devs[0].RegistrationID || evs[1].Outcome != enroll.Created {
		t.Fatalf("events:%s\nwant the foreign code, then the first device created", describe(evs))
	}
	if n := src.n.Load(); n != 3 {
		t.Errorf("the scan read %d frames, want 3: it should stop at the first device's", n)
	}
	want := scan.Summary{Frames: 3, Devices: 1, Done: 1, Foreign: 1}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	checkEnrolled(t, site.admin, devs[0])
}

// Running numbers stay with their devices from one scan to the next: a later scan numbers its
// new devices after the journal's, and a device scanned again keeps its number and device ID.
func TestRunningNumbersSurviveARestart(t *testing.T) {
	devs := scantest.Devices(t, 3)
	site := newSite(t)
	tmpl := mustTemplate(t, "bay-{n:4}")

	cfg := site.config(images(t, shows(t, devs[0]), shows(t, devs[1])))
	cfg.DeviceID, cfg.FirstNumber = tmpl, 100
	run(t, cfg)

	site.reopen(t)
	cfg = site.config(images(t, shows(t, devs[2]), scantest.Segment{}, shows(t, devs[0])))
	cfg.DeviceID, cfg.FirstNumber = tmpl, 100
	evs, _ := run(t, cfg)

	got := ofKind(evs, scan.Device)
	if len(got) != 2 ||
		got[0].Device.RegistrationID != devs[2].RegistrationID || got[0].Number != 102 || got[0].DeviceID != "bay-0102" || got[0].Outcome != enroll.Created ||
		got[1].Device.RegistrationID != devs[0].RegistrationID || got[1].Number != 100 || got[1].DeviceID != "bay-0100" || got[1].Outcome != enroll.AlreadyEnrolled || !got[1].Known {
		t.Fatalf("second scan:%s\nwant the new device created as #102 bay-0102, then the first one known as #100 bay-0100", describe(evs))
	}
	enrolled := checkEnrolled(t, site.admin, devs...)
	for i, want := range []string{"bay-0100", "bay-0101", "bay-0102"} {
		if got := enrolled[devs[i].RegistrationID].DeviceID; got != want {
			t.Errorf("device %d is enrolled as %q, want %q", i+1, got, want)
		}
	}
}
