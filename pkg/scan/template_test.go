package scan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/scan"
)

// A template that cannot give a device ID is refused when it is given, not on every device.
func TestParseTemplateRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"unknown placeholder", "dev-{serial}"},
		{"empty placeholder", "dev-{}"},
		{"placeholder case", "{RegistrationId}"},
		{"unclosed brace", "dev-{n"},
		{"unopened brace", "dev-n}"},
		{"nested braces", "{{n}}"},
		{"zero width", "{n:0}"},
		{"width too large", "{n:13}"},
		{"width not a number", "{n:four}"},
		{"empty width", "{n:}"},
		{"negative width", "{n:-3}"},
		{"width on label", "{label:4}"},
		{"width on registration ID", "{registrationId:8}"},
		{"space IoT Hub refuses", "line 4-{n}"},
		{"slash IoT Hub refuses", "line/{n}"},
		{"hash IoT Hub refuses", "#{n}"},
		{"too long for IoT Hub", strings.Repeat("x", 129)},
		{"the same device ID for every device", "press-line-4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := scan.ParseTemplate(tc.text); !errors.Is(err, scan.ErrBadTemplate) {
				t.Errorf("ParseTemplate(%q) = %v, want an error wrapping ErrBadTemplate", tc.text, err)
			}
		})
	}
}

func TestTemplateExpand(t *testing.T) {
	const regID = "abc123def456"
	oem := strings.Repeat("r", identity.MaxRegistrationIDLen)
	for _, tc := range []struct {
		name, template, label string
		regID                 string
		n                     int
		want                  string
		bad                   bool
	}{
		{name: "empty", template: "", n: 4, want: ""},
		{name: "registration ID", template: "{registrationId}", n: 1, want: regID},
		{name: "literal around", template: "dev-{registrationId}.a", n: 1, want: "dev-" + regID + ".a"},
		{name: "label", template: "{label}", label: "press7", n: 1, want: "press7"},
		{name: "label with a space", template: "{label}", label: "press 7", n: 1, want: "press-7"},
		{name: "label with punctuation", template: "{label}", label: "line 3, bay 12", n: 1, want: "line-3,-bay-12"},
		{name: "label, one - per character", template: "{label}", label: "Prüfplatz 4", n: 1, want: "Pr-fplatz-4"},
		{name: "no label", template: "{label}", n: 1, want: regID},
		{name: "no label in a pattern", template: "dev-{label}-{n}", n: 9, want: "dev-" + regID + "-9"},
		{name: "number", template: "{n}", n: 3, want: "3"},
		{name: "padded number", template: "line4-{n:4}", n: 7, want: "line4-0007"},
		{name: "number wider than its padding", template: "line4-{n:2}", n: 12345, want: "line4-12345"},
		{name: "everything", template: "{label}_{registrationId}_{n:3}", label: "bay 2", n: 42, want: "bay-2_" + regID + "_042"},
		{name: "too long for IoT Hub", template: "{registrationId}-{n}", regID: oem, n: 1, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := scan.ParseTemplate(tc.template)
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.Empty() != (tc.template == "") {
				t.Errorf("Empty() = %v", tmpl.Empty())
			}
			if tmpl.UsesNumber() != strings.Contains(tc.template, "{n") {
				t.Errorf("UsesNumber() = %v", tmpl.UsesNumber())
			}
			id := identity.Identity{RegistrationID: regID, Label: tc.label}
			if tc.regID != "" {
				id.RegistrationID = tc.regID
			}
			got, err := tmpl.Expand(id, tc.n)
			switch {
			case tc.bad:
				if !errors.Is(err, scan.ErrBadTemplate) {
					t.Errorf("Expand = %q, %v; want an error wrapping ErrBadTemplate", got, err)
				}
			case err != nil || got != tc.want:
				t.Errorf("Expand = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// Whatever the text, ParseTemplate does not panic; a template it accepts gives, for any
// device, a device ID IoT Hub accepts or an error saying the template is bad.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"", "{registrationId}", "{label}", "{n}", "{n:4}", "line4-{n:3}", "{label}_{registrationId}_{n:12}",
		"dev-{", "}", "{n:0}", "{n:13}", "{label:2}", "a b", "{{}}", "{n:1}{n:1}{n:1}"} {
		f.Add(s, "press 7", 1)
	}
	f.Add("{label}", "Prüfplatz 4", 12)
	f.Add("{n:12}", "", -5)
	f.Fuzz(func(t *testing.T, text, label string, n int) {
		tmpl, err := scan.ParseTemplate(text)
		if err != nil {
			if !errors.Is(err, scan.ErrBadTemplate) {
				t.Fatalf("ParseTemplate(%q) = %v, not wrapping ErrBadTemplate", text, err)
			}
			return
		}
		if tmpl.Empty() != (text == "") {
			t.Fatalf("ParseTemplate(%q).Empty() = %v", text, tmpl.Empty())
		}
		for _, id := range []identity.Identity{
			{RegistrationID: "abc123def456"},
			{RegistrationID: "abc123def456", Label: label},
			{RegistrationID: strings.Repeat("r", identity.MaxRegistrationIDLen), Label: label},
		} {
			got, err := tmpl.Expand(id, n)
			switch {
			case err != nil:
				if !errors.Is(err, scan.ErrBadTemplate) {
					t.Fatalf("%q.Expand(%+v, %d) = %v, not wrapping ErrBadTemplate", text, id, n, err)
				}
			case tmpl.Empty():
				if got != "" {
					t.Fatalf("the empty template gave %q", got)
				}
			default:
				if verr := enroll.ValidateDeviceID(got); verr != nil {
					t.Fatalf("%q.Expand(%+v, %d) = %q, which IoT Hub refuses: %v", text, id, n, got, verr)
				}
			}
		}
	})
}
