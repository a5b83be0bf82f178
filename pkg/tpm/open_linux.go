package tpm

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// sysfsTPM is where the kernel describes the TPMs it drives.
const sysfsTPM = "/sys/class/tpm"

// openDevice opens a TPM character device.
func openDevice(path string) (conn, error) { return openDeviceIn(path, sysfsTPM) }

// openDeviceIn is openDevice with the sysfs TPM class directory as a parameter, for tests.
func openDeviceIn(path, sysfs string) (conn, error) {
	name := sysfsName(path)
	// A TPM 1.2 would open fine and answer every TPM 2.0 command with an error; sysfs tells us
	// plainly, before we send anything.
	if name != "" && sysfsMajor(sysfs, name) == "1" {
		return nil, tpm12Error(path, nil)
	}
	t, err := linuxtpm.Open(path)
	switch {
	case err == nil:
		return transportConn{t}, nil
	case errors.Is(err, os.ErrNotExist):
		if name != "" && strings.HasPrefix(filepath.Base(path), "tpmrm") && sysfsMajor(sysfs, name) == "2" {
			return nil, newError(ErrNoTPM, err, "there is no %s, but the kernel lists a TPM 2.0 as %s: "+
				"this kernel may have no TPM resource manager; try /dev/%s", path, name, name)
		}
		return nil, newError(ErrNoTPM, err, "no TPM at %s: this machine has no TPM, or its driver is "+
			"not loaded: check that %s exists and what `ls %s` lists, and enable the TPM (firmware "+
			"TPM, PTT or a discrete TPM 2.0) in the firmware setup", path, DefaultDevice, sysfsTPM)
	case errors.Is(err, os.ErrPermission):
		return nil, newError(ErrPermission, err, "permission denied opening %s: run as root, or add "+
			"the user to the tss group (usermod -aG tss USER, then log in again)", path)
	case errors.Is(err, linuxtpm.ErrFileIsNotDevice):
		return nil, newError(ErrNoTPM, err, "%s is not a TPM device: give the TPM's device path, "+
			"such as %s", path, DefaultDevice)
	}
	return nil, newError(ErrNoTPM, err, "cannot open the TPM at %s", path)
}

// tpmDevice matches the kernel's TPM device names: tpm0 and its resource-managed twin tpmrm0.
var tpmDevice = regexp.MustCompile(`^tpm(rm)?([0-9]+)$`)

// sysfsName returns the sysfs class entry (tpm0, …) of a /dev TPM path, or "" for other paths.
func sysfsName(path string) string {
	if filepath.Dir(path) != "/dev" {
		return ""
	}
	m := tpmDevice.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return ""
	}
	return "tpm" + m[2]
}

// sysfsMajor returns the TPM family the kernel reports for name ("1" or "2"), or "" when it
// does not say. tpm_version_major exists since Linux 5.6; older kernels only show TPM 1.2
// capabilities in device/caps.
func sysfsMajor(sysfs, name string) string {
	if b, err := os.ReadFile(filepath.Join(sysfs, name, "tpm_version_major")); err == nil {
		return strings.TrimSpace(string(b))
	}
	for _, caps := range []string{"device/caps", "caps"} {
		if b, err := os.ReadFile(filepath.Join(sysfs, name, caps)); err == nil &&
			strings.Contains(string(b), "TCG version: 1.2") {
			return "1"
		}
	}
	return ""
}
