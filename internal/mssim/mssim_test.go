package mssim

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

func TestHandshake(t *testing.T) {
	s := serve(t, startFakeTPM(t).addr)
	c := dial(t, s.tpm)
	got := roundTrip(t, c, encode(request{code: remoteHandshake, clientVersion: 1}), 12)
	// Server version 1, raw mode | platform available | physical presence, then the closing 0:
	// tss.js refuses any other version and any non-zero closing word.
	want := []byte{0, 0, 0, 1, 0, 0, 0, 0x0D, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("handshake answer %x, want %x", got, want)
	}
}

func TestSendCommandForwarded(t *testing.T) {
	fake := startFakeTPM(t)
	s := serve(t, fake.addr)
	c := dial(t, s.tpm)
	roundTrip(t, c, encode(request{code: remoteHandshake, clientVersion: 1}), 12)

	cmd := tpmCommand(0x17B, 0, 8) // TPM2_GetRandom(8)
	got := roundTrip(t, c, encode(request{code: sendCommand, command: cmd}), 4+len(cmd)+4)
	rsp := bytes.Clone(cmd)
	binary.BigEndian.PutUint32(rsp[6:10], 0) // the fake answers TPM_RC_SUCCESS
	want := binary.BigEndian.AppendUint32(nil, uint32(len(rsp)))
	want = append(want, rsp...)
	want = append(want, 0, 0, 0, 0)
	if !bytes.Equal(got, want) {
		t.Fatalf("answer %x, want %x", got, want)
	}
	if cmds := fake.commands(); len(cmds) != 1 || !bytes.Equal(cmds[0], cmd) {
		t.Fatalf("swtpm got %x, want exactly %x", cmds, cmd)
	}
}

func TestMisframedCommandAnsweredLocally(t *testing.T) {
	fake := startFakeTPM(t)
	s := serve(t, fake.addr)
	c := dial(t, s.tpm)
	long := tpmCommand(0x17B, 0, 8)
	binary.BigEndian.PutUint32(long[2:6], 100) // header claims more than the frame holds
	for name, cmd := range map[string][]byte{
		"shorter than a header": {0x80, 0x01, 0, 0},
		"header size too big":   long,
		"header size too small": append(tpmCommand(0x17B, 0, 8), 0xFF),
		"empty":                 {},
	} {
		t.Run(name, func(t *testing.T) {
			got := roundTrip(t, c, encode(request{code: sendCommand, command: cmd}), 4+10+4)
			want := append(binary.BigEndian.AppendUint32(nil, 10), errorResponse(rcCommandSize)...)
			want = append(want, 0, 0, 0, 0)
			if !bytes.Equal(got, want) {
				t.Fatalf("answer %x, want TPM_RC_COMMAND_SIZE framed: %x", got, want)
			}
		})
	}
	// swtpm never saw them, and the connection still works.
	cmd := tpmCommand(0x17B, 0, 8)
	roundTrip(t, c, encode(request{code: sendCommand, command: cmd}), 4+len(cmd)+4)
	if cmds := fake.commands(); len(cmds) != 1 {
		t.Fatalf("swtpm got %d commands, want only the well-framed one: %x", len(cmds), cmds)
	}
}

func TestPlatformSignals(t *testing.T) {
	fake := startFakeTPM(t)
	s := serve(t, fake.addr)
	c := dial(t, s.platform)
	for _, signal := range []uint32{
		signalPowerOn, signalNVOn, signalPowerOff, signalNVOff, signalReset, signalRestart,
		signalCancelOn, signalCancelOff, signalPhysPresOn, signalPhysPresOff,
		signalKeyCacheOn, signalKeyCacheOff, signalPowerOn,
	} {
		if got := roundTrip(t, c, uint32Bytes(signal), 4); !bytes.Equal(got, uint32Bytes(0)) {
			t.Fatalf("signal %d answered %x, want the acknowledgement 00000000", signal, got)
		}
	}
	if cmds := fake.commands(); len(cmds) != 0 {
		t.Fatalf("platform signals reached swtpm as commands: %x", cmds)
	}
}

func TestPlatformRefusesUnknownSignal(t *testing.T) {
	s := serve(t, startFakeTPM(t).addr)
	c := dial(t, s.platform)
	if got := roundTrip(t, c, uint32Bytes(30), 4); !bytes.Equal(got, uint32Bytes(1)) { // TPM_TEST_FAILURE_MODE
		t.Fatalf("answer %x, want the simulator's refusal 00000001", got)
	}
	s.wantClosed(t, c, "unsupported platform signal")
}

// TestTPMPortRequestsThatEndTheConnection: the simulator closes the connection on these, without
// an answer; the server stays up for the next client.
func TestTPMPortRequestsThatEndTheConnection(t *testing.T) {
	s := serve(t, startFakeTPM(t).addr)
	for _, tc := range []struct {
		name   string
		req    request
		logged string
	}{
		{"session end", request{code: sessionEnd}, ""},
		{"stop ends only this connection", request{code: stop}, ""},
		{"handshake with client version 0", request{code: remoteHandshake}, "client version 0"},
		{"hash start", request{code: 5}, "unsupported TPM port request"},
		{"hash data", request{code: signalHashData, command: []byte{1, 2}}, "unsupported TPM port request"},
		{"unknown", request{code: 99}, "code=99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s.tpm)
			if _, err := c.Write(encode(tc.req)); err != nil {
				t.Fatal(err)
			}
			s.wantClosed(t, c, tc.logged)
			roundTrip(t, dial(t, s.tpm), encode(request{code: remoteHandshake, clientVersion: 1}), 12)
		})
	}
	for _, code := range []uint32{sessionEnd, stop} {
		c := dial(t, s.platform)
		if _, err := c.Write(uint32Bytes(code)); err != nil {
			t.Fatal(err)
		}
		s.wantClosed(t, c, "")
	}
	roundTrip(t, dial(t, s.platform), uint32Bytes(signalPowerOn), 4)
}

// TestSequentialClients: like tss.js, each client opens both ports, works and leaves; the next
// one must be served the same way, with its own connection to swtpm.
func TestSequentialClients(t *testing.T) {
	fake := startFakeTPM(t)
	s := serve(t, fake.addr)
	cmd := tpmCommand(0x17B, 0, 8)
	for i := range 3 {
		c, p := dial(t, s.tpm), dial(t, s.platform)
		roundTrip(t, c, encode(request{code: remoteHandshake, clientVersion: 1}), 12)
		roundTrip(t, p, uint32Bytes(signalPowerOn), 4)
		roundTrip(t, p, uint32Bytes(signalNVOn), 4)
		roundTrip(t, c, encode(request{code: sendCommand, command: cmd}), 4+len(cmd)+4)
		_ = c.Close()
		_ = p.Close()
		if n := len(fake.commands()); n != i+1 {
			t.Fatalf("after client %d swtpm got %d commands", i+1, n)
		}
	}
}

// TestBackendGone: with nothing at the backend address the client's connection is closed and the
// failure logged; the server stays up for the next client.
func TestBackendGone(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()
	s := serve(t, dead)
	cmd := tpmCommand(0x17B, 0, 8)
	for range 2 {
		c := dial(t, s.tpm)
		roundTrip(t, c, encode(request{code: remoteHandshake, clientVersion: 1}), 12)
		if _, err := c.Write(encode(request{code: sendCommand, command: cmd})); err != nil {
			t.Fatal(err)
		}
		s.wantClosed(t, c, "forwarding a TPM command to swtpm")
	}
}

// TestServeStopsWithContext: cancelling the context closes the listeners and a connected client.
func TestServeStopsWithContext(t *testing.T) {
	s := serve(t, startFakeTPM(t).addr)
	c := dial(t, s.tpm)
	roundTrip(t, c, encode(request{code: remoteHandshake, clientVersion: 1}), 12)
	s.stop()
	if !closedByPeer(c) {
		t.Error("a connected client was left open")
	}
	if _, err := net.DialTimeout("tcp", s.tpm, time.Second); err == nil {
		t.Error("the TPM port still accepts connections")
	}
}

func TestListenPairAdjacent(t *testing.T) {
	tl, pl, err := ListenPair()
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	defer pl.Close()
	// tss.js connects to the platform port at the TPM port + 1, whatever it is told.
	if got, want := pl.Addr().(*net.TCPAddr).Port, tl.Addr().(*net.TCPAddr).Port+1; got != want {
		t.Fatalf("platform port %d, want the TPM port + 1 = %d", got, want)
	}
}
