package scan

import (
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/journal"
)

// Kind is what an Event reports.
type Kind string

// Kinds of event.
const (
	// Device: a device's code came into view and its enrollment settled, was queued, or (dry
	// run) was checked.
	Device Kind = "device"
	// Sent: an enrollment queued earlier, in this scan or before it, was sent.
	Sent Kind = "sent"
	// Foreign: a QR code that is not a device identity code came into view; it is skipped.
	Foreign Kind = "foreign"
	// Invalid: an identity code that fails its checks (damaged, tampered, a newer format) came
	// into view; nothing is enrolled.
	Invalid Kind = "invalid"
	// Unreadable: one image of a folder could not be read; the scan goes on with the next.
	Unreadable Kind = "unreadable"
)

// Outcomes a scan reports besides enroll's.
const (
	// Queued: DPS could not be reached or kept throttling; the enrollment is in the journal's
	// queue and is sent when DPS answers, by this scan or by companion sync.
	Queued enroll.Outcome = "queued"
	// Checked: a dry run read and checked the identity and enrolled nothing.
	Checked enroll.Outcome = "checked"
)

// Event is one thing a scan reports. Which fields are set depends on Kind.
type Event struct {
	Kind Kind
	// Time is when the event was reported.
	Time time.Time

	// Source, Frame and FrameTime say which frame first showed the code: the source's name,
	// the frame's number, and when the source received it. An Unreadable event's Source is the
	// file that could not be read.
	Source    string
	Frame     int
	FrameTime time.Time
	// Text is a Foreign or Invalid code's text.
	Text string

	// Device is the device's identity (Device and Sent).
	Device journal.Device
	// Number is the device's running number in the journal, and DeviceID the IoT Hub device ID
	// it was enrolled with ("" when it is the registration ID).
	Number   int
	DeviceID string
	// Outcome is how its enrollment ended: one of enroll's outcomes, Queued or Checked.
	Outcome enroll.Outcome
	// Known means the journal had already settled the device: nothing was sent this time.
	Known bool
	// Enrollment is the enrollment as DPS holds it, after an attempt that reached DPS.
	Enrollment *dpsapi.IndividualEnrollment

	// Err says why the code is Invalid, the image Unreadable, or the enrollment failed or was
	// queued.
	Err error
}

// Done reports whether the event settles a device: enrolled, found enrolled, or refused for
// good. A Failed or Queued device is not done.
func (e Event) Done() bool {
	switch e.Outcome {
	case enroll.Created, enroll.AlreadyEnrolled, enroll.Replaced, enroll.Updated, enroll.Conflict:
		return e.Kind == Device || e.Kind == Sent
	}
	return false
}

// Status is a scan's progress, for a live status line: its Summary so far (Queued counting the
// enrollments waiting for DPS now), the frame rate and the last result.
type Status struct {
	Summary
	// FPS is the rate of decoded frames over the last second or so.
	FPS float64
	// Last is the latest Device, Sent, Foreign or Invalid event, if any.
	Last *Event
}
