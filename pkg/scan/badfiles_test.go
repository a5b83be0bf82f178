package scan_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/imagetest"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/scan"
)

// One bad image does not end a folder's scan: an oversized image (a decompression bomb, refused
// from its header), an empty file and a broken one, first in the folder, are each reported as
// unreadable, saying which file and why, and every device shown after them is read (a FIFO and
// a folder named like images are not image files of the folder, and are passed over).
func TestFolderScanSkipsEachBadImage(t *testing.T) {
	devs := scantest.Devices(t, 2)
	dir := scantest.Frames(t, []scantest.Segment{shows(t, devs[0]), {}, shows(t, devs[1])}, 1)
	bad := imagetest.MakeBadFiles(t, dir)
	defer time.AfterFunc(30*time.Second, bad.UnblockFIFO).Stop()
	src, err := camera.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	evs, sum := run(t, scan.Config{Source: src, DryRun: true})

	skipped := ofKind(evs, scan.Unreadable)
	// The folder's image files among them, in name order.
	wants := bad.Refusals()[:3]
	if len(skipped) != len(wants) {
		t.Fatalf("unreadable events:%s\nwant %d", describe(skipped), len(wants))
	}
	for i, w := range wants {
		if err := skipped[i].Err; !errors.Is(err, camera.ErrUnreadableFile) || !strings.Contains(err.Error(), w.Says) {
			t.Errorf("unreadable event %d: %v; want it saying %q", i+1, err, w.Says)
		}
		if skipped[i].Source != w.Path {
			t.Errorf("unreadable event %d: source %q, want %s", i+1, skipped[i].Source, w.Path)
		}
	}
	got := ofKind(evs, scan.Device)
	if len(got) != 2 || got[0].Device.RegistrationID != devs[0].RegistrationID || got[1].Device.RegistrationID != devs[1].RegistrationID {
		t.Errorf("device events:%s\nwant both devices shown after the bad files", describe(got))
	}
	if sum.Devices != 2 || sum.Checked != 2 || sum.Unreadable != 3 {
		t.Errorf("summary %+v, want 2 devices checked and 3 unreadable images", sum)
	}
}
