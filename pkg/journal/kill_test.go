package journal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/enroll"
)

// envChild makes the test binary the writer that TestSurvivesKill kills.
const envChild = "OOB_JOURNAL_WRITER"

// TestWriterChild is not a test: run by TestSurvivesKill, it writes records to the journal
// named in its environment from four goroutines until it is killed, printing each record's
// seq, kind and device on stdout once the call that wrote it has returned (after the fsync).
func TestWriterChild(t *testing.T) {
	path := os.Getenv(envChild)
	if path == "" {
		t.Skip("run by TestSurvivesKill")
	}
	j, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	report := func(e Entry) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%d %s %s\n", e.Seq, e.Kind, e.Device.RegistrationID)
		out.Flush()
	}
	pid := os.Getpid()
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				d := Device{RegistrationID: fmt.Sprintf("p%d-w%d-%d", pid, w, i), EndorsementKey: []byte{1, 2, 3}}
				var e Entry
				var err error
				switch i % 3 {
				case 0:
					e, err = j.RecordSeen(d, "cam", i, time.Time{})
				case 1:
					e, err = j.Queue(d, enroll.Settings{IoTHub: "h.azure-devices.net"}, enroll.Options{}, "throttled")
				default:
					e, err = j.RecordAttempt(d, enroll.Settings{}, enroll.Created, nil)
				}
				if err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				report(e)
			}
		}()
	}
	select {}
}

// kill -9 at any moment loses nothing that was reported as written: a writer is killed
// mid-stream, three times over on the same journal, and every record it reported is there
// afterwards, as it was reported, and the journal keeps working.
func TestSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	reported := map[uint64]string{}
	for round, after := range []int{40, 113, 257} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWriterChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"="+path)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		n := 0
		read := func() {
			seq, rest, ok := strings.Cut(sc.Text(), " ")
			s, err := strconv.ParseUint(seq, 10, 64)
			if !ok || err != nil {
				t.Fatalf("round %d: the writer said %q", round, sc.Text())
			}
			reported[s] = rest
			n++
		}
		for n < after && sc.Scan() {
			read()
		}
		// Killed while its writers are in the middle of their next records.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for sc.Scan() { // lines already in the pipe were reported too
			read()
		}
		_ = cmd.Wait()
		if n < after {
			t.Fatalf("round %d: the writer reported %d records before it ended, want %d", round, n, after)
		}
	}

	j := open(t, path)
	es, err := j.Entries()
	if err != nil {
		t.Fatalf("the journal after kill -9: %v", err)
	}
	have := map[uint64]string{}
	for _, e := range es {
		have[e.Seq] = fmt.Sprintf("%s %s", e.Kind, e.Device.RegistrationID)
	}
	for seq, what := range reported {
		if have[seq] != what {
			t.Errorf("record %d (%s) was reported written but the journal has %q", seq, what, have[seq])
		}
	}
	if _, err := j.RecordSeen(device(1), "cam", 1, time.Time{}); err != nil {
		t.Errorf("writing after the kills: %v", err)
	}
	t.Logf("%d records reported by the killed writers, %d in the journal", len(reported), len(es))
}
