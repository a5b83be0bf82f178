//go:build linux

package camera

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No V4L2 camera can be attached to the machines these tests run on, so what is tested is
// what such a machine shows: nothing found, and a device file that is not a camera.

func TestFindWebcamsWithNoneIsAnEmptyList(t *testing.T) {
	found, err := FindWebcams(filepath.Join(t.TempDir(), "video*"))
	if err != nil || len(found) != 0 {
		t.Fatalf("found %v, %v; want none", found, err)
	}
}

func TestFindWebcamsReportsAFileThatIsNotACamera(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "video0"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	found, err := FindWebcams(filepath.Join(dir, "video*"))
	if err != nil || len(found) != 1 {
		t.Fatalf("found %v, %v", found, err)
	}
	if found[0].Err == nil || !strings.Contains(found[0].Err.Error(), "video0") {
		t.Fatalf("a regular file was taken for a camera: %+v", found[0])
	}
}
