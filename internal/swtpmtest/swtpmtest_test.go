package swtpmtest

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// TestStartServesATPM sends TPM2_GetRandom to what Start started and checks a TPM 2.0 answers,
// then checks that the server is gone once the test that started it has ended.
func TestStartServesATPM(t *testing.T) {
	var addr string
	t.Run("running", func(t *testing.T) {
		spec, tcti := Start(t)
		addr = strings.TrimPrefix(spec, "tcp://")
		if !strings.HasPrefix(spec, "tcp://127.0.0.1:") || addr == spec {
			t.Fatalf("spec %q, want tcp://127.0.0.1:PORT", spec)
		}
		_, port, _ := net.SplitHostPort(addr)
		// tpm2-tools' swtpm TCTI takes the data port and expects the control port right after.
		if tcti != "swtpm:host=127.0.0.1,port="+port {
			t.Errorf("tcti %q does not name port %s", tcti, port)
		}
		p, _ := strconv.Atoi(port)
		ctrl, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)), 5*time.Second)
		if err != nil {
			t.Fatalf("no control port at data port + 1: %v", err)
		}
		ctrl.Close()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		// TPM2_GetRandom(8), no sessions.
		if _, err := c.Write([]byte{0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7B, 0, 8}); err != nil {
			t.Fatal(err)
		}
		rsp := make([]byte, 20)
		n, err := c.Read(rsp)
		if err != nil {
			t.Fatal(err)
		}
		if n < 10 || binary.BigEndian.Uint16(rsp) != 0x8001 || binary.BigEndian.Uint32(rsp[6:]) != 0 {
			t.Fatalf("GetRandom answered % x, want a successful TPM 2.0 response", rsp[:n])
		}
	})
	if addr == "" {
		return
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("swtpm still accepts connections on %s after its test ended", addr)
	}
}

// TestStartTwice checks that two TPMs run side by side, each with its own state.
func TestStartTwice(t *testing.T) {
	a, _ := Start(t)
	b, _ := Start(t)
	if a == b {
		t.Fatalf("both TPMs at %s", a)
	}
}

func TestIssuerCert(t *testing.T) {
	Start(t)
	for name, b := range map[string][]byte{"IssuerCert": IssuerCert(t), "RootCert": RootCert(t)} {
		block, _ := pem.Decode(b)
		if block == nil || block.Type != "CERTIFICATE" || !bytes.HasPrefix(block.Bytes, []byte{0x30}) {
			t.Fatalf("%s is not a PEM certificate", name)
		}
	}
}
