package nodetest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// portsLockFile is the lock every test using Azure's fixed ports takes, in os.TempDir() so that
// test binaries of different packages, which go test runs in parallel, find the same file.
const portsLockFile = "oob-azure-ports.lock"

// LockAzurePorts waits until no other test, in this process or another, holds Azure's fixed
// ports (443 for DPS, 8883 for IoT Hub MQTT), then holds them until the test ends. Microsoft's
// Node SDK dials only those ports, so every test that listens on either takes this lock first;
// one lock for both keeps two such tests from each holding one port and waiting for the other.
func LockAzurePorts(t testing.TB) {
	t.Helper()
	t.Cleanup(lock(t, portsLockFile))
}

// lock takes the machine-wide lock named name in os.TempDir(), waiting for it, and returns its
// release.
func lock(t testing.TB, name string) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), name), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	// The lock belongs to the open file: a second LockAzurePorts in the same process opens its
	// own and waits like any other process.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("nodetest: locking %s: %v", f.Name(), err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
}
