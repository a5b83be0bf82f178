package identity

import (
	"fmt"
	"strings"
)

// v1Prefix starts every v1 code: the product and the format version, so that a scanner can
// tell our codes from foreign ones and a newer format from a broken one.
const v1Prefix = "OOB1:"

// Key kinds: the letter after the prefix says what the digits stand for.
const (
	kindModulus = 'M' // the 256-byte modulus of an EK made from the TCG default template
	kindPublic  = 'P' // the whole TPM2B_PUBLIC, size prefix included
)

// Optional fields, in the only order they may appear. Each is introduced by fieldSep.
const (
	fieldSep     = '*'
	fieldRegID   = 'R' // an OEM-chosen registration ID, uppercased
	fieldLabel   = 'L' // a short device label
	fieldOrdered = "RL"
)

// encodeV1 writes id, whose EK ek has been validated, as a v1 code. Everything it writes is in
// the QR alphanumeric set (0-9 A-Z space $ % * + - . / :), so no part of the code falls back to
// byte mode.
func encodeV1(id Identity, ek *EK) string {
	b := make([]byte, 0, len(v1Prefix)+1+digitsLen(len(ek.TPM2BPublic))+8+3*(MaxRegistrationIDLen+MaxLabelLen))
	b = append(b, v1Prefix...)
	if ek.Standard {
		b = append(b, kindModulus)
		b = appendDigits(b, ek.Modulus)
	} else {
		b = append(b, kindPublic)
		b = appendDigits(b, ek.TPM2BPublic)
	}
	// A derived registration ID is never written: the companion recomputes it from the EK,
	// which saves 52 characters and leaves nothing to disagree with the key.
	if id.RegistrationID != "" && id.RegistrationID != ek.RegistrationID() {
		b = append(b, fieldSep, fieldRegID)
		b = appendEscaped(b, strings.ToUpper(id.RegistrationID), regIDLiteral)
	}
	if id.Label != "" {
		b = append(b, fieldSep, fieldLabel)
		b = appendEscaped(b, id.Label, labelLiteral)
	}
	return string(b)
}

// parseV1 parses the part of a v1 code after v1Prefix and validates what it finds.
func parseV1(body string) (Identity, error) {
	if body == "" {
		return Identity{}, fmt.Errorf("%w: nothing after %q: the code is truncated", ErrMalformed, v1Prefix)
	}
	kind, rest := body[0], body[1:]
	n := 0
	for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
		n++
	}
	digits, fields := rest[:n], rest[n:]
	if digits == "" {
		return Identity{}, fmt.Errorf("%w: no key digits after %q", ErrMalformed, v1Prefix+string(kind))
	}
	raw, err := decodeDigits(digits)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: key digits: %v; the code is damaged or incomplete", ErrMalformed, err)
	}
	var ekBytes []byte
	switch kind {
	case kindModulus:
		if len(raw) != ModulusLen {
			return Identity{}, fmt.Errorf("%w: %d-byte modulus, an RSA-2048 EK has %d", ErrMalformed, len(raw), ModulusLen)
		}
		ekBytes = StandardEK(raw)
	case kindPublic:
		ekBytes = raw
	default:
		return Identity{}, fmt.Errorf("%w: unknown key kind %q after %q (want %c or %c)", ErrMalformed, kind, v1Prefix, kindModulus, kindPublic)
	}
	ek, err := ParseEK(ekBytes)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{EndorsementKey: ek.TPM2BPublic, RegistrationID: ek.RegistrationID()}
	if err := parseFields(fields, &id); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// parseFields parses the optional fields that follow the key digits into id.
func parseFields(s string, id *Identity) error {
	if s == "" {
		return nil
	}
	if s[0] != fieldSep {
		return fmt.Errorf("%w: %q after the key digits, want %q or the end", ErrMalformed, s[0], fieldSep)
	}
	next := 0 // index in fieldOrdered of the first field still allowed
	for _, f := range strings.Split(s[1:], string(fieldSep)) {
		if f == "" {
			return fmt.Errorf("%w: empty field", ErrMalformed)
		}
		letter, value := f[0], f[1:]
		pos := strings.IndexByte(fieldOrdered, letter)
		switch {
		case pos < 0:
			return fmt.Errorf("%w: unknown field %c%c; v1 codes have only *R (registration ID) and *L (label)", ErrMalformed, fieldSep, letter)
		case pos < next:
			return fmt.Errorf("%w: field %c%c repeated or out of order (the order is *R, *L)", ErrMalformed, fieldSep, letter)
		case value == "":
			return fmt.Errorf("%w: field %c%c is empty", ErrMalformed, fieldSep, letter)
		}
		next = pos + 1
		switch letter {
		case fieldRegID:
			v, err := unescape(value, regIDLiteral, func(c byte) bool { return c == '_' })
			if err != nil {
				return fmt.Errorf("%w: field *R: %v", ErrMalformed, err)
			}
			regID := strings.ToLower(v)
			if err := ValidateRegistrationID(regID); err != nil {
				return err
			}
			id.RegistrationID = regID
		case fieldLabel:
			v, err := unescape(value, labelLiteral, func(c byte) bool { return !labelLiteral(c) })
			if err != nil {
				return fmt.Errorf("%w: field *L: %v", ErrMalformed, err)
			}
			if err := validateLabel(v); err != nil {
				return err
			}
			id.Label = v
		}
	}
	return nil
}
