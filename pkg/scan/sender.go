package scan

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/journal"
)

// reasonSending is the reason of the queue record written just before an enrollment is sent:
// if the process dies before its outcome is recorded, the next scan or sync sends it again,
// with the same settings (and so the same running number).
const reasonSending = "sending as scanned"

// errStopped is the reason an enrollment is left queued when the scan is stopped.
var errStopped = errors.New("the scan was stopped before it was sent; companion sync or the next scan sends it")

// sender enrolls the devices the reader hands over, one at a time and in order, and keeps the
// journal's queue moving: while DPS is away, new devices go straight to the queue, which is
// retried with backoff and sent in order once DPS answers. It runs on one goroutine.
type sender struct {
	s *Scanner

	settled map[string]journal.Entry // devices the journal has settled
	numbers map[string]int           // running numbers given so far
	next    int                      // the next running number

	pending  []journal.Entry // queued enrollments to send, oldest first
	queued   map[string]bool // registration IDs in pending
	offline  bool            // DPS did not answer the last attempt
	failures int             // consecutive failed tries of the queue
	lastErr  error           // why DPS is deemed away
	wake     *time.Timer
}

// newSender reads what the journal already holds: the settled devices, the running numbers
// given, and the queue left by an earlier scan, which this one sends first.
func (s *Scanner) newSender() (*sender, error) {
	snd := &sender{s: s, settled: map[string]journal.Entry{}, numbers: map[string]int{}, queued: map[string]bool{}, next: s.cfg.FirstNumber}
	snd.wake = time.NewTimer(time.Hour)
	snd.wake.Stop()
	if s.cfg.DryRun {
		return snd, nil
	}
	entries, err := s.cfg.Journal.Entries()
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Kind == journal.Queued || e.Kind == journal.Attempt {
			snd.number(e.Device.RegistrationID)
		}
	}
	if snd.settled, err = s.cfg.Journal.Settled(); err != nil {
		return nil, err
	}
	pending, err := s.cfg.Journal.Pending()
	if err != nil {
		return nil, err
	}
	for _, q := range pending {
		snd.addPending(q)
	}
	if len(pending) > 0 {
		snd.offline = true
		snd.wake.Reset(0)
	}
	return snd, nil
}

// number returns the device's running number, giving it the next one the first time.
func (snd *sender) number(regID string) int {
	n, ok := snd.numbers[regID]
	if !ok {
		n = snd.next
		snd.numbers[regID] = n
		snd.next++
	}
	return n
}

func (snd *sender) addPending(q journal.Entry) {
	snd.pending = append(snd.pending, q)
	snd.queued[q.Device.RegistrationID] = true
	snd.s.setQueued(len(snd.pending))
}

// run handles devices until the reader is done, then sends what is queued until it is all
// sent, SettleTimeout passes or ctx ends.
func (snd *sender) run(ctx context.Context) error {
	defer snd.wake.Stop()
	jobs := snd.s.jobs
	var settle <-chan time.Time
	for {
		if jobs == nil {
			if len(snd.pending) == 0 || ctx.Err() != nil {
				break
			}
			if settle == nil {
				t := time.NewTimer(snd.s.cfg.SettleTimeout)
				defer t.Stop()
				settle = t.C
			}
		}
		var err error
		select {
		case j, ok := <-jobs:
			if !ok {
				jobs = nil
				continue
			}
			err = snd.handle(ctx, j)
		case <-snd.wake.C:
			err = snd.drain(ctx)
		case <-settle:
			return nil
		case <-ctx.Done():
			// The reader stops too; what it already handed over is queued, not lost.
			if jobs != nil {
				for j := range jobs {
					if err := snd.handle(ctx, j); err != nil {
						return err
					}
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// handle deals with one device code that came into view.
func (snd *sender) handle(ctx context.Context, j job) error {
	cfg := &snd.s.cfg
	ev := j.ev
	ev.Kind = Device
	dev := j.id.Identity()
	ev.Device = journal.DeviceOf(dev)
	regID := dev.RegistrationID

	if j.dry {
		ev.Number = snd.number(regID)
		ev.DeviceID, ev.Err = cfg.DeviceID.Expand(dev, ev.Number)
		ev.Outcome = Checked
		if ev.Err != nil {
			ev.Outcome = enroll.Failed
		}
		snd.report(ev)
		return nil
	}
	if ev.Err != nil { // the reader could not record it
		return ev.Err
	}
	if e, ok := snd.settled[regID]; ok {
		ev.Known, ev.Outcome, ev.Number = true, e.Outcome, snd.numbers[regID]
		if e.Settings != nil {
			ev.DeviceID = e.Settings.DeviceID
		}
		if e.Outcome != enroll.Conflict {
			ev.Outcome = enroll.AlreadyEnrolled
		}
		snd.report(ev)
		return nil
	}
	if snd.queued[regID] {
		ev.Known, ev.Outcome, ev.Err, ev.Number = true, Queued, snd.lastErr, snd.numbers[regID]
		snd.report(ev)
		return nil
	}

	ev.Number = snd.number(regID)
	settings := cfg.Settings
	devID, err := cfg.DeviceID.Expand(dev, ev.Number)
	if devID != "" {
		settings.DeviceID = devID
	}
	ev.DeviceID = settings.DeviceID
	if err != nil {
		return snd.attempted(ev, settings, nil, err)
	}
	q, err := cfg.Journal.Queue(ev.Device, settings, enroll.Options{Replace: cfg.Replace}, reasonSending)
	if err != nil {
		return err
	}
	if snd.offline || ctx.Err() != nil {
		return snd.queue(ev, q)
	}
	res, err := snd.attempt(ctx, func(ctx context.Context) (*enroll.Result, error) {
		return enroll.Enroll(ctx, cfg.Client, j.id, settings, q.Options())
	})
	if snd.transient(ctx, err) {
		snd.wentAway(err)
		return snd.queue(ev, q)
	}
	return snd.attempted(ev, settings, res, err)
}

// attempt makes one attempt to send an enrollment, bounded by AttemptTimeout.
func (snd *sender) attempt(ctx context.Context, send func(context.Context) (*enroll.Result, error)) (*enroll.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, snd.s.cfg.AttemptTimeout)
	defer cancel()
	return send(ctx)
}

// transient reports whether an attempt's enrollment stays queued: DPS away, or the scan
// stopped while it was being sent.
func (snd *sender) transient(ctx context.Context, err error) bool {
	return err != nil && (ctx.Err() != nil || transient(err))
}

// transient reports whether an enrollment failed only because DPS could not be reached or
// asked to slow down, so that it is queued and sent later rather than recorded as failed.
func transient(err error) bool {
	var ne net.Error
	return errors.Is(err, dps.ErrThrottled) || errors.Is(err, dps.ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne)
}

// wentAway notes that DPS did not answer, and schedules the next try of the queue.
func (snd *sender) wentAway(err error) {
	snd.offline = true
	snd.failures++
	snd.lastErr = err
	snd.wake.Reset(snd.s.cfg.Resend.Backoff(snd.failures))
}

// queue reports a device whose enrollment waits in the journal's queue.
func (snd *sender) queue(ev Event, q journal.Entry) error {
	snd.addPending(q)
	ev.Outcome, ev.Err = Queued, snd.lastErr
	if ev.Err == nil {
		ev.Err = errStopped
	}
	snd.report(ev)
	return nil
}

// attempted records an attempt made as the device was scanned, then reports it.
func (snd *sender) attempted(ev Event, s enroll.Settings, res *enroll.Result, err error) error {
	outcome := enroll.OutcomeOf(res, err)
	e, jerr := snd.s.cfg.Journal.RecordAttempt(ev.Device, s, outcome, err)
	if jerr != nil {
		return jerr
	}
	if outcome != enroll.Failed {
		snd.settled[ev.Device.RegistrationID] = e
	}
	ev.Outcome, ev.Err = outcome, err
	if res != nil {
		ev.Enrollment = res.Enrollment
	}
	snd.report(ev)
	return nil
}

// drain sends the queue in order until it is empty or DPS fails again.
func (snd *sender) drain(ctx context.Context) error {
	for len(snd.pending) > 0 {
		if ctx.Err() != nil {
			return nil
		}
		q := snd.pending[0]
		res, err := snd.attempt(ctx, func(ctx context.Context) (*enroll.Result, error) {
			return sendQueued(ctx, snd.s.cfg.Client, q)
		})
		if snd.transient(ctx, err) {
			if ctx.Err() == nil {
				snd.wentAway(err)
			}
			return nil
		}
		e, ev, jerr := recordSent(snd.s.cfg.Journal, q, res, err, snd.s.now())
		if jerr != nil {
			return jerr
		}
		// A failure for good stays queued in the journal for companion sync; this scan does
		// not try it again.
		snd.pending = snd.pending[1:]
		delete(snd.queued, q.Device.RegistrationID)
		snd.s.setQueued(len(snd.pending))
		if ev.Outcome != enroll.Failed {
			snd.settled[q.Device.RegistrationID] = e
		}
		ev.Number = snd.numbers[q.Device.RegistrationID]
		snd.report(ev)
	}
	snd.offline, snd.failures, snd.lastErr = false, 0, nil
	return nil
}

func (snd *sender) report(ev Event) {
	ev.Time = snd.s.now()
	snd.s.emit(ev)
}
