package identity

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads a scanned QR payload in either format and returns the identity it carries,
// verified: the EK is an RSA-2048 restricted decryption key, the registration ID is set
// (derived from the EK, or the OEM's after checking it against DPS's rules), a derived ID the
// payload repeats matches the EK, and the label is valid. Text that is not an identity code at all yields an error
// wrapping ErrNotIdentity.
func Parse(text string) (Verified, error) {
	id, err := parse(text)
	if err != nil {
		return Verified{}, err
	}
	return Verified{id: id}, nil
}

// parse is Parse before the identity it found and checked is marked as verified.
func parse(text string) (Identity, error) {
	if version, body, ok := cutVersion(text); ok {
		if version != "1" {
			return Identity{}, unsupported(version)
		}
		return parseV1(body)
	}
	if strings.HasPrefix(strings.TrimLeft(text, " \t\r\n"), "{") {
		return parseLegacy(text)
	}
	return Identity{}, notIdentity(text)
}

// Encode validates id and writes it as a QR payload in format f. An empty RegistrationID
// means the derived one. Only the EK, the registration ID and the label are written; the SRK
// and the EK certificate never travel in a QR code.
func Encode(id Identity, f Format) (string, error) {
	ek, err := ParseEK(id.EndorsementKey)
	if err != nil {
		return "", err
	}
	if id.RegistrationID != "" && id.RegistrationID != ek.RegistrationID() {
		if err := ValidateRegistrationID(id.RegistrationID); err != nil {
			return "", err
		}
	}
	if err := validateLabel(id.Label); err != nil {
		return "", err
	}
	switch f {
	case FormatV1:
		return encodeV1(id, ek), nil
	case FormatLegacy:
		return encodeLegacy(id, ek)
	}
	return "", fmt.Errorf("identity: unknown payload format %v", f)
}

// cutVersion splits "OOB<n>:<body>" into n and body. Any decimal n is recognised, so that a
// code from a newer agent is reported as such and not as a foreign code.
func cutVersion(text string) (version, body string, ok bool) {
	rest, ok := strings.CutPrefix(text, "OOB")
	if !ok {
		return "", "", false
	}
	n := 0
	for n < len(rest) && n < 10 && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	if n == 0 || n >= len(rest) || rest[n] != ':' {
		return "", "", false
	}
	return rest[:n], rest[n+1:], true
}

func unsupported(version string) error {
	if v, err := strconv.Atoi(version); err == nil && v > 1 && version[0] != '0' {
		return fmt.Errorf("%w: format %d was made by a newer version of the agent; update the companion", ErrUnsupportedVersion, v)
	}
	return fmt.Errorf("%w: format %q does not exist", ErrUnsupportedVersion, version)
}

// notIdentity says what a foreign code seems to hold, so the technician knows they aimed at
// the wrong thing, without echoing text that could be long or garble the terminal.
func notIdentity(text string) error {
	lower := strings.ToLower(strings.TrimSpace(text))
	switch {
	case strings.HasPrefix(lower, "wifi:"):
		return fmt.Errorf("%w (it holds Wi-Fi network settings); scan the code on the device's screen", ErrNotIdentity)
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"), strings.Contains(lower, "://"):
		return fmt.Errorf("%w (it holds a web address); scan the code on the device's screen", ErrNotIdentity)
	case lower == "":
		return fmt.Errorf("%w (it is empty)", ErrNotIdentity)
	}
	return fmt.Errorf("%w; scan the code on the device's screen", ErrNotIdentity)
}
