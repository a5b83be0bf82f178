package tpm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSysfs makes a /sys/class/tpm look-alike with one TPM of the given family.
func fakeSysfs(t *testing.T, name, major string) string {
	t.Helper()
	dir := t.TempDir()
	if name != "" {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "tpm_version_major"), []byte(major+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOpenDeviceErrors(t *testing.T) {
	notDevice := filepath.Join(t.TempDir(), "tpm0")
	if err := os.WriteFile(notDevice, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// /dev/tpmrm97 and /dev/tpm97 stand for devices that do not exist on the test machine.
	for _, tc := range []struct {
		name, path, sysName, major string
		kind                       error
		say                        []string
	}{
		{name: "no TPM at all", path: "/dev/tpmrm97", kind: ErrNoTPM,
			say: []string{"no TPM at /dev/tpmrm97", "/dev/tpmrm0", "ls /sys/class/tpm", "enable the TPM", "firmware setup"}},
		{name: "TPM 1.2 with its tpm97 device", path: "/dev/tpm97", sysName: "tpm97", major: "1", kind: ErrTPM12,
			say: []string{"/dev/tpm97 is a TPM 1.2", "needs a TPM 2.0"}},
		{name: "TPM 1.2 asked for tpmrm97", path: "/dev/tpmrm97", sysName: "tpm97", major: "1", kind: ErrTPM12,
			say: []string{"is a TPM 1.2"}},
		{name: "TPM 2.0 without resource manager", path: "/dev/tpmrm97", sysName: "tpm97", major: "2", kind: ErrNoTPM,
			say: []string{"try /dev/tpm97"}},
		{name: "a file, not a device", path: notDevice, kind: ErrNoTPM, say: []string{"is not a TPM device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.path); err == nil && strings.HasPrefix(tc.path, "/dev/") {
				t.Skipf("%s exists here", tc.path)
			}
			_, err := openDeviceIn(tc.path, fakeSysfs(t, tc.sysName, tc.major))
			t.Log(err)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			for _, say := range tc.say {
				if !strings.Contains(err.Error(), say) {
					t.Errorf("message %q does not say %q", err, say)
				}
			}
		})
	}
}

// TestOpenDeviceThatIsNotATPM opens character devices that exist everywhere but are no TPM: the
// answer must be an error, never a hang or a panic.
func TestOpenDeviceThatIsNotATPM(t *testing.T) {
	for _, path := range []string{"/dev/null", "/dev/zero"} {
		_, err := Open(context.Background(), Config{Path: path})
		t.Log(err)
		if !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("Open(%s): %v, want ErrMalformedResponse", path, err)
		}
	}
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root opens any device")
	}
	// /dev/kmsg is a character device only root may open for writing.
	_, err := openDeviceIn("/dev/kmsg", t.TempDir())
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "tss group") {
		t.Fatalf("got %v, want ErrPermission naming the tss group", err)
	}
}

func TestSysfsName(t *testing.T) {
	for path, want := range map[string]string{
		"/dev/tpmrm0": "tpm0", "/dev/tpm0": "tpm0", "/dev/tpmrm12": "tpm12",
		"/dev/tpm": "", "/tmp/tpm0": "", "/dev/tpmrmx": "", "/dev/sub/tpm0": "",
	} {
		if got := sysfsName(path); got != want {
			t.Errorf("sysfsName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestSysfsMajorFromOldKernelCaps(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tpm0", "device"), 0o755); err != nil {
		t.Fatal(err)
	}
	caps := "Manufacturer: 0x49465800\nTCG version: 1.2\nFirmware version: 6.40\n"
	if err := os.WriteFile(filepath.Join(dir, "tpm0", "device", "caps"), []byte(caps), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sysfsMajor(dir, "tpm0"); got != "1" {
		t.Errorf("sysfsMajor with TPM 1.2 caps = %q, want 1", got)
	}
}
