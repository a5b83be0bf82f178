package scan

import (
	"context"
	"time"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/journal"
)

// Sync sends every enrollment queued in j, oldest first, each as it was queued: with its
// settings, and replacing an enrollment that holds another key only if it was queued to. Each
// outcome is recorded in j before report sees its Sent event; an enrollment that fails stays
// queued, and Sync goes on with the next. When ctx ends, the rest are not tried. The Summary
// counts the Sent events: Done those settled (Conflicts of them refused), Failed those that
// failed, and Queued all that stay queued, those not tried included. An error means j could
// not be read or written, or report failed.
func Sync(ctx context.Context, j *journal.Journal, c *dps.Client, report func(Event) error) (Summary, error) {
	var sum Summary
	pending, err := j.Pending()
	if err != nil {
		return sum, err
	}
	for i, q := range pending {
		if ctx.Err() != nil {
			sum.Queued += len(pending) - i
			break
		}
		res, sendErr := sendQueued(ctx, c, q)
		_, ev, err := recordSent(j, q, res, sendErr, time.Now())
		if err != nil {
			return sum, err
		}
		switch {
		case ev.Done():
			sum.Done++
			if ev.Outcome == enroll.Conflict {
				sum.Conflicts++
			}
		default:
			sum.Failed++
			sum.Queued++
		}
		if err := report(ev); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// sendQueued sends the queued enrollment q as it was queued. Its identity is verified again, as
// the journal holds it: the entry may have been written by an earlier run.
func sendQueued(ctx context.Context, c *dps.Client, q journal.Entry) (*enroll.Result, error) {
	id, err := identity.Verify(q.Device.Identity())
	if err != nil {
		return nil, err
	}
	return enroll.Enroll(ctx, c, id, q.Settings.Enroll(), q.Options())
}

// recordSent records the outcome of sending q and returns the record and the Sent event that
// reports it (its Number left to the caller).
func recordSent(j *journal.Journal, q journal.Entry, res *enroll.Result, err error, now time.Time) (journal.Entry, Event, error) {
	outcome := enroll.OutcomeOf(res, err)
	e, jerr := j.RecordSent(q, outcome, err)
	if jerr != nil {
		return e, Event{}, jerr
	}
	ev := Event{Kind: Sent, Time: now, Device: q.Device, Outcome: outcome, Err: err}
	if q.Settings != nil {
		ev.DeviceID = q.Settings.DeviceID
	}
	if res != nil {
		ev.Enrollment = res.Enrollment
	}
	return e, ev, nil
}
