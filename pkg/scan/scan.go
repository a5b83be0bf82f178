package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/journal"
	"github.com/oobtpm/oob/pkg/qr/reader"
	"github.com/oobtpm/oob/pkg/retry"
)

// Defaults for Config's zero fields.
const (
	DefaultHold           = 1500 * time.Millisecond
	DefaultAttemptTimeout = 30 * time.Second
	DefaultSettleTimeout  = 2 * time.Minute
)

// DefaultResend is how a scan retries DPS while enrollments are queued: from 2 s, doubling to
// a minute, or what DPS's Retry-After asks.
var DefaultResend = retry.Policy{BaseDelay: 2 * time.Second, MaxDelay: time.Minute}

// Config is what a scan reads and how it enrolls what it reads.
type Config struct {
	// Source gives the frames. A live source should hand over only its newest frame
	// (camera.Open wraps one in camera.Latest); a finite one ends the scan with io.EOF.
	Source camera.Source

	// Journal records every device and enrollment before it is reported. Required unless
	// DryRun; the scan does not close it.
	Journal *journal.Journal
	// Client reaches DPS. Required unless DryRun. Its own retry policy should be short: an
	// enrollment that cannot be sent within AttemptTimeout is queued, not waited for.
	Client *dps.Client

	// Settings are every enrollment's settings; DeviceID, when not empty, replaces their
	// device ID, and FirstNumber is the running number of the journal's first device (0: 1).
	Settings    enroll.Settings
	DeviceID    Template
	FirstNumber int
	// Replace overwrites an enrollment that holds a different key (enroll.Options.Replace). It
	// is recorded with each queued enrollment, which is sent, later or by Sync, as it was queued.
	Replace bool

	// DryRun reads and checks codes and enrolls nothing; no journal or client is needed.
	DryRun bool
	// Once ends the scan after its first device.
	Once bool

	// Hold is how long a code may go unread before it counts as gone (DefaultHold).
	Hold time.Duration
	// AttemptTimeout bounds one enrollment attempt, retries included (DefaultAttemptTimeout).
	AttemptTimeout time.Duration
	// SettleTimeout is how long a scan whose source has ended keeps sending its queue before it
	// stops, leaving the rest to companion sync (DefaultSettleTimeout).
	SettleTimeout time.Duration
	// Resend spaces retries of the queue while DPS is away (DefaultResend).
	Resend retry.Policy

	// Report receives every event, from one goroutine at a time, after the journal holds it.
	Report func(Event)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Summary is what a finished scan did.
type Summary struct {
	Frames, Dropped int
	// Devices counts the device codes that came into view, Done those settled (created,
	// already enrolled, replaced, updated, conflict), Conflicts those refused, Failed those that
	// failed, Queued the enrollments still queued at the end, Checked those a dry run checked.
	Devices, Done, Conflicts, Failed, Queued, Checked int
	// Foreign and Invalid count the other codes that came into view.
	Foreign, Invalid int
	// Unreadable counts the image files skipped as unreadable.
	Unreadable int
}

// Scanner runs one scan.
type Scanner struct {
	cfg  Config
	now  func() time.Time
	jobs chan job

	mu   sync.Mutex
	sum  Summary
	last *Event
	rate rateMeter
}

// job is a device code that came into view, for the sender.
type job struct {
	id    identity.Verified
	ev    Event // Source, Frame, FrameTime
	dry   bool
	noted bool // RecordSeen done
}

// New checks cfg and returns a scanner.
func New(cfg Config) (*Scanner, error) {
	if cfg.Source == nil {
		return nil, errors.New("scan: no frame source")
	}
	if !cfg.DryRun && (cfg.Journal == nil || cfg.Client == nil) {
		return nil, errors.New("scan: a journal and a DPS client are needed unless it is a dry run")
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	if cfg.Hold <= 0 {
		cfg.Hold = DefaultHold
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.SettleTimeout <= 0 {
		cfg.SettleTimeout = DefaultSettleTimeout
	}
	if cfg.FirstNumber <= 0 {
		cfg.FirstNumber = 1
	}
	if cfg.Resend == (retry.Policy{}) {
		cfg.Resend = DefaultResend
	}
	cfg.Resend = cfg.Resend.WithDefaults()
	if cfg.Report == nil {
		cfg.Report = func(Event) {}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Scanner{cfg: cfg, now: now, jobs: make(chan job, 1024)}, nil
}

// Status returns the scan's progress so far. It is safe to call while Run runs.
func (s *Scanner) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Summary: s.sum, FPS: s.rate.rate(s.now())}
	if s.last != nil {
		last := *s.last
		st.Last = &last
	}
	return st
}

// Run scans until the source ends (and what it started is settled, or SettleTimeout passes),
// the first device with Once, or ctx ends. Ending ctx is not an error: enrollments not sent
// stay queued in the journal. An error means the scan could not go on: the source failed or
// the journal could not be written.
func (s *Scanner) Run(ctx context.Context) (Summary, error) {
	snd, err := s.newSender()
	if err != nil {
		return Summary{}, err
	}
	// The reader stops when the sender fails (the journal cannot be written): nothing more
	// could be recorded.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	// The sender does not linger over its queue when the source failed: the scan is over, and
	// what it has not sent is in the journal for companion sync.
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	sendErr := make(chan error, 1)
	go func() {
		err := snd.run(sendCtx)
		if err != nil {
			stopReading()
		}
		sendErr <- err
	}()

	readErr := s.read(readCtx)
	if readErr != nil {
		stopSending()
	}
	close(s.jobs)
	if err := <-sendErr; err != nil && readErr == nil {
		readErr = err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sum, readErr
}

// read decodes frames until the source ends, ctx ends or (Once) a device is seen.
func (s *Scanner) read(ctx context.Context) error {
	dec := reader.Decoder{Effort: reader.Fast}
	deb := newDebouncer(s.cfg.Hold)
	lastSeq := 0
	for {
		f, err := s.cfg.Source.Next(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, camera.ErrUnreadableFile):
			ev := Event{Kind: Unreadable, Time: s.now(), Err: err}
			if fe := (*camera.FileError)(nil); errors.As(err, &fe) {
				ev.Source = fe.Path
			}
			s.emit(ev)
			continue
		case err != nil:
			return fmt.Errorf("scan: reading frames: %w", err)
		}
		results, err := dec.Decode(f.Image)
		if err != nil && !errors.Is(err, reader.ErrNotFound) {
			return fmt.Errorf("scan: frame %d of %s: %w", f.Seq, f.Name, err)
		}
		texts := make([]string, 0, len(results))
		for _, r := range results {
			texts = append(texts, r.Text)
		}
		s.countFrame(f, lastSeq)
		lastSeq = f.Seq
		for _, text := range deb.frame(f.At, texts) {
			if s.code(ctx, text, f) && s.cfg.Once {
				return nil
			}
		}
	}
}

// code handles a code that came into view and reports whether it was a device's.
func (s *Scanner) code(ctx context.Context, text string, f camera.Frame) bool {
	ev := Event{Source: f.Name, Frame: f.Seq, FrameTime: f.Time, Text: text}
	id, err := identity.Parse(text)
	switch {
	case errors.Is(err, identity.ErrNotIdentity):
		ev.Kind, ev.Time, ev.Err = Foreign, s.now(), err
		s.emit(ev)
		return false
	case err != nil:
		ev.Kind, ev.Time, ev.Err = Invalid, s.now(), err
		s.emit(ev)
		return false
	}
	ev.Text = ""
	j := job{id: id, ev: ev, dry: s.cfg.DryRun}
	if !s.cfg.DryRun {
		// Durable before anything else happens to it: every scan is in the record.
		if _, err := s.cfg.Journal.RecordSeen(journal.DeviceOf(id.Identity()), f.Name, f.Seq, f.Time); err != nil {
			j.ev.Err = err
		}
		j.noted = true
	}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
	}
	return true
}

// countFrame counts a decoded frame and the frames a live source dropped before it.
func (s *Scanner) countFrame(f camera.Frame, lastSeq int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sum.Frames++
	if lastSeq > 0 && f.Seq > lastSeq+1 {
		s.sum.Dropped += f.Seq - lastSeq - 1
	}
	s.rate.add(s.now())
}

// emit counts and reports an event. The reader and the sender both emit; the lock keeps the
// counts and the order of reports together.
func (s *Scanner) emit(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := &s.sum
	switch ev.Kind {
	case Foreign:
		sum.Foreign++
	case Invalid:
		sum.Invalid++
	case Unreadable:
		sum.Unreadable++
	case Device:
		sum.Devices++
	}
	switch {
	case ev.Done():
		sum.Done++
		if ev.Outcome == enroll.Conflict {
			sum.Conflicts++
		}
	case ev.Outcome == enroll.Failed:
		sum.Failed++
	case ev.Outcome == Checked:
		sum.Checked++
	}
	if ev.Kind != Unreadable {
		last := ev
		s.last = &last
	}
	s.cfg.Report(ev)
}

// setQueued updates the count of enrollments waiting for DPS.
func (s *Scanner) setQueued(n int) {
	s.mu.Lock()
	s.sum.Queued = n
	s.mu.Unlock()
}

// rateMeter measures frames per second over the last second or so.
type rateMeter struct {
	times []time.Time
}

func (r *rateMeter) add(t time.Time) {
	r.times = append(r.times, t)
	if len(r.times) > 256 {
		r.times = r.times[len(r.times)-128:]
	}
}

func (r *rateMeter) rate(now time.Time) float64 {
	n := 0
	var first time.Time
	for i := len(r.times) - 1; i >= 0 && now.Sub(r.times[i]) <= time.Second; i-- {
		n++
		first = r.times[i]
	}
	if n < 2 {
		return float64(n)
	}
	span := now.Sub(first)
	if span < 100*time.Millisecond {
		span = 100 * time.Millisecond
	}
	return float64(n) / span.Seconds()
}
