package journal

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
)

func open(t *testing.T, path string) *Journal {
	t.Helper()
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func device(n int) Device {
	return Device{RegistrationID: fmt.Sprintf("dev-%03d", n), EndorsementKey: []byte{0, 1, byte(n)}, Label: fmt.Sprintf("press %d", n)}
}

// mustFor returns a check of a record call's result that fails t on an error.
func mustFor(t *testing.T) func(Entry, error) Entry {
	return func(e Entry, err error) Entry {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
}

func regIDs(es []Entry) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Device.RegistrationID)
	}
	return ids
}

// What is pending is what was queued and not yet settled, once per device, whatever happened
// in between; failures leave it pending, conflicts settle it.
func TestPending(t *testing.T) {
	must := mustFor(t)
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	hub := enroll.Settings{IoTHub: "line4.azure-devices.net", Tags: map[string]string{"line": "4"}}
	throttled := fmt.Errorf("create: %w", dps.ErrThrottled)

	must(j.RecordSeen(device(1), "/dev/video0", 17, time.Time{}))
	must(j.RecordAttempt(device(1), hub, enroll.Created, nil))
	for _, n := range []int{2, 3, 4, 5} {
		must(j.RecordSeen(device(n), "/dev/video0", 20+n, time.Time{}))
		must(j.Queue(device(n), hub, enroll.Options{}, "DPS is throttling"))
	}
	must(j.Queue(device(2), enroll.Settings{DeviceID: "press-2"}, enroll.Options{}, "DPS is unreachable")) // queued twice: the later one counts
	q3 := must(j.Queue(device(3), hub, enroll.Options{}, "again"))
	must(j.RecordSent(q3, enroll.Failed, throttled)) // still pending
	q4 := must(j.Queue(device(4), hub, enroll.Options{}, "again"))
	must(j.RecordSent(q4, enroll.Conflict, &enroll.ConflictError{RegistrationID: "dev-004"})) // settled, not retried
	must(j.RecordAttempt(device(5), hub, enroll.AlreadyEnrolled, nil))                        // the scan got through itself

	pending, err := j.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if got := regIDs(pending); !slices.Equal(got, []string{"dev-002", "dev-003"}) {
		t.Fatalf("pending %v, want dev-002 then dev-003 (by their latest queuing)", got)
	}
	if s := pending[0].Settings.Enroll(); s.DeviceID != "press-2" || s.IoTHub != "" {
		t.Errorf("dev-002 pending with %+v, want the settings it was queued with last", s)
	}
	if s := pending[1].Settings.Enroll(); s.IoTHub != hub.IoTHub || s.Tags["line"] != "4" {
		t.Errorf("dev-003 pending with %+v, want %+v", s, hub)
	}
	settled, err := j.Settled()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]enroll.Outcome{"dev-001": enroll.Created, "dev-004": enroll.Conflict, "dev-005": enroll.AlreadyEnrolled}
	if len(settled) != len(want) {
		t.Errorf("settled %v, want %v", settled, want)
	}
	for id, o := range want {
		if settled[id].Outcome != o {
			t.Errorf("%s settled as %q, want %q", id, settled[id].Outcome, o)
		}
	}
}

// Records survive closing and reopening, in order, field for field.
func TestReopen(t *testing.T) {
	must := mustFor(t)
	path := filepath.Join(t.TempDir(), "state", "oob", "journal.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	seenAt := time.Date(2025, 3, 4, 5, 6, 7, 8, time.FixedZone("CET", 3600))
	seen := must(j.RecordSeen(device(1), "clip.mp4", 42, seenAt))
	q := must(j.Queue(device(1), enroll.Settings{Disabled: true, Edge: true, Twin: &dpsapi.InitialTwin{Tags: json.RawMessage(`{"site":"lyon"}`)}}, enroll.Options{Replace: true}, "DPS is unreachable"))
	sent := must(j.RecordSent(q, enroll.Created, nil))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = open(t, path)
	got, err := j.Entries()
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{seen, q, sent}
	if len(got) != 3 {
		t.Fatalf("%d records after reopening, want 3", len(got))
	}
	for i := range want {
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(want[i])
		if !bytes.Equal(g, w) {
			t.Errorf("record %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
	if !got[0].Time.Equal(seenAt) || got[1].Seq != 2 || got[2].Queued != q.Seq {
		t.Errorf("records: %+v", got)
	}
	if s := got[1].Settings.Enroll(); !s.Disabled || !s.Edge || string(s.Twin.Tags) != `{"site":"lyon"}` {
		t.Errorf("queued settings came back as %+v", s)
	}
	if !got[1].Options().Replace {
		t.Errorf("queued with replace, came back as %+v", got[1].Options())
	}
}

// Writers in parallel: every record is kept once, numbered without gaps.
func TestConcurrentWriters(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := j.RecordSeen(device(w*each+i), "cam", i, time.Time{}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	es, err := j.Entries()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i+1, e.Seq)
		}
		ids[e.Device.RegistrationID] = true
	}
	if len(es) != writers*each || len(ids) != writers*each {
		t.Errorf("%d records of %d devices, want %d of each", len(es), len(ids), writers*each)
	}
}

// A second companion on the same journal is told it is busy rather than waiting for ever.
func TestBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	open(t, path)
	if _, err := Open(path); !errors.Is(err, ErrBusy) {
		t.Errorf("second Open: %v, want ErrBusy", err)
	}
}

// A journal written by a later layout is refused, not misread.
func TestOtherVersionRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyVersion, []byte("2"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Error("a version 2 journal was opened")
	}
}

func TestExport(t *testing.T) {
	must := mustFor(t)
	j := open(t, filepath.Join(t.TempDir(), "journal.db"))
	must(j.RecordSeen(device(1), "frames/0001.png", 1, time.Time{}))
	must(j.RecordAttempt(device(1), enroll.Settings{DeviceID: "press-1", IoTHub: "h.azure-devices.net"}, enroll.Failed, errors.New("boom, with a comma")))

	var b bytes.Buffer
	if err := j.Export(&b, CSV); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not read back: %v", err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("CSV rows %q", rows)
	}
	col := func(row int, name string) string { return rows[row][slices.Index(csvHeader, name)] }
	if col(1, "kind") != "seen" || col(1, "source") != "frames/0001.png" || col(1, "frame") != "1" || col(1, "endorsement_key") != "AAEB" || col(1, "label") != "press 1" {
		t.Errorf("seen row %q", rows[1])
	}
	if col(2, "outcome") != "failed" || col(2, "error") != "boom, with a comma" || col(2, "device_id") != "press-1" || col(2, "iot_hub") != "h.azure-devices.net" {
		t.Errorf("attempt row %q", rows[2])
	}

	b.Reset()
	if err := j.Export(&b, JSON); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&b)
	var kinds []Kind
	for dec.More() {
		var e Entry
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []Kind{Seen, Attempt}) {
		t.Errorf("JSON lines kinds %v", kinds)
	}
	if err := j.Export(&b, "xml"); err == nil {
		t.Error("xml export accepted")
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/state")
	if p, _ := DefaultPath(); p != filepath.Join("/var/state", "oob", "journal.db") {
		t.Errorf("with XDG_STATE_HOME: %s", p)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/tech")
	if p, _ := DefaultPath(); p != filepath.Join("/home/tech", ".local", "state", "oob", "journal.db") {
		t.Errorf("without XDG_STATE_HOME: %s", p)
	}
}

// A bulk request's outcomes land as one write, in order, and survive reopening; a queued device
// among them is settled as RecordAttempt would settle it.
func TestRecordAttempts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	j := open(t, path)
	must := mustFor(t)
	must(j.Queue(device(2), enroll.Settings{}, enroll.Options{}, "throttled"))
	batch := []SentEnrollment{
		{Device: device(1), Outcome: enroll.Created},
		{Device: device(2), Outcome: enroll.AlreadyEnrolled},
		{Device: device(3), Outcome: enroll.Failed, Err: errors.New("DPS answered 503")},
	}
	if err := j.RecordAttempts(batch); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j = open(t, path)
	pending, err := j.Pending()
	if err != nil || len(pending) != 0 {
		t.Errorf("pending %v, %v; the queued device was settled", regIDs(pending), err)
	}
	settled, err := j.Settled()
	if err != nil || len(settled) != 2 || settled["dev-001"].Outcome != enroll.Created || settled["dev-002"].Seq <= settled["dev-001"].Seq {
		t.Errorf("settled %+v, %v", settled, err)
	}
	var out bytes.Buffer
	if err := j.Export(&out, JSON); err != nil || !bytes.Contains(out.Bytes(), []byte("DPS answered 503")) {
		t.Errorf("export: %v\n%s", err, out.String())
	}
}
