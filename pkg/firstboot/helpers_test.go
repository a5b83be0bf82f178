package firstboot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/firstboot"
)

// recorder is the finalizer: it enables the "workload", marks the device finalized and counts.
type recorder struct {
	mu                 sync.Mutex
	enabled, finalized int
}

func (r *recorder) Run(ctx context.Context, mark func(context.Context) error) error {
	r.mu.Lock()
	r.enabled++
	r.mu.Unlock()
	if err := mark(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.finalized++
	r.mu.Unlock()
	return nil
}

// waitStatus nudges the running agent until it reports a status starting with want.
func waitStatus(t *testing.T, stateDir string, done <-chan error, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the agent stopped (%v) while it should wait with %q", err, want)
		default:
		}
		if status, err := firstboot.Nudge(t.Context(), stateDir); err == nil {
			last = status
			if strings.HasPrefix(status, want) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the agent's status is %q, never %q", last, want)
}

// noWait stands in for the waits DPS asks for between polls: the emulator decides at once, so
// polling again immediately changes nothing but the time a test takes.
func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }
