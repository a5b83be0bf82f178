package scan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
)

// ErrBadTemplate means a device ID template cannot be used.
var ErrBadTemplate = errors.New("scan: invalid device ID template")

// Template makes each scanned device's IoT Hub device ID. Its text is literal except for
// placeholders in braces:
//
//	{registrationId}  the device's registration ID
//	{label}           the label its code carries (each character IoT Hub does not allow in a
//	                  device ID, such as a space, becomes -), or the registration ID when it
//	                  carries none
//	{n}               the device's running number in the journal (1, 2, 3…)
//	{n:4}             the same, zero-padded to 4 digits
//
// The empty template leaves the device ID to enroll's default, the registration ID.
type Template struct {
	parts []part
}

type part struct {
	literal string
	field   string // "", "registrationId", "label" or "n"
	width   int    // for n
}

// ParseTemplate parses a device ID template.
func ParseTemplate(s string) (Template, error) {
	var t Template
	rest := s
	for rest != "" {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			t.parts = append(t.parts, part{literal: rest})
			break
		}
		if rest[open] == '}' {
			return Template{}, fmt.Errorf("%w %q: a } without its {", ErrBadTemplate, s)
		}
		if open > 0 {
			t.parts = append(t.parts, part{literal: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return Template{}, fmt.Errorf("%w %q: a { without its }", ErrBadTemplate, s)
		}
		p, err := parseField(rest[open+1 : open+end])
		if err != nil {
			return Template{}, fmt.Errorf("%w %q: %v", ErrBadTemplate, s, err)
		}
		t.parts = append(t.parts, p)
		rest = rest[open+end+1:]
	}
	if s != "" && !t.hasField() {
		return Template{}, fmt.Errorf("%w %q: it gives every device the same device ID: include {n}, {registrationId} or {label}", ErrBadTemplate, s)
	}
	// A template whose literal text breaks IoT Hub's rules fails on every device: say so now.
	if s != "" {
		if _, err := t.Expand(identity.Identity{RegistrationID: "r"}, 1); err != nil {
			return Template{}, err
		}
	}
	return t, nil
}

func parseField(f string) (part, error) {
	name, width, hasWidth := strings.Cut(f, ":")
	switch name {
	case "registrationId", "label":
		if hasWidth {
			return part{}, fmt.Errorf("{%s} takes no width; only {n:WIDTH} does", name)
		}
		return part{field: name}, nil
	case "n":
		p := part{field: "n"}
		if hasWidth {
			w, err := strconv.Atoi(width)
			if err != nil || w < 1 || w > 12 {
				return part{}, fmt.Errorf("{n:%s}: the width is a number of digits from 1 to 12", width)
			}
			p.width = w
		}
		return p, nil
	}
	return part{}, fmt.Errorf("unknown placeholder {%s}: use {registrationId}, {label}, {n} or {n:WIDTH}", f)
}

// hasField reports whether the template has a placeholder, something that tells devices apart.
func (t Template) hasField() bool {
	for _, p := range t.parts {
		if p.field != "" {
			return true
		}
	}
	return false
}

// Empty reports whether the template is empty: devices keep their registration ID.
func (t Template) Empty() bool { return len(t.parts) == 0 }

// UsesNumber reports whether the template has a running number.
func (t Template) UsesNumber() bool {
	for _, p := range t.parts {
		if p.field == "n" {
			return true
		}
	}
	return false
}

// Expand returns the device ID for id as the n-th device, checked against IoT Hub's rules;
// "" for the empty template.
func (t Template) Expand(id identity.Identity, n int) (string, error) {
	if t.Empty() {
		return "", nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.field {
		case "":
			b.WriteString(p.literal)
		case "registrationId":
			b.WriteString(id.RegistrationID)
		case "label":
			if id.Label != "" {
				b.WriteString(deviceIDSafe(id.Label))
			} else {
				b.WriteString(id.RegistrationID)
			}
		case "n":
			fmt.Fprintf(&b, "%0*d", p.width, n)
		}
	}
	s := b.String()
	if err := enroll.ValidateDeviceID(s); err != nil {
		return "", fmt.Errorf("%w: it gives %q for %s: %v", ErrBadTemplate, s, id.RegistrationID, err)
	}
	return s, nil
}

// deviceIDSafe turns each character IoT Hub does not allow in a device ID into -.
func deviceIDSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= utf8.RuneSelf || enroll.ValidateDeviceID(string(r)) != nil {
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}
