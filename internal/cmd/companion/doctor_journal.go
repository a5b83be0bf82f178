package companion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/journal"
)

// journalLook reads the journal once for both journal checks.
type journalLook struct {
	path string
	once sync.Once
	// resolved is the journal's file; pending and conflicts what it holds; none, when set,
	// is both checks' finding instead (no journal, or one that cannot be read).
	resolved           string
	pending, conflicts []journal.Entry
	none               *doctor.Finding
}

func (l *journalLook) load() {
	l.once.Do(func() {
		j, path, err := openExistingJournal(l.path)
		l.resolved = path
		switch {
		case errors.Is(err, journal.ErrBusy):
			f := doctor.Warnf("run the doctor again when the scan or sync using it has finished", "%s is in use by another companion", path)
			l.none = &f
			return
		case err != nil:
			f := doctor.Failf("check the journal file given with --journal, or move it aside to start a new one", "%v", err)
			l.none = &f
			return
		case j == nil:
			f := doctor.Okf("no journal yet at %s: nothing scanned on this machine", path)
			l.none = &f
			return
		}
		defer j.Close()
		if l.pending, err = j.Pending(); err == nil {
			l.conflicts, err = conflicts(j)
		}
		if err != nil {
			f := doctor.Failf("check the journal file, or move it aside to start a new one", "reading %s: %v", path, err)
			l.none = &f
		}
	})
}

// conflicts returns, per device whose latest enrollment attempt was a conflict (enrolled with
// another key), that attempt, oldest first.
func conflicts(j *journal.Journal) ([]journal.Entry, error) {
	entries, err := j.Entries()
	if err != nil {
		return nil, err
	}
	latest := map[string]journal.Entry{}
	var order []string
	for _, e := range entries {
		if e.Kind != journal.Attempt && e.Kind != journal.Sent {
			continue
		}
		id := e.Device.RegistrationID
		if _, seen := latest[id]; !seen {
			order = append(order, id)
		}
		latest[id] = e
	}
	var out []journal.Entry
	for _, id := range order {
		if latest[id].Outcome == enroll.Conflict {
			out = append(out, latest[id])
		}
	}
	return out, nil
}

func (l *journalLook) pendingCheck(context.Context) doctor.Finding {
	l.load()
	if l.none != nil {
		return *l.none
	}
	if len(l.pending) == 0 {
		return doctor.Okf("%s: no enrollment waits to be sent", l.resolved)
	}
	return doctor.Warnf("send them with companion sync"+journalFlagFor(l.path)+" once DPS answers (the checks above say whether it does)",
		"%s: %d enrollment(s) queued, not yet sent: %s", l.resolved, len(l.pending), ids(l.pending))
}

func (l *journalLook) conflictsCheck(context.Context) doctor.Finding {
	l.load()
	if l.none != nil {
		return *l.none
	}
	if len(l.conflicts) == 0 {
		return doctor.Okf("%s: no device is enrolled with another key", l.resolved)
	}
	return doctor.Warnf("for a device whose TPM was replaced or cleared, enroll it again with companion enroll --replace; otherwise two devices claim the same registration ID (details: companion journal export --format json"+journalFlagFor(l.path)+")",
		"%s: %d registration ID(s) enrolled with another key: %s", l.resolved, len(l.conflicts), ids(l.conflicts))
}

// journalFlagFor is the --journal flag to repeat in a suggested command, empty for the default.
func journalFlagFor(path string) string {
	if path == "" {
		return ""
	}
	return " --journal " + path
}

// ids lists the entries' registration IDs, the first few of them.
func ids(es []journal.Entry) string {
	const most = 5
	var out []string
	for i, e := range es {
		if i == most {
			out = append(out, fmt.Sprintf("and %d more", len(es)-most))
			break
		}
		out = append(out, e.Device.RegistrationID)
	}
	return strings.Join(out, ", ")
}
