package display

import "testing"

// FuzzParseFBMode checks that any accepted mode is valid and survives a round trip through
// String, since modes come from the command line.
func FuzzParseFBMode(f *testing.F) {
	for _, s := range []string{"800x480x32", "800x480x16:1664", "640x480x24", "1x1x8", "800x480x32:", "x:x", "9999999999x1x32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseFBMode(s)
		if err != nil {
			return
		}
		if err := m.validate(); err != nil {
			t.Fatalf("ParseFBMode(%q) accepted an invalid mode %+v: %v", s, m, err)
		}
		again, err := ParseFBMode(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseFBMode(%q).String() = %q reparses as %+v, %v", s, m.String(), again, err)
		}
	})
}
