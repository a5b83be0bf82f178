package scan_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/journal"
	"github.com/oobtpm/oob/pkg/retry"
	"github.com/oobtpm/oob/pkg/scan"
)

// fps is the videos' frame rate: a cheap webcam's, and few frames to decode.
const fps = 10

// quick is the scan's DPS client's retry policy: short, so that an attempt DPS refuses is
// queued within a fraction of a second rather than waited for (as scan.Config.Client asks).
var quick = dps.Options{Retry: retry.Policy{MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxRetryAfter: 50 * time.Millisecond}}

// resend retries the scan's queue soon, so that a queue is sent within the test's seconds.
var resend = retry.Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond}

// line is what a camera on the production line sees, and what a scan of it should report.
type line struct {
	devs []identity.Identity
	segs []scantest.Segment
	// shown lists the device codes in the order they come into view: the device's index in
	// devs and the number of the first frame that shows it.
	shown []appearance
	// foreign and invalid are the other codes in the order they come into view; want is the
	// error an invalid code is reported with.
	foreign []string
	invalid []badCode
}

type appearance struct{ dev, frame int }

type badCode struct {
	text string
	want error
}

// productionLine is six devices shown a second each, two of them twice with other codes
// between, and between them a web address's code, damaged identity codes and empty frames.
func productionLine(t *testing.T) *line {
	t.Helper()
	devs := scantest.Labelled(t, "", "press 7", "", "", "rack B-07", "")
	l := &line{devs: devs}
	frame := 1
	add := func(s scantest.Segment) int {
		first := frame
		l.segs = append(l.segs, s)
		frame += scantest.Count([]scantest.Segment{s}, fps)
		return first
	}
	device := func(i int) {
		f := add(scantest.Segment{Text: scantest.Payload(t, devs[i], identity.FormatV1), Duration: time.Second})
		l.shown = append(l.shown, appearance{i, f})
	}
	blank := func() { add(scantest.Segment{Duration: 500 * time.Millisecond}) }
	foreign := func() {
		add(scantest.Segment{Text: scantest.Foreign, Plain: true, Duration: 800 * time.Millisecond})
		l.foreign = append(l.foreign, scantest.Foreign)
	}
	bad := func(text string, want error) {
		add(scantest.Segment{Text: text, Duration: 800 * time.Millisecond})
		l.invalid = append(l.invalid, badCode{text, want})
	}
	blank()
	device(0)
	foreign()
	device(1)
	blank()
	bad(scantest.Truncated(t, devs[2]), identity.ErrMalformed)
	device(2)
	device(3)
	bad(scantest.Tampered(t, devs[4]), identity.ErrTampered)
	device(0)
	device(4)
	blank()
	bad(scantest.FromNewerAgent(t, devs[5]), identity.ErrUnsupportedVersion)
	device(5)
	foreign()
	device(2)
	blank()
	return l
}

// frames is how many frames the line's video has.
func (l *line) frames() int { return scantest.Count(l.segs, fps) }

// video is the line's video, opened.
func (l *line) video(t *testing.T) camera.Source {
	t.Helper()
	return openVideo(t, scantest.Video(t, l.segs, fps))
}

func openVideo(t *testing.T, path string) camera.Source {
	t.Helper()
	src, err := camera.OpenVideo(t.Context(), path, camera.FFmpegConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// site is a DPS emulator over TLS and a journal file, as a technician's laptop has them.
type site struct {
	emu *emulatortest.Emulator
	// client is the scan's, with short retries; admin checks what DPS holds.
	client, admin *dps.Client
	path          string
	journal       *journal.Journal
}

func newSite(t *testing.T) *site {
	t.Helper()
	emu := emulatortest.Start(t)
	s := &site{emu: emu, client: emu.Client(t, quick), admin: emu.Client(t, dps.Options{}), path: t.TempDir() + "/journal.db"}
	s.open(t)
	return s
}

// open opens the journal file, as a new scan does; it is closed when the test ends.
func (s *site) open(t *testing.T) {
	t.Helper()
	j, err := journal.Open(s.path)
	if err != nil {
		t.Fatal(err)
	}
	s.journal = j
	t.Cleanup(func() { j.Close() })
}

// reopen closes the journal and opens it again, as the next run of the companion would.
func (s *site) reopen(t *testing.T) {
	t.Helper()
	if err := s.journal.Close(); err != nil {
		t.Fatal(err)
	}
	s.open(t)
}

// config is a scan of src enrolling through the site.
func (s *site) config(src camera.Source) scan.Config {
	return scan.Config{Source: src, Journal: s.journal, Client: s.client, Resend: resend,
		AttemptTimeout: 5 * time.Second, SettleTimeout: 20 * time.Second}
}

// events records what a scan reports.
type events struct {
	mu   sync.Mutex
	list []scan.Event
}

func (e *events) report(ev scan.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
}

// all returns the events reported so far.
func (e *events) all() []scan.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

// run scans with cfg until the scan ends and returns its events and summary. A scan that fails
// or does not end within 30 s fails the test.
func run(t *testing.T, cfg scan.Config) ([]scan.Event, scan.Summary) {
	t.Helper()
	evs, sum, err := runErr(t, cfg)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return evs, sum
}

// runErr is run for scans expected to fail: it returns Run's error. cfg.Report, if set, is
// called too. A scan that does not end within 30 s fails the test.
func runErr(t *testing.T, cfg scan.Config) ([]scan.Event, scan.Summary, error) {
	t.Helper()
	var evs events
	also := cfg.Report
	cfg.Report = func(ev scan.Event) {
		evs.report(ev)
		if also != nil {
			also(ev)
		}
	}
	s, err := scan.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sum, err := s.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the scan did not end within 30 s; it reported %s", describe(evs.all()))
	}
	return evs.all(), sum, err
}

// ofKind returns the events of kind k, in the order reported.
func ofKind(evs []scan.Event, k scan.Kind) []scan.Event {
	return where(evs, func(ev scan.Event) bool { return ev.Kind == k })
}

// where returns the items keep accepts, in order.
func where[T any](items []T, keep func(T) bool) []T {
	var out []T
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

// describe lists events for a failure message.
func describe(evs []scan.Event) string {
	s := ""
	for _, ev := range evs {
		s += fmt.Sprintf("\n  %s %s frame %d #%d %q %s known=%v err=%v", ev.Kind, ev.Device.RegistrationID, ev.Frame, ev.Number, ev.DeviceID, ev.Outcome, ev.Known, ev.Err)
		if ev.Text != "" {
			s += fmt.Sprintf(" text=%.30q", ev.Text)
		}
	}
	return s
}

// enrollments returns every enrollment DPS holds, by registration ID.
func enrollments(t *testing.T, c *dps.Client) map[string]dpsapi.IndividualEnrollment {
	t.Helper()
	out := map[string]dpsapi.IndividualEnrollment{}
	for e, err := range c.QueryEnrollments(t.Context(), "*", 0) {
		if err != nil {
			t.Fatalf("list enrollments: %v", err)
		}
		if _, dup := out[e.RegistrationID]; dup {
			t.Fatalf("DPS lists %s twice", e.RegistrationID)
		}
		out[e.RegistrationID] = e
	}
	return out
}

// checkEnrolled checks that DPS holds exactly the devices given, each with its own EK, and
// returns the enrollments.
func checkEnrolled(t *testing.T, c *dps.Client, devs ...identity.Identity) map[string]dpsapi.IndividualEnrollment {
	t.Helper()
	got := enrollments(t, c)
	for _, d := range devs {
		e, ok := got[d.RegistrationID]
		switch {
		case !ok:
			t.Errorf("%s (%q) is not enrolled", d.RegistrationID, d.Label)
		case e.Attestation == nil || e.Attestation.TPM == nil || e.Attestation.TPM.EndorsementKey != base64.StdEncoding.EncodeToString(d.EndorsementKey):
			t.Errorf("%s is enrolled with another key: %+v", d.RegistrationID, e.Attestation)
		}
	}
	if len(got) != len(devs) {
		var ids []string
		for id := range got {
			ids = append(ids, id)
		}
		t.Errorf("DPS holds %d enrollments %v, want exactly the %d devices shown", len(got), ids, len(devs))
	}
	return got
}

// records returns the journal's records by registration ID, oldest first.
func records(t *testing.T, j *journal.Journal) map[string][]journal.Entry {
	t.Helper()
	es, err := j.Entries()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]journal.Entry{}
	for _, e := range es {
		out[e.Device.RegistrationID] = append(out[e.Device.RegistrationID], e)
	}
	return out
}

// settling returns a device's records that settle its enrollment (an attempt or a send that
// did not fail).
func settling(es []journal.Entry) []journal.Entry {
	var out []journal.Entry
	for _, e := range es {
		if (e.Kind == journal.Attempt || e.Kind == journal.Sent) && e.Outcome != enroll.Failed {
			out = append(out, e)
		}
	}
	return out
}

// brief describes records for a failure message.
func brief(es []journal.Entry) string {
	s := "["
	for i, e := range es {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("#%d %s %s", e.Seq, e.Kind, e.Outcome)
		if e.Settings != nil && e.Settings.DeviceID != "" {
			s += " as " + e.Settings.DeviceID
		}
	}
	return s + "]"
}

// kinds returns the records of kind k.
func kinds(es []journal.Entry, k journal.Kind) []journal.Entry {
	return where(es, func(e journal.Entry) bool { return e.Kind == k })
}

// syncJournal sends what the journal has queued, as companion sync does, and returns how many
// it created.
func syncJournal(t *testing.T, j *journal.Journal, c *dps.Client) int {
	t.Helper()
	created := 0
	_, err := scan.Sync(t.Context(), j, c, func(ev scan.Event) error {
		if ev.Outcome != enroll.Created {
			t.Errorf("sync of %s: %s, %v; want it created", ev.Device.RegistrationID, ev.Outcome, ev.Err)
			return nil
		}
		created++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return created
}
