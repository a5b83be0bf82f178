package agent

import (
	"bytes"
	"log/slog"
	"regexp"
	"strconv"
	"testing"
)

// The line make bench reads the agent's memory from: this process's peak, in KiB, which a Go
// test binary keeps above a megabyte and far below a gigabyte.
func TestLogPeakMemory(t *testing.T) {
	var buf bytes.Buffer
	logPeakMemory(slog.New(slog.NewTextHandler(&buf, nil)))
	m := regexp.MustCompile(`msg="peak resident memory" kib=(\d+)`).FindStringSubmatch(buf.String())
	if m == nil {
		t.Fatalf("logged %q, want the peak resident memory in KiB", buf.String())
	}
	if kib, _ := strconv.ParseInt(m[1], 10, 64); kib < 1024 || kib > 1<<20 {
		t.Errorf("peak resident memory %d KiB, want a test binary's (1 MiB to 1 GiB)", kib)
	}
}
