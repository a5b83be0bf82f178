package finalize

import (
	"errors"
	"fmt"
	"strings"
)

// maxUnitName is systemd's UNIT_NAME_MAX less its terminating NUL.
const maxUnitName = 255

// unitTypes are the suffixes systemd knows (unit_type_from_string).
var unitTypes = []string{
	"service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope",
}

// UnitName returns name as systemctl enable and disable take it: a name without a known unit
// type suffix gets ".service" appended, as systemctl's unit_name_mangle does ("kiosk" and
// "org.example.kiosk" mean kiosk.service and org.example.kiosk.service). Where systemctl would
// escape a character it does not allow (a space, a slash), UnitName refuses the name instead: a
// config that names a unit wrongly should say so, not enable a unit nobody meant.
func UnitName(name string) (string, error) {
	u, err := mangle(name)
	if err != nil {
		return "", fmt.Errorf("finalize: %w", err)
	}
	return u, nil
}

func mangle(name string) (string, error) {
	if name == "" {
		return "", errors.New("an empty unit name")
	}
	if !hasUnitType(name) {
		name += ".service"
	}
	if err := checkUnitName(name); err != nil {
		return "", err
	}
	return name, nil
}

func hasUnitType(name string) bool {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return false
	}
	suffix := name[dot+1:]
	for _, t := range unitTypes {
		if suffix == t {
			return true
		}
	}
	return false
}

// checkUnitName applies systemd's unit_name_is_valid to a plain, template or instance name.
func checkUnitName(name string) error {
	if len(name) > maxUnitName {
		return fmt.Errorf("unit name %.40q… is longer than systemd's %d characters", name, maxUnitName)
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return fmt.Errorf("%q is not a systemd unit name: nothing before its type suffix", name)
	}
	for i := 0; i < dot; i++ {
		if !unitNameChar(name[i]) {
			return fmt.Errorf("%q is not a systemd unit name: %q is not allowed (only letters, digits and \":-_.\\@\"; see systemd-escape)", name, name[i])
		}
	}
	if name[0] == '@' {
		return fmt.Errorf("%q is not a systemd unit name: it starts with \"@\"", name)
	}
	return nil
}

func unitNameChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte(":-_.\\@", c) >= 0
}
