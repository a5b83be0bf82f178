package tpm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConnectionRefused(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	_, err = Open(context.Background(), Config{Path: "tcp://" + addr})
	t.Log(err)
	if !errors.Is(err, ErrNotAnswering) {
		t.Fatalf("got %v, want ErrNotAnswering", err)
	}
	for _, say := range []string{"nothing listens at tcp://" + addr, "start swtpm", "swtpm socket --tpm2", "--flags not-need-init,startup-clear"} {
		if !strings.Contains(err.Error(), say) {
			t.Errorf("message %q does not say %q", err, say)
		}
	}
}

// serve accepts one connection on a loopback listener and hands it to handle.
func serve(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		handle(c)
	}()
	return "tcp://" + l.Addr().String()
}

func TestTCPPeerThatIsNotATPM(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply []byte
		kind  error
		say   string
	}{
		{name: "closes at once", reply: nil, kind: ErrNotAnswering, say: "closed the connection in the middle of a command"},
		{name: "HTTP server", reply: []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), kind: ErrMalformedResponse, say: "unknown response tag 0x4854"},
		{name: "TPM 1.2", reply: response(0x00C4, rcBadTag), kind: ErrTPM12, say: "tcp://"},
		{name: "half a response", reply: capResponse()[:15], kind: ErrNotAnswering, say: "closed the connection"},
		{name: "absurd size", reply: []byte{0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, kind: ErrMalformedResponse, say: "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := serve(t, func(c net.Conn) {
				_, _ = readCommand(c)
				_, _ = c.Write(tc.reply)
			})
			_, err := Open(context.Background(), Config{Path: spec})
			t.Log(err)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("got %v, want %v saying %q", err, tc.kind, tc.say)
			}
		})
	}
}

func TestTCPSilentPeerAndCancel(t *testing.T) {
	spec := serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Open(ctx, Config{Path: spec})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancellation took %v", d)
	}
}

// TestTCPStartup checks that a software TPM not yet started is started: swtpm run without
// startup-clear answers TPM_RC_INITIALIZE until someone sends TPM2_Startup.
func TestTCPStartup(t *testing.T) {
	var (
		mu  sync.Mutex
		got []uint32
	)
	spec := serve(t, func(c net.Conn) {
		started := false
		for {
			cmd, err := readCommand(c)
			if err != nil {
				return
			}
			cc := binary.BigEndian.Uint32(cmd[6:10])
			mu.Lock()
			got = append(got, cc)
			mu.Unlock()
			switch {
			case cc == 0x144: // TPM2_Startup
				started = true
				_, _ = c.Write(rc(0))
			case !started:
				_, _ = c.Write(rc(rcInitialize))
			default:
				_, _ = c.Write(capResponse())
			}
		}
	})
	dev, err := Open(context.Background(), Config{Path: spec})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	dev.Close()
	mu.Lock()
	defer mu.Unlock()
	if want := []uint32{0x17A, 0x144, 0x17A}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("commands % x, want GetCapability, Startup, GetCapability", got)
	}
}

// readCommand reads one TPM command (same framing as a response) from a test peer.
func readCommand(r io.Reader) ([]byte, error) {
	var hdr [10]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	cmd := make([]byte, binary.BigEndian.Uint32(hdr[2:6]))
	copy(cmd, hdr[:])
	_, err := io.ReadFull(r, cmd[10:])
	return cmd, err
}

func TestReadResponse(t *testing.T) {
	good := capResponse()
	// Two responses back to back: each read takes exactly one.
	r := bytes.NewReader(append(append([]byte{}, good...), rc(rcLockoutWarn)...))
	first, err := readResponse(r)
	if err != nil || !bytes.Equal(first, good) {
		t.Fatalf("first response: % x, %v", first, err)
	}
	second, err := readResponse(r)
	if err != nil || !bytes.Equal(second, rc(rcLockoutWarn)) {
		t.Fatalf("second response: % x, %v", second, err)
	}
	if _, err := readResponse(r); err != io.EOF {
		t.Errorf("after the last response: %v, want io.EOF", err)
	}
	if _, err := readResponse(bytes.NewReader(good[:12])); err != io.ErrUnexpectedEOF {
		t.Errorf("cut response: %v, want io.ErrUnexpectedEOF", err)
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add(capResponse())
	f.Add(rc(rcLockoutWarn))
	f.Add(response(0x00C4, rcBadTag))
	f.Add([]byte{0x80, 0x01, 0, 0, 0, 9, 0, 0, 0, 0})
	f.Add([]byte{0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		rsp, err := readResponse(bytes.NewReader(data))
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, rsp) {
			t.Fatalf("response is not the start of the input")
		}
		if _, err := checkResponse(rsp); err != nil {
			t.Fatalf("readResponse returned a response checkResponse rejects: %v", err)
		}
	})
}
