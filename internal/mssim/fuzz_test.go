package mssim

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzReadRequest: the TPM port's frame parser never panics or allocates past its bound, and a
// request it accepts encodes back to exactly the bytes it consumed.
func FuzzReadRequest(f *testing.F) {
	for _, req := range []request{
		{code: remoteHandshake, clientVersion: 1},
		{code: sendCommand, command: tpmCommand(0x17B, 0, 8)},
		{code: sendCommand, locality: 3, command: []byte{}},
		{code: setAlternateResult},
		{code: signalHashData, command: []byte("data")},
		{code: sessionEnd},
		{code: stop},
	} {
		f.Add(encode(req))
	}
	f.Add([]byte{0, 0, 0, sendCommand, 0, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0, 0, 0, sendCommand, 0, 0, 0, 0, 20, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		req, err := readRequest(r)
		if err != nil {
			if len(b) == 0 && !errors.Is(err, io.EOF) {
				t.Fatalf("empty input: %v, want io.EOF", err)
			}
			return
		}
		if len(req.command) > maxCommand {
			t.Fatalf("accepted a %d-byte command", len(req.command))
		}
		consumed := b[:len(b)-r.Len()]
		if req.code == setAlternateResult || req.code == signalHashData {
			return // their payload is read and dropped
		}
		if got := encode(req); !bytes.Equal(got, consumed) {
			t.Fatalf("re-encoded %x, consumed %x", got, consumed)
		}
	})
}

// FuzzReadResponse: a response from the backend is read within its bound, and what is returned
// is exactly as long as its header says.
func FuzzReadResponse(f *testing.F) {
	f.Add(errorResponse(0))
	f.Add(append(tpmCommand(0x17B, 0, 8), 1, 2))
	f.Add([]byte{0x80, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rsp, err := readResponse(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(rsp) < tpmHeaderSize || len(rsp) > maxResponse || !bytes.Equal(rsp, b[:len(rsp)]) {
			t.Fatalf("read %x from %x", rsp, b)
		}
	})
}

// FuzzServeTPM: any byte stream on the TPM port ends with the connection closed, never a panic or
// a hang, whatever reaches the backend.
func FuzzServeTPM(f *testing.F) {
	fake := startFakeTPM(f)
	s := &Server{Backend: fake.addr}
	f.Add(append(encode(request{code: remoteHandshake, clientVersion: 1}),
		encode(request{code: sendCommand, command: tpmCommand(0x17B, 0, 8)})...))
	f.Add(encode(request{code: sendCommand, command: []byte{0x80, 0x01, 0, 0, 0, 0x40}}))
	f.Add([]byte{0, 0, 0, 99})
	f.Fuzz(func(t *testing.T, b []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			s.serveTPM(t.Context(), server)
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(b)
		_ = client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("serveTPM still running on %x", b)
		}
	})
}
