package nodetest

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestInstalled: a pin bumped in package.json, or a dependency added, must trigger npm ci again
// instead of running the SDK left over in node_modules.
func TestInstalled(t *testing.T) {
	const pkg = `{"dependencies": {"a": "1.2.3", "b": "2.0.0"}}`
	for _, tc := range []struct {
		name      string
		installed map[string]string
		want      bool
	}{
		{"all at their pins", map[string]string{"a": "1.2.3", "b": "2.0.0"}, true},
		{"one at another version", map[string]string{"a": "1.2.2", "b": "2.0.0"}, false},
		{"one missing", map[string]string{"a": "1.2.3"}, false},
		{"nothing installed", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "package.json"), pkg)
			for name, version := range tc.installed {
				write(t, filepath.Join(dir, "node_modules", name, "package.json"), `{"name": "`+name+`", "version": "`+version+`"}`)
			}
			if got := installed(t, dir); got != tc.want {
				t.Fatalf("installed = %v, want %v", got, tc.want)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLockAzurePorts: while a test holds the ports, another open of the lock file (another test
// binary's) cannot take it; once that test ends, it can.
func TestLockAzurePorts(t *testing.T) {
	tryLock := func() error {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), portsLockFile), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	t.Run("holder", func(t *testing.T) {
		LockAzurePorts(t)
		if err := tryLock(); !errors.Is(err, syscall.EWOULDBLOCK) {
			t.Fatalf("locking while a test holds the ports: %v, want EWOULDBLOCK", err)
		}
	})
	if err := tryLock(); err != nil {
		t.Fatalf("locking after the holder ended: %v", err)
	}
}
