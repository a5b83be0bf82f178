package companion

import (
	"context"
	"errors"
	"image/png"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/identity"
)

func decodeCmd(ios *cli.IOStreams) command {
	c := NewCmdDecode(ios, nil)
	c.SilenceErrors, c.SilenceUsage = true, true
	return c
}

// writeCode writes a camera's view of a device's code as a PNG and returns the device.
func writeCode(t *testing.T, path string) identity.Identity {
	t.Helper()
	dev := scantest.Devices(t, 1)[0]
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, scantest.Picture(t, scantest.Segment{Text: scantest.Payload(t, dev, identity.FormatV1)})); err != nil {
		t.Fatal(err)
	}
	return dev
}

// An image read from standard input that never comes gives way to Ctrl-C (the command's
// context, cancelled by SIGINT and SIGTERM) instead of waiting for ever.
func TestDecodeStdinGivesWayToCancel(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	var out, errOut strings.Builder
	c := NewCmdDecode(cli.Test(pr, &out, &errOut), nil)
	c.SilenceErrors, c.SilenceUsage = true, true
	c.SetArgs([]string{"-"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.ExecuteContext(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("decode - returned %v with nothing on standard input", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted while reading -") {
			t.Errorf("decode - after cancel: %v, want it interrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("decode - still waiting on standard input 5 s after cancel")
	}
}
