package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/swtpmtest"
)

// vmDevice is what a powered-off VM's disk and TPM hold, read on the host as a technician would
// read a pulled board's: the disk's file system checked (its journal replayed, as the next boot
// would), the agent's state directory, the units multi-user.target wants, and the TPM's
// persistent handles.
type vmDevice struct {
	fsck     int    // e2fsck -fp's exit status: 0 clean, 1 errors corrected; 4 and up not repaired
	fsckOut  string // what it said
	stateDir string // a copy of the guest's /var/lib/oob; "" when the disk has none
	wants    []string
	handles  []uint32
}

// readVMDevice reads the disk and TPM of the machine in run (boot.sh's --run directory) while
// QEMU is not running, without changing either: both are read from copies.
func readVMDevice(t *testing.T, run string) vmDevice {
	t.Helper()
	tmp := t.TempDir()
	raw := filepath.Join(tmp, "disk.raw")
	if out, err := exec.Command("qemu-img", "convert", "-f", "qcow2", "-O", "raw", filepath.Join(run, "disk.qcow2"), raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert of the guest's disk: %v\n%s", err, out)
	}
	var d vmDevice
	out, err := exec.Command("e2fsck", "-fp", raw).CombinedOutput()
	d.fsckOut = strings.TrimSpace(string(out))
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		d.fsck = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("e2fsck: %v", err)
	}

	root := filepath.Join(tmp, "fs")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	debugfs(t, raw, "rdump /var/lib/oob "+root)
	if _, err := os.Stat(filepath.Join(root, "oob")); err == nil {
		d.stateDir = filepath.Join(root, "oob")
	}
	// ls -p: one "/inode/mode/uid/gid/name/size/" line per entry.
	for _, line := range strings.Split(debugfs(t, raw, "ls -p /etc/systemd/system/multi-user.target.wants"), "\n") {
		if f := strings.Split(line, "/"); len(f) >= 7 && f[5] != "." && f[5] != ".." {
			d.wants = append(d.wants, f[5])
		}
	}
	slices.Sort(d.wants)

	_, tcti := swtpmtest.Serve(t, filepath.Join(run, "tpm"))
	out, err = exec.Command("tpm2_getcap", "-T", tcti, "handles-persistent").CombinedOutput()
	if err != nil {
		t.Fatalf("tpm2_getcap handles-persistent on the guest's TPM: %v\n%s", err, out)
	}
	// One "- 0x81000001" line per handle.
	for _, line := range strings.Split(string(out), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "- "); ok {
			n, err := strconv.ParseUint(h, 0, 32)
			if err != nil {
				t.Fatalf("tpm2_getcap printed %q", line)
			}
			d.handles = append(d.handles, uint32(n))
		}
	}
	return d
}

// debugfs runs one debugfs request on the file system image fs, read-only, and returns its output.
func debugfs(t *testing.T, fs, request string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", request, fs).Output()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v", request, err)
	}
	return string(out)
}
