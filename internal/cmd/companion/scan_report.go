package companion

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/scan"
)

// scanReporter shows a scan's events: a line each, or JSON lines, and on a terminal a status
// line kept below them and a bell for each device.
type scanReporter struct {
	opts *ScanOptions
	json *json.Encoder

	mu          sync.Mutex // one writer at a time: event lines and the status line share a terminal
	statusDrawn bool
}

func newScanReporter(opts *ScanOptions) *scanReporter {
	return &scanReporter{opts: opts, json: json.NewEncoder(opts.IO.Out)}
}

// scanEventJSON is the stable JSON shape of one line of `scan --format json`.
type scanEventJSON struct {
	Kind           scan.Kind                    `json:"kind"`
	Time           time.Time                    `json:"time"`
	Source         string                       `json:"source,omitempty"`
	Frame          int                          `json:"frame,omitempty"`
	FrameTime      *time.Time                   `json:"frameTime,omitempty"`
	RegistrationID string                       `json:"registrationId,omitempty"`
	Label          string                       `json:"label,omitempty"`
	DeviceID       string                       `json:"deviceId,omitempty"`
	Number         int                          `json:"number,omitempty"`
	Outcome        enroll.Outcome               `json:"outcome,omitempty"`
	Known          bool                         `json:"known,omitempty"`
	Text           string                       `json:"text,omitempty"`
	Error          string                       `json:"error,omitempty"`
	Enrollment     *dpsapi.IndividualEnrollment `json:"enrollment,omitempty"`
}

// event reports one event. The scan calls it after the journal holds the event.
func (r *scanReporter) event(ev scan.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearStatus()
	if r.opts.Format.Value == cli.FormatJSON {
		line := scanEventJSON{Kind: ev.Kind, Time: ev.Time, Source: ev.Source, Frame: ev.Frame,
			RegistrationID: ev.Device.RegistrationID, Label: ev.Device.Label, DeviceID: ev.DeviceID,
			Number: ev.Number, Outcome: ev.Outcome, Known: ev.Known, Text: ev.Text, Enrollment: ev.Enrollment}
		if !ev.FrameTime.IsZero() {
			line.FrameTime = &ev.FrameTime
		}
		if ev.Err != nil {
			line.Error = ev.Err.Error()
		}
		r.json.Encode(line)
		return
	}
	fmt.Fprintln(r.opts.IO.Out, describeEvent(ev))
	if r.opts.Bell && r.opts.IO.ErrTTY && (ev.Kind == scan.Device || ev.Kind == scan.Invalid) {
		fmt.Fprint(r.opts.IO.ErrOut, "\a")
	}
}

// describeEvent is an event as a line for people.
func describeEvent(ev scan.Event) string {
	who := deviceName(ev)
	switch ev.Kind {
	case scan.Foreign:
		return fmt.Sprintf("Skipped a code that is not a device identity: %q", shorten(ev.Text, 60))
	case scan.Invalid:
		return fmt.Sprintf("Refused %s: %v", invalidWhat(ev.Err), ev.Err)
	case scan.Unreadable:
		return fmt.Sprintf("Skipped an image: %v", ev.Err)
	case scan.Sent:
		return "Sent from the queue: " + outcomeText(ev, who)
	}
	return outcomeText(ev, who)
}

// invalidWhat names an identity code that fails its checks, and says what to do about it.
func invalidWhat(err error) string {
	switch {
	case errors.Is(err, identity.ErrUnsupportedVersion):
		return "a code from a newer agent"
	case errors.Is(err, identity.ErrTampered):
		return "an altered identity code; check the device before enrolling it"
	}
	return "a damaged identity code; show the device's screen again"
}

// outcomeText says what happened to a device's enrollment.
func outcomeText(ev scan.Event, who string) string {
	switch ev.Outcome {
	case enroll.Created:
		return "Enrolled " + who + "."
	case enroll.AlreadyEnrolled:
		if ev.Known {
			return "Already enrolled " + who + " (scanned before; nothing sent)."
		}
		return "Already enrolled " + who + ", with this key; nothing changed."
	case enroll.Replaced:
		return "Replaced the enrollment of " + who + " (it had another key)."
	case enroll.Updated:
		return "Rewrote the enrollment of " + who + "."
	case enroll.Conflict:
		if ev.Known {
			return "Conflict " + who + ": enrolled with another key (found earlier); not changed."
		}
		return fmt.Sprintf("Conflict %s: %v", who, ev.Err)
	case scan.Queued:
		return fmt.Sprintf("Queued %s: %v; it is sent when DPS answers.", who, ev.Err)
	case scan.Checked:
		return "Checked " + who + " (dry run: not enrolled)."
	}
	return fmt.Sprintf("Failed %s: %v", who, ev.Err)
}

// deviceName names a device in a line: its number, registration ID, device ID and label.
func deviceName(ev scan.Event) string {
	var b strings.Builder
	if ev.Number > 0 {
		fmt.Fprintf(&b, "#%d ", ev.Number)
	}
	b.WriteString(ev.Device.RegistrationID)
	if ev.DeviceID != "" && ev.DeviceID != ev.Device.RegistrationID {
		fmt.Fprintf(&b, " as %s", ev.DeviceID)
	}
	if ev.Device.Label != "" {
		fmt.Fprintf(&b, " [%s]", ev.Device.Label)
	}
	return b.String()
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// start draws the status line on a terminal until the returned function is called.
func (r *scanReporter) start(s *scan.Scanner) (stop func()) {
	if !r.opts.IO.ErrTTY {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.drawStatus(s.Status())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		r.mu.Lock()
		r.clearStatus()
		r.mu.Unlock()
	}
}

// drawStatus replaces the status line.
func (r *scanReporter) drawStatus(st scan.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := fmt.Sprintf("%.0f fps · %d devices done", st.FPS, st.Done)
	if st.Queued > 0 {
		line += fmt.Sprintf(" · %d queued", st.Queued)
	}
	if st.Failed > 0 {
		line += fmt.Sprintf(" · %d failed", st.Failed)
	}
	if st.Last != nil {
		line += " · last: " + lastText(*st.Last)
	}
	cols := 80
	if r.opts.IO.TermSize != nil {
		if c, _, ok := r.opts.IO.TermSize(); ok && c > 10 {
			cols = c
		}
	}
	fmt.Fprint(r.opts.IO.ErrOut, "\r\x1b[K"+shorten(line, cols-1))
	r.statusDrawn = true
}

// lastText is the last event in a few words.
func lastText(ev scan.Event) string {
	switch ev.Kind {
	case scan.Foreign:
		return "foreign code"
	case scan.Invalid:
		return "invalid code"
	}
	return string(ev.Outcome) + " " + shorten(ev.Device.RegistrationID, 16)
}

// clearStatus erases the status line so that a report line takes its place. r.mu is held.
func (r *scanReporter) clearStatus() {
	if r.statusDrawn {
		fmt.Fprint(r.opts.IO.ErrOut, "\r\x1b[K")
		r.statusDrawn = false
	}
}

// summary says what the scan did, on standard error.
func (r *scanReporter) summary(sum scan.Summary, journalPath string) {
	w := r.opts.IO.ErrOut
	fmt.Fprintf(w, "Scanned %d frames", sum.Frames)
	if sum.Dropped > 0 {
		fmt.Fprintf(w, " (%d stale frames dropped)", sum.Dropped)
	}
	if r.opts.DryRun {
		fmt.Fprintf(w, ": %d devices checked, nothing enrolled", sum.Checked)
	} else {
		fmt.Fprintf(w, ": %d devices seen, %d done, %d failed, %d still queued", sum.Devices, sum.Done, sum.Failed, sum.Queued)
	}
	fmt.Fprintf(w, "; %d foreign and %d invalid codes skipped", sum.Foreign, sum.Invalid)
	if sum.Unreadable > 0 {
		fmt.Fprintf(w, "; %d unreadable images skipped (each named above)", sum.Unreadable)
	}
	fmt.Fprintln(w, ".")
	if journalPath != "" {
		fmt.Fprintf(w, "Journal: %s\n", journalPath)
	}
}
