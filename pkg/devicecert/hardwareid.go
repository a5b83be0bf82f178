package devicecert

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// DefaultHardwareIDFile is where Linux shows the board's SMBIOS system UUID (readable by root).
const DefaultHardwareIDFile = "/sys/class/dmi/id/product_uuid"

// ErrInvalidHardwareID means a hardware ID is not a GUID in 8-4-4-4-12 hexadecimal form.
var ErrInvalidHardwareID = errors.New("devicecert: hardware ID is not a GUID")

var guidForm = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// NormalizeHardwareID returns s, a GUID in 8-4-4-4-12 hexadecimal form in either case, in lower
// case: the form the factory certifies and DPS accepts as a registration ID.
func NormalizeHardwareID(s string) (string, error) {
	l := strings.ToLower(s)
	if !guidForm.MatchString(l) {
		return "", fmt.Errorf("%w: %q is not 8-4-4-4-12 hexadecimal digits (such as 0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b)", ErrInvalidHardwareID, s)
	}
	return l, nil
}

// ReadHardwareID reads the board's GUID from path (DefaultHardwareIDFile, or a file standing in
// for it), white space around it ignored, and normalizes it.
func ReadHardwareID(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("devicecert: %s does not exist: this board shows no SMBIOS UUID; give its GUID with --hardware-id", path)
	}
	if errors.Is(err, os.ErrPermission) {
		return "", fmt.Errorf("devicecert: %s is readable by root only: run as root, or give the GUID with --hardware-id", path)
	}
	if err != nil {
		return "", fmt.Errorf("devicecert: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 256))
	if err != nil {
		return "", fmt.Errorf("devicecert: reading %s: %w", path, err)
	}
	id, err := NormalizeHardwareID(strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("%w (read from %s)", err, path)
	}
	return id, nil
}
