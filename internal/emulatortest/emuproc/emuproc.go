// Package emuproc starts the dps-emulator binary for tests and reads the addresses from its
// ready line. Tests only; no program imports it.
package emuproc

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/testio"
)

// ReadyTimeout is how long Start waits for the ready line; generous, since tests share the
// machine.
const ReadyTimeout = 30 * time.Second

// readyLine is the first line dps-emulator prints on stdout once every listener is open.
var readyLine = regexp.MustCompile(`^dps-emulator ready on https://(\S+) \(data (.+); admin (?:http://(\S+)|off); hub (?:mqtts://(\S+)|off)(?:; hub service https://(\S+))?\)$`)

// Process is a running dps-emulator.
type Process struct {
	Cmd *exec.Cmd
	// Addr is the service and device APIs' host:port; Admin and Hub the admin API's and the
	// IoT hub's, empty when switched off; HubService the hubs' service API's, empty unless
	// --hub-service-listen turned it on.
	Addr, Admin, Hub, HubService string
	// Data is the data directory the ready line names.
	Data string
	// Stdout holds every line printed on stdout, the ready line first; Stderr the log.
	Stdout, Stderr *testio.Buffer
	// Done receives the process's exit (cmd.Wait's error) once it has ended.
	Done <-chan error
}

// Start runs the binary bin on data directory dir with every listener on a free loopback port
// (args, appended, may override them) and returns once it has printed its ready line. The
// process is interrupted, and killed if it lingers, when the test ends.
func Start(t testing.TB, bin, dir string, args ...string) *Process {
	t.Helper()
	all := append([]string{"--data", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--hub-listen", "127.0.0.1:0"}, args...)
	cmd := exec.Command(bin, all...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	p := &Process{Cmd: cmd, Stdout: &testio.Buffer{}, Stderr: &testio.Buffer{}, Done: done}
	cmd.Stderr = p.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-exited:
			return
		default:
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for n := 0; sc.Scan(); n++ {
			if n == 0 {
				first <- sc.Text()
			}
			p.Stdout.Write([]byte(sc.Text() + "\n"))
		}
		close(first)
		err := cmd.Wait()
		close(exited)
		done <- err
	}()
	select {
	case line, ok := <-first:
		if !ok {
			t.Fatalf("dps-emulator exited without a ready line\nstderr:\n%s", p.Stderr)
		}
		m := readyLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("dps-emulator's first line is not its ready line: %q\nstderr:\n%s", line, p.Stderr)
		}
		p.Addr, p.Data, p.Admin, p.Hub, p.HubService = m[1], m[2], m[3], m[4], m[5]
		if p.Data != dir {
			t.Fatalf("dps-emulator's ready line names data directory %q, want %q", p.Data, dir)
		}
	case <-time.After(ReadyTimeout):
		t.Fatalf("dps-emulator printed no ready line within %v\nstderr:\n%s", ReadyTimeout, p.Stderr)
	}
	return p
}
