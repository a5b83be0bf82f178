package firstboot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ControlSocket is the local socket in the state directory through which `oob-agent done` asks a
// waiting agent to try registering now.
const ControlSocket = "control.sock"

// control serves the control socket: each "try" line wakes the agent and is answered with the
// agent's current status.
type control struct {
	ln      net.Listener
	trigger chan<- struct{}

	mu     sync.Mutex
	status string
}

// listenControl opens the control socket in dir (mode 0600: only root, or the agent's user, may
// poke the agent). A stale socket left by a killed agent is replaced.
func listenControl(dir string, trigger chan<- struct{}) (*control, error) {
	path := filepath.Join(dir, ControlSocket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	c := &control{ln: ln, trigger: trigger}
	go c.serve()
	return c, nil
}

func (c *control) setStatus(s string) {
	c.mu.Lock()
	c.status = s
	c.mu.Unlock()
}

func (c *control) close() { c.ln.Close() }

func (c *control) serve() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		go c.handle(conn)
	}
}

func (c *control) handle(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return
	}
	switch strings.TrimSpace(line) {
	case "try":
		select {
		case c.trigger <- struct{}{}:
		default: // an attempt is already due
		}
		c.mu.Lock()
		status := c.status
		c.mu.Unlock()
		fmt.Fprintf(conn, "ok %s\n", status)
	default:
		fmt.Fprintf(conn, "error unknown request: send \"try\"\n")
	}
}

// Nudge asks the agent whose state directory is dir to try registering now, and returns its
// status at that moment.
func Nudge(ctx context.Context, dir string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(dir, ControlSocket))
	if err != nil {
		return "", fmt.Errorf("no agent is waiting (state directory %s): is the oob-agent service running, and not finalized? (%w)", dir, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := fmt.Fprintln(conn, "try"); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("the agent did not answer: %w", err)
	}
	reply = strings.TrimRight(reply, "\r\n")
	status, ok := strings.CutPrefix(reply, "ok ")
	if !ok {
		return "", fmt.Errorf("the agent answered %q", reply)
	}
	return status, nil
}
