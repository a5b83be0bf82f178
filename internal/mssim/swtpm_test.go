package mssim

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport/tcp"

	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/tpm"
)

func TestMain(m *testing.M) {
	code := m.Run()
	swtpmtest.Cleanup()
	os.Exit(code)
}

// startSwtpm starts swtpm and returns its tcp:// spec for pkg/tpm and its host:port for Server.
func startSwtpm(t *testing.T) (spec, backend string) {
	t.Helper()
	spec, _ = swtpmtest.Start(t)
	return spec, strings.TrimPrefix(spec, "tcp://")
}

// agentKeys reads the EK and SRK as the agent does, creating and persisting them if absent.
func agentKeys(t *testing.T, spec string) (ek, srk []byte) {
	t.Helper()
	ctx := context.Background()
	dev, err := tpm.Open(ctx, tpm.Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if ek, err = dev.EndorsementKey(ctx); err != nil {
		t.Fatal(err)
	}
	if srk, err = dev.StorageRootKey(ctx); err != nil {
		t.Fatal(err)
	}
	return ek, srk
}

// TestGoTPMClientThroughSwtpm: go-tpm's own client of the simulator protocol powers the TPM on,
// starts it up and reads the keys the agent persisted, through the front-end, from swtpm.
func TestGoTPMClientThroughSwtpm(t *testing.T) {
	spec, backend := startSwtpm(t)
	ek, srk := agentKeys(t, spec) // before the client opens swtpm: it serves one connection at a time
	s := serve(t, backend)

	for range 2 { // a second client after the first has gone
		sim, err := tcp.Open(tcp.Config{CommandAddress: s.tpm, PlatformAddress: s.platform})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.PowerOn(); err != nil {
			t.Fatalf("PowerOn: %v", err)
		}
		// swtpm was started with startup-clear: Startup reaches it and is told so.
		if _, err := (tpm2.Startup{StartupType: tpm2.TPMSUClear}).Execute(sim); !errors.Is(err, tpm2.TPMRCInitialize) {
			t.Fatalf("TPM2_Startup through the front-end: %v, want TPM_RC_INITIALIZE", err)
		}
		for _, k := range []struct {
			handle tpm2.TPMHandle
			want   []byte
		}{{0x81010001, ek}, {0x81000001, srk}} {
			rsp, err := (tpm2.ReadPublic{ObjectHandle: k.handle}).Execute(sim)
			if err != nil {
				t.Fatalf("ReadPublic 0x%08x: %v", k.handle, err)
			}
			if got := tpm2.Marshal(rsp.OutPublic); !bytes.Equal(got, k.want) {
				t.Fatalf("key at 0x%08x through the front-end:\n%x\nthe agent read:\n%x", k.handle, got, k.want)
			}
		}
		if err := sim.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if logs := s.logs(t); strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") {
		t.Errorf("the front-end complained about a well-behaved client:\n%s", logs)
	}
}
