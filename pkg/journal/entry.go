package journal

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
)

// Kind is what a record says.
type Kind string

// Kinds of record.
const (
	// Seen: a device's code was read and its identity checked.
	Seen Kind = "seen"
	// Queued: the enrollment could not be sent (DPS unreachable or throttling); it is to be sent
	// later with the settings recorded.
	Queued Kind = "queued"
	// Attempt: an enrollment was sent as it was scanned, with its outcome.
	Attempt Kind = "attempt"
	// Sent: a queued enrollment was sent, with its outcome.
	Sent Kind = "sent"
)

// settles reports whether an attempt with this outcome ends the device's enrollment, so that a
// queued one is no longer pending.
func settles(o enroll.Outcome) bool { return o != enroll.Failed && o != "" }

// Device is a device's identity as the journal keeps it.
type Device struct {
	RegistrationID string `json:"registrationId"`
	// EndorsementKey and StorageRootKey are TPM2B_PUBLIC structures (base64 in JSON).
	EndorsementKey []byte `json:"endorsementKey,omitempty"`
	StorageRootKey []byte `json:"storageRootKey,omitempty"`
	// Label is the label the device's code carried, if any.
	Label string `json:"label,omitempty"`
}

// DeviceOf is the journal's record of an identity.
func DeviceOf(id identity.Identity) Device {
	return Device{RegistrationID: id.RegistrationID, EndorsementKey: id.EndorsementKey, StorageRootKey: id.StorageRootKey, Label: id.Label}
}

// Identity is the device's identity as recorded, to enroll it once identity.Verify has
// checked it again.
func (d Device) Identity() identity.Identity {
	return identity.Identity{RegistrationID: d.RegistrationID, EndorsementKey: d.EndorsementKey, StorageRootKey: d.StorageRootKey, Label: d.Label}
}

// Settings are an enrollment's settings (enroll.Settings) as the journal keeps them, so that a
// queued enrollment is sent later exactly as it was asked for.
type Settings struct {
	DeviceID string              `json:"deviceId,omitempty"`
	IoTHub   string              `json:"iotHub,omitempty"`
	Disabled bool                `json:"disabled,omitempty"`
	Edge     bool                `json:"edge,omitempty"`
	Twin     *dpsapi.InitialTwin `json:"initialTwin,omitempty"`
	Tags     map[string]string   `json:"tags,omitempty"`
}

// SettingsOf is the journal's record of s.
func SettingsOf(s enroll.Settings) *Settings {
	return &Settings{DeviceID: s.DeviceID, IoTHub: s.IoTHub, Disabled: s.Disabled, Edge: s.Edge, Twin: s.Twin, Tags: s.Tags}
}

// Enroll is the settings to enroll with; the zero Settings for a nil s.
func (s *Settings) Enroll() enroll.Settings {
	if s == nil {
		return enroll.Settings{}
	}
	return enroll.Settings{DeviceID: s.DeviceID, IoTHub: s.IoTHub, Disabled: s.Disabled, Edge: s.Edge, Twin: s.Twin, Tags: s.Tags}
}

// Entry is one record. Which fields are set depends on its Kind.
type Entry struct {
	// Seq numbers the records from 1 in the order they were written.
	Seq    uint64    `json:"seq"`
	Kind   Kind      `json:"kind"`
	Time   time.Time `json:"time"`
	Device Device    `json:"device"`

	// Source and Frame say where a Seen device was read: the camera, video or file, and the
	// frame's number in it.
	Source string `json:"source,omitempty"`
	Frame  int    `json:"frame,omitempty"`

	// Settings are what a Queued enrollment is to be sent with, or what an Attempt or Sent one
	// was sent with.
	Settings *Settings `json:"settings,omitempty"`
	// Replace is, for Queued, whether the enrollment overwrites one that holds another key
	// (enroll.Options.Replace), as the scan that queued it was asked to.
	Replace bool `json:"replace,omitempty"`
	// Reason says why an enrollment was Queued.
	Reason string `json:"reason,omitempty"`

	// Outcome and Error are how an Attempt or Sent enrollment ended.
	Outcome enroll.Outcome `json:"outcome,omitempty"`
	Error   string         `json:"error,omitempty"`
	// Queued is, for Sent, the Seq of the Queued record it answers.
	Queued uint64 `json:"queued,omitempty"`
}

// RecordSeen records that a device's code was read from frame of source at the time given (the
// frame's time; zero means now).
func (j *Journal) RecordSeen(d Device, source string, frame int, at time.Time) (Entry, error) {
	return j.append(Entry{Kind: Seen, Time: at, Device: d, Source: source, Frame: frame})
}

// Queue records an enrollment to be sent later with s and opts, and why it was not sent now.
// It is pending until an attempt for the device settles it; queuing a device again replaces
// its settings and options.
func (j *Journal) Queue(d Device, s enroll.Settings, opts enroll.Options, reason string) (Entry, error) {
	return j.append(Entry{Kind: Queued, Device: d, Settings: SettingsOf(s), Replace: opts.Replace, Reason: reason})
}

// Options are the options a Queued enrollment is to be sent with.
func (e Entry) Options() enroll.Options { return enroll.Options{Replace: e.Replace} }

// RecordAttempt records an enrollment sent as the device was scanned, with its outcome (see
// enroll.OutcomeOf) and error. An outcome other than enroll.Failed also settles a queued enrollment of the
// device.
func (j *Journal) RecordAttempt(d Device, s enroll.Settings, outcome enroll.Outcome, err error) (Entry, error) {
	return j.append(Entry{Kind: Attempt, Device: d, Settings: SettingsOf(s), Outcome: outcome, Error: errorText(err)})
}

// SentEnrollment is one enrollment sent and its outcome, for RecordAttempts.
type SentEnrollment struct {
	Device   Device
	Settings enroll.Settings
	Outcome  enroll.Outcome
	Err      error
}

// RecordAttempts records many attempts as RecordAttempt does, in one durable write (a bulk
// enrollment's chunk), so journaling thousands of devices costs one fsync a chunk, not one each.
func (j *Journal) RecordAttempts(attempts []SentEnrollment) error {
	entries := make([]Entry, len(attempts))
	for i, a := range attempts {
		entries[i] = Entry{Kind: Attempt, Device: a.Device, Settings: SettingsOf(a.Settings), Outcome: a.Outcome, Error: errorText(a.Err)}
	}
	_, err := j.appendAll(entries)
	return err
}

// RecordSent records the outcome of sending the queued enrollment q. enroll.Failed leaves it
// pending.
func (j *Journal) RecordSent(q Entry, outcome enroll.Outcome, err error) (Entry, error) {
	return j.append(Entry{Kind: Sent, Device: q.Device, Settings: q.Settings, Outcome: outcome, Error: errorText(err), Queued: q.Seq})
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Pending returns the queued enrollments not yet settled, one per device (its latest), oldest
// first: what is still to be sent.
func (j *Journal) Pending() ([]Entry, error) {
	pending := map[string]Entry{}
	err := j.each(func(e Entry) error {
		id := e.Device.RegistrationID
		switch {
		case e.Kind == Queued:
			pending[id] = e
		case (e.Kind == Attempt || e.Kind == Sent) && settles(e.Outcome):
			delete(pending, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Values(pending))
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// Settled returns, for every device whose enrollment is settled, the record that settled it
// (the latest): the devices a scan need not enroll again.
func (j *Journal) Settled() (map[string]Entry, error) {
	out := map[string]Entry{}
	err := j.each(func(e Entry) error {
		if (e.Kind == Attempt || e.Kind == Sent) && settles(e.Outcome) {
			out[e.Device.RegistrationID] = e
		}
		return nil
	})
	return out, err
}
