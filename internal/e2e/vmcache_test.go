package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// scripts/vm/prune-cache.sh on a cache laid out as build-image.sh leaves it: the two images used
// last stay, older ones go, and so does a build abandoned days ago; the emulator's seed, an image
// still being moved in (no done file) and a build under way stay.
func TestVMCachePruneKeepsTheTwoUsedLast(t *testing.T) {
	cache := t.TempDir()
	now := time.Now()
	image := func(key string, used time.Duration) {
		dir := filepath.Join(cache, key)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "rootfs.ext4"), []byte("fs"), 0o644); err != nil {
			t.Fatal(err)
		}
		done := filepath.Join(dir, "done")
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(done, now.Add(-used), now.Add(-used)); err != nil {
			t.Fatal(err)
		}
	}
	image("00000000000000a1", 3*time.Hour)
	image("00000000000000a2", time.Minute) // built long ago, used a minute ago
	image("00000000000000a3", 2*time.Hour)
	image("00000000000000a4", time.Hour)
	for _, d := range []string{"seed", "00000000000000b1", "build.new", "build.old"} {
		if err := os.MkdirAll(filepath.Join(cache, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	old := now.Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(cache, "build.old"), old, old); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(filepath.Join(repoRoot(), "scripts", "vm", "prune-cache.sh"), cache, "2").CombinedOutput()
	if err != nil {
		t.Fatalf("prune-cache.sh: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(cache)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"00000000000000a2", "00000000000000a4", "00000000000000b1", "build.new", "seed"}
	if !slices.Equal(left, want) {
		t.Errorf("left in the cache: %v, want %v (prune-cache.sh said:\n%s)", left, want, out)
	}

	if out, err := exec.Command(filepath.Join(repoRoot(), "scripts", "vm", "prune-cache.sh"), cache, "two").CombinedOutput(); err == nil {
		t.Errorf("prune-cache.sh with KEEP \"two\" succeeded: %s", out)
	}
}
