package companion

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/imagetest"
)

// Every file that is not a readable image is reported, saying which and why, and skipped: a
// decompression bomb (refused from its header), an empty file, text, a directory, a FIFO
// (refused without waiting for a writer) and /dev/null; the valid image after them is read.
func TestDecodeReportsEachBadFile(t *testing.T) {
	dir := t.TempDir()
	bad := imagetest.MakeBadFiles(t, dir)
	defer time.AfterFunc(30*time.Second, bad.UnblockFIFO).Stop()
	good := filepath.Join(dir, "good.png")
	dev := writeCode(t, good)
	var args []string
	for _, r := range bad.Refusals() {
		args = append(args, r.Path)
	}
	stdout, stderr, err := runCmd(t, nil, decodeCmd, append(args, good)...)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, dev.RegistrationID) {
		t.Errorf("the valid image after the bad ones was not read:\n%s", stdout)
	}
	for _, r := range bad.Refusals() {
		if !strings.Contains(stderr, r.Says) {
			t.Errorf("stderr does not say %q:\n%s", r.Says, stderr)
		}
	}
}
