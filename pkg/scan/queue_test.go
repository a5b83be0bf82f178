package scan_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/journal"
	"github.com/oobtpm/oob/pkg/scan"
)

func setFaults(t *testing.T, s *site, cfg emulator.FaultConfig) {
	t.Helper()
	if err := s.emu.Faults.Set(cfg); err != nil {
		t.Fatal(err)
	}
}

// DPS is away for the first seconds of the scan and throttles a quarter of the requests
// throughout: the scan queues what it cannot send, sends the queue in order once DPS answers,
// and ends with nothing queued. Nothing is lost and nothing doubled: each device is enrolled
// once and settled once in the journal, either as it was scanned or from the queue.
func TestScanSendsItsQueueWhenDPSAnswers(t *testing.T) {
	l := productionLine(t)
	site := newSite(t)
	cfg := site.config(l.video(t))
	cfg.DeviceID = mustTemplate(t, "line4-{n:3}")
	setFaults(t, site, emulator.FaultConfig{UnavailableFor: emulator.Duration(2 * time.Second), ThrottleProbability: 0.25})
	evs, sum := run(t, cfg)
	setFaults(t, site, emulator.FaultConfig{})

	if sum.Queued != 0 || sum.Failed != 0 {
		t.Errorf("the scan ended with %d queued and %d failed, want its queue sent:%s", sum.Queued, sum.Failed, describe(evs))
	}
	if p := scantest.Pending(t, site.journal); len(p) != 0 {
		t.Errorf("the journal still has %v to send", p)
	}
	got := checkEnrolled(t, site.admin, l.devs...)
	for i, d := range l.devs {
		if want := fmt.Sprintf("line4-%03d", i+1); got[d.RegistrationID].DeviceID != want {
			t.Errorf("device %d is enrolled as %q, want %q: a queued enrollment keeps its number", i+1, got[d.RegistrationID].DeviceID, want)
		}
	}

	// Each device: its first sight created it or queued it; a queued one was sent once.
	sent := map[string][]scan.Event{}
	for _, ev := range ofKind(evs, scan.Sent) {
		sent[ev.Device.RegistrationID] = append(sent[ev.Device.RegistrationID], ev)
	}
	firstSight := map[string]scan.Event{}
	for _, ev := range ofKind(evs, scan.Device) {
		if _, ok := firstSight[ev.Device.RegistrationID]; !ok {
			firstSight[ev.Device.RegistrationID] = ev
		}
	}
	recs := records(t, site.journal)
	queuedAtSight := 0
	for i, d := range l.devs {
		id := d.RegistrationID
		first, s := firstSight[id], sent[id]
		switch first.Outcome {
		case enroll.Created:
			if len(s) != 0 {
				t.Errorf("device %d was created as scanned, then sent again:%s", i+1, describe(s))
			}
		case scan.Queued:
			queuedAtSight++
			if first.Err == nil || !(errors.Is(first.Err, dps.ErrUnavailable) || errors.Is(first.Err, dps.ErrThrottled)) {
				t.Errorf("device %d was queued with reason %v, want DPS's refusal", i+1, first.Err)
			}
			if len(s) != 1 || s[0].Outcome != enroll.Created || s[0].Number != i+1 || s[0].DeviceID != fmt.Sprintf("line4-%03d", i+1) {
				t.Errorf("device %d was queued; sent events:%s; want one, created, as number %d", i+1, describe(s), i+1)
			}
		default:
			t.Errorf("device %d, first sight: %s %v", i+1, first.Outcome, first.Err)
		}
		set := settling(recs[id])
		if len(set) != 1 || set[0].Outcome != enroll.Created {
			t.Fatalf("device %d: settling records %s, want exactly one, created", i+1, brief(set))
		}
		wantKind := journal.Attempt
		if first.Outcome == scan.Queued {
			wantKind = journal.Sent
		}
		if set[0].Kind != wantKind {
			t.Errorf("device %d was settled by a %s record, want %s", i+1, set[0].Kind, wantKind)
		}
	}
	// DPS was away as the first device came into view: the queue was used.
	if queuedAtSight == 0 {
		t.Fatalf("no device was queued, so the test proved nothing about the queue:%s", describe(evs))
	}
	done := 0
	for _, ev := range evs {
		if ev.Done() {
			done++
		}
	}
	if sum.Devices != len(l.shown) || sum.Done != done || sum.Foreign != len(l.foreign) || sum.Invalid != len(l.invalid) || sum.Frames != l.frames() {
		t.Errorf("summary %+v; want %d devices, %d done, %d foreign, %d invalid, %d frames", sum, len(l.shown), done, len(l.foreign), len(l.invalid), l.frames())
	}
}

// DPS stays away past the settle timeout: the scan ends with every device queued and says so;
// the journal keeps them, with their running numbers; once DPS is back, sending the journal's
// queue as companion sync does enrolls each exactly once.
func TestScanLeavesItsQueueToSync(t *testing.T) {
	l := productionLine(t)
	site := newSite(t)
	cfg := site.config(l.video(t))
	cfg.DeviceID = mustTemplate(t, "line4-{n:3}")
	cfg.AttemptTimeout, cfg.SettleTimeout = 2*time.Second, 300*time.Millisecond
	setFaults(t, site, emulator.FaultConfig{UnavailableFor: emulator.Duration(time.Hour)})
	evs, sum := run(t, cfg)

	if sum.Queued != len(l.devs) || sum.Done != 0 || sum.Devices != len(l.shown) {
		t.Errorf("summary %+v, want %d devices seen, none done, %d queued", sum, len(l.shown), len(l.devs))
	}
	for _, ev := range evs {
		if ev.Kind == scan.Sent || ev.Kind == scan.Device && (ev.Outcome != scan.Queued || !errors.Is(ev.Err, dps.ErrUnavailable)) {
			t.Errorf("with DPS away: %s", describe([]scan.Event{ev}))
		}
	}
	p, err := site.journal.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != len(l.devs) {
		t.Fatalf("the journal has %d enrollments to send, want %d", len(p), len(l.devs))
	}
	for i, q := range p {
		if q.Device.RegistrationID != l.devs[i].RegistrationID || q.Settings.DeviceID != fmt.Sprintf("line4-%03d", i+1) {
			t.Errorf("queued %d: %s as %q, want %s as line4-%03d", i+1, q.Device.RegistrationID, q.Settings.DeviceID, l.devs[i].RegistrationID, i+1)
		}
	}

	setFaults(t, site, emulator.FaultConfig{})
	if got := enrollments(t, site.admin); len(got) != 0 {
		t.Fatalf("DPS was away, yet holds %d enrollments", len(got))
	}
	if n := syncJournal(t, site.journal, site.admin); n != len(l.devs) {
		t.Errorf("sync created %d, want %d", n, len(l.devs))
	}
	got := checkEnrolled(t, site.admin, l.devs...)
	for i, d := range l.devs {
		if want := fmt.Sprintf("line4-%03d", i+1); got[d.RegistrationID].DeviceID != want {
			t.Errorf("device %d is enrolled as %q, want %q", i+1, got[d.RegistrationID].DeviceID, want)
		}
	}
	if p := scantest.Pending(t, site.journal); len(p) != 0 {
		t.Errorf("after sync the journal still has %v to send", p)
	}
	if n := syncJournal(t, site.journal, site.admin); n != 0 {
		t.Errorf("a second sync created %d", n)
	}
}

// A scan started after an earlier one: the device the journal settled is reported as already
// enrolled, known, without asking DPS; the enrollment the earlier scan left queued is sent
// first, with the settings and number it was queued with; the new device gets the next number.
func TestScanContinuesAnEarlierScan(t *testing.T) {
	devs := scantest.Devices(t, 3)
	settled, queued, fresh := devs[0], devs[1], devs[2]
	site := newSite(t)
	j := site.journal
	earlier := func(d identity.Identity, deviceID string) journal.Entry {
		if _, err := j.RecordSeen(journal.DeviceOf(d), "/dev/video0", 12, time.Time{}); err != nil {
			t.Fatal(err)
		}
		q, err := j.Queue(journal.DeviceOf(d), enroll.Settings{DeviceID: deviceID}, enroll.Options{}, "sending as scanned")
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	earlier(settled, "st-01")
	if _, err := j.RecordAttempt(journal.DeviceOf(settled), enroll.Settings{DeviceID: "st-01"}, enroll.Created, nil); err != nil {
		t.Fatal(err)
	}
	q := earlier(queued, "st-02")
	site.reopen(t)

	segs := []scantest.Segment{
		{Duration: time.Second},
		{Text: scantest.Payload(t, settled, identity.FormatV1), Duration: time.Second},
		{Text: scantest.Payload(t, fresh, identity.FormatV1), Duration: time.Second},
	}
	src, err := camera.OpenDir(scantest.Frames(t, segs, 1))
	if err != nil {
		t.Fatal(err)
	}
	cfg := site.config(src)
	cfg.DeviceID = mustTemplate(t, "st-{n:2}")
	evs, sum := run(t, cfg)

	type want struct {
		kind     scan.Kind
		id       string
		outcome  enroll.Outcome
		known    bool
		number   int
		deviceID string
	}
	wantSent := want{scan.Sent, queued.RegistrationID, enroll.Created, false, 2, "st-02"}
	wantKnown := want{scan.Device, settled.RegistrationID, enroll.AlreadyEnrolled, true, 1, "st-01"}
	wantFresh := want{scan.Device, fresh.RegistrationID, enroll.Created, false, 3, "st-03"}
	// The new device is created as it is scanned, or, should it come into view before the
	// earlier queue is sent, queued behind it and sent after it.
	wantFreshQueued := want{scan.Device, fresh.RegistrationID, scan.Queued, false, 3, "st-03"}
	wantFreshSent := want{scan.Sent, fresh.RegistrationID, enroll.Created, false, 3, "st-03"}
	var known, created, other []want
	for _, ev := range evs {
		g := want{ev.Kind, ev.Device.RegistrationID, ev.Outcome, ev.Known, ev.Number, ev.DeviceID}
		switch {
		case g == wantKnown:
			known = append(known, g)
		case g.outcome == enroll.Created:
			created = append(created, g)
		case g != wantFreshQueued:
			other = append(other, g)
		}
	}
	// The known device may be reported any time; the earlier queue is sent before anything new.
	if len(known) != 1 || len(other) != 0 || len(created) != 2 || created[0] != wantSent || created[1] != wantFresh && created[1] != wantFreshSent {
		t.Fatalf("events:%s\nwant %+v first, then %+v, and %+v", describe(evs), wantSent, wantFresh, wantKnown)
	}
	if sum.Devices != 2 || sum.Done != 3 || sum.Queued != 0 || sum.Failed != 0 {
		t.Errorf("summary %+v, want 2 devices, 3 done, none queued or failed", sum)
	}

	// DPS was not asked about the settled device: only the queued and the new one are there.
	checkEnrolled(t, site.admin, queued, fresh)
	s := settling(records(t, site.journal)[queued.RegistrationID])
	if len(s) != 1 || s[0].Kind != journal.Sent || s[0].Queued != q.Seq || s[0].Outcome != enroll.Created {
		t.Errorf("the queued device's settling records: %s, want one sent record answering queue record %d", brief(s), q.Seq)
	}
	if p := scantest.Pending(t, site.journal); len(p) != 0 {
		t.Errorf("still to send: %v", p)
	}
}

// DPS creates the enrollment, then refuses to read it back: the device was created by this
// scan, and the scan and its journal say so, rather than queueing it and later finding it
// "already enrolled" as though someone else had.
func TestScanReportsCreatedWhenTheReadBackFails(t *testing.T) {
	dev := scantest.Devices(t, 1)[0]
	site := newSite(t)
	src, err := camera.OpenDir(scantest.Frames(t, []scantest.Segment{{Text: scantest.Payload(t, dev, identity.FormatV1)}}, 1))
	if err != nil {
		t.Fatal(err)
	}
	// Enrolling is a look-up (request 1), the create (2) and a read-back (3, and 4 on retry):
	// the read-back is refused both times the client tries it.
	setFaults(t, site, emulator.FaultConfig{UnavailableEvery: 3, ThrottleEvery: 4})
	evs, sum := run(t, site.config(src))
	setFaults(t, site, emulator.FaultConfig{})

	checkEnrolled(t, site.admin, dev)
	s := settling(records(t, site.journal)[dev.RegistrationID])
	if len(s) != 1 || s[0].Outcome != enroll.Created {
		t.Errorf("settling records %s, want one, created:%s", brief(s), describe(evs))
	}
	if devs := ofKind(evs, scan.Device); len(devs) != 1 || devs[0].Outcome != enroll.Created || sum.Done != 1 {
		t.Errorf("the scan reported%s\nwant the device created as it was scanned", describe(evs))
	}
}

// The camera fails (here: its ffmpeg process ends under it, as when a camera is unplugged)
// while a device waits for DPS: the scan ends at once with the camera's error rather than
// waiting out its settle time, and the device stays queued in the journal for companion sync.
func TestScanEndsWhenTheCameraFails(t *testing.T) {
	dev := scantest.Devices(t, 1)[0]
	site := newSite(t)
	video := scantest.Video(t, []scantest.Segment{{Text: scantest.Payload(t, dev, identity.FormatV1), Duration: time.Minute}}, 10)
	ff, err := camera.OpenFFmpeg(t.Context(), camera.FFmpegConfig{Input: []string{"-re", "-i", video}})
	if err != nil {
		t.Fatal(err)
	}
	src := camera.NewLatest(ff)
	defer src.Close()
	setFaults(t, site, emulator.FaultConfig{UnavailableFor: emulator.Duration(time.Hour)})

	cfg := site.config(src)
	cfg.SettleTimeout = time.Hour
	cfg.Report = func(ev scan.Event) {
		if ev.Kind == scan.Device && ev.Outcome == scan.Queued {
			ff.Close() // the camera goes away
		}
	}
	_, sum, err := runErr(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "reading frames") {
		t.Fatalf("Run = %v, want the camera's failure", err)
	}
	if got := scantest.Pending(t, site.journal); len(got) != 1 || got[0] != dev.RegistrationID || sum.Queued != 1 {
		t.Errorf("pending %v, summary queued %d; want the device left queued", got, sum.Queued)
	}
}

// An enrollment an earlier scan run with replace left queued is sent by the next scan as it was
// queued, even though this one does not replace: the enrollment that holds another key under
// its registration ID is replaced, not a conflict.
func TestScanSendsAQueuedReplaceAsQueued(t *testing.T) {
	dev := scantest.Devices(t, 1)[0]
	site := newSite(t)
	if _, err := site.journal.Queue(journal.DeviceOf(dev), enroll.Settings{}, enroll.Options{Replace: true}, "sending as scanned"); err != nil {
		t.Fatal(err)
	}
	old := scantest.Devices(t, 1)[0]
	old.RegistrationID = dev.RegistrationID
	if _, err := enroll.Enroll(t.Context(), site.admin, ektest.Verify(t, old), enroll.Settings{}, enroll.Options{}); err != nil {
		t.Fatal(err)
	}
	site.reopen(t)

	src, err := camera.OpenDir(scantest.Frames(t, []scantest.Segment{{Duration: time.Second}}, 1))
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := run(t, site.config(src))
	sent := ofKind(evs, scan.Sent)
	if len(sent) != 1 || sent[0].Outcome != enroll.Replaced {
		t.Fatalf("sent events:%s; want the queued device replaced", describe(sent))
	}
	got := checkEnrolled(t, site.admin, dev)
	if got[dev.RegistrationID].Attestation.TPM.EndorsementKey != base64.StdEncoding.EncodeToString(dev.EndorsementKey) {
		t.Errorf("enrolled with another key than the queued device's")
	}
	if p := scantest.Pending(t, site.journal); len(p) != 0 {
		t.Errorf("the journal still has %v to send", p)
	}
}
