package scan_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/imagetest"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/imagefile"
	"github.com/oobtpm/oob/pkg/scan"
)

// One bad image does not end a folder's scan: an oversized image (a decompression bomb, refused
// from its header), an empty file and a broken one, first in the folder, are each reported as
// unreadable, saying which file and why, and every device shown after them is read.
func TestFolderScanSkipsEachBadImage(t *testing.T) {
	devs := scantest.Devices(t, 2)
	dir := scantest.Frames(t, []scantest.Segment{shows(t, devs[0]), {}, shows(t, devs[1])}, 1)
	bomb := filepath.Join(dir, "a-bomb.png")
	imagetest.WriteBomb(t, bomb, 20000, 20000, imagetest.RGBA16)
	empty := filepath.Join(dir, "b-empty.png")
	broken := filepath.Join(dir, "c-broken.jpg")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte("\xff\xd8\xff\xe0 not much of a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := camera.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	evs, sum := run(t, scan.Config{Source: src, DryRun: true})

	bad := ofKind(evs, scan.Unreadable)
	wants := []struct {
		path string
		is   error
		says string
	}{
		{bomb, imagefile.ErrTooLarge, bomb + ": image too large: 20000×20000 pixels"},
		{empty, imagefile.ErrEmpty, empty + " is empty"},
		{broken, imagefile.ErrNotImage, broken + ": not a readable image"},
	}
	if len(bad) != len(wants) {
		t.Fatalf("unreadable events:%s\nwant %d", describe(bad), len(wants))
	}
	for i, w := range wants {
		if err := bad[i].Err; !errors.Is(err, camera.ErrUnreadableFile) || !errors.Is(err, w.is) || !strings.Contains(err.Error(), w.says) {
			t.Errorf("unreadable event %d: %v; want %v saying %q", i+1, err, w.is, w.says)
		}
		if bad[i].Source != w.path {
			t.Errorf("unreadable event %d: source %q, want %s", i+1, bad[i].Source, w.path)
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
