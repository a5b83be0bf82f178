package mssim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTPM is a stand-in for swtpm's raw TCP server: it answers each TPM command with a success
// response whose body is the command's body, and records the commands it got.
type fakeTPM struct {
	addr string
	mu   sync.Mutex
	got  [][]byte
}

// startFakeTPM serves a fakeTPM on a free loopback port until the test ends.
func startFakeTPM(t testing.TB) *fakeTPM {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTPM{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				for {
					cmd, err := readResponse(c) // a command is framed like a response
					if err != nil {
						return
					}
					f.mu.Lock()
					f.got = append(f.got, cmd)
					f.mu.Unlock()
					rsp := bytes.Clone(cmd)
					binary.BigEndian.PutUint16(rsp[0:2], 0x8001)
					binary.BigEndian.PutUint32(rsp[6:10], 0)
					if _, err := c.Write(rsp); err != nil {
						return
					}
				}
			})
		}
	})
	return f
}

// commands returns the commands the fake got so far.
func (f *fakeTPM) commands() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.got...)
}

// server is a Server running in front of a backend until the test ends.
type server struct {
	// tpm and platform are the addresses of the TPM command port and the platform port.
	tpm, platform string
	logFile       string
	stop          func()
}

// serve runs a Server in front of backend on adjacent free ports until the test ends.
func serve(t testing.TB, backend string) *server {
	t.Helper()
	tl, pl, err := ListenPair()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{tpm: tl.Addr().String(), platform: pl.Addr().String(), logFile: filepath.Join(t.TempDir(), "log")}
	// The handler writes each record in one call to a file the test reads back whenever it
	// likes: no buffer shared with the server's goroutines.
	f, err := os.Create(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Backend: backend, Logger: slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, tl, pl) }()
	s.stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after its context was cancelled, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context was cancelled")
		}
		_ = f.Close()
	})
	t.Cleanup(s.stop)
	return s
}

// logs returns what the server has logged so far.
func (s *server) logs(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantClosed fails the test unless the server closed c, having logged something that contains
// logged.
func (s *server) wantClosed(t testing.TB, c net.Conn, logged string) {
	t.Helper()
	if !closedByPeer(c) {
		t.Fatal("the server left the connection open")
	}
	if logs := s.logs(t); !strings.Contains(logs, logged) {
		t.Errorf("%q not logged:\n%s", logged, logs)
	}
}

// dial connects to addr and closes the connection when the test ends.
func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes req and reads exactly n bytes of answer.
func roundTrip(t testing.TB, c net.Conn, req []byte, n int) []byte {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatalf("writing %x: %v", req, err)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading the answer to %x: %v", req, err)
	}
	return b
}

// closedByPeer reports whether the peer closed c: a read gets no data and an error that is not
// a timeout (EOF, or a reset when the peer closed with our bytes unread).
func closedByPeer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	return n == 0 && err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// encode frames a TPM port request as a client sends it.
func encode(req request) []byte {
	b := binary.BigEndian.AppendUint32(nil, req.code)
	switch req.code {
	case sendCommand:
		b = append(b, req.locality)
		b = binary.BigEndian.AppendUint32(b, uint32(len(req.command)))
		b = append(b, req.command...)
	case remoteHandshake:
		b = binary.BigEndian.AppendUint32(b, req.clientVersion)
	case setAlternateResult:
		b = binary.BigEndian.AppendUint32(b, 0)
	case signalHashData:
		b = binary.BigEndian.AppendUint32(b, uint32(len(req.command)))
		b = append(b, req.command...)
	}
	return b
}

// tpmCommand builds a TPM 2.0 command with a correct size field: tag TPM_ST_NO_SESSIONS, code,
// then params.
func tpmCommand(code uint32, params ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, 0x8001)
	b = binary.BigEndian.AppendUint32(b, uint32(tpmHeaderSize+len(params)))
	b = binary.BigEndian.AppendUint32(b, code)
	return append(b, params...)
}
