package camera

import (
	"strings"
	"testing"
)

// SplitArgs reads a flag's text: it never panics, and arguments it returns, quoted back the way
// a user would, split into the same arguments again.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{
		`-f dshow -i "video=USB Camera"`, `-f avfoundation -framerate 30 -i 0`,
		`-i 'C:\clips\line 4.mp4'`, `"unterminated`, `a""b`, "\t-i\n x ", `''`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := SplitArgs(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, a := range args {
			switch {
			case !strings.Contains(a, `"`):
				quoted = append(quoted, `"`+a+`"`)
			case !strings.Contains(a, `'`):
				quoted = append(quoted, `'`+a+`'`)
			default:
				return // holds both quotes: a user could not write it as one word either
			}
		}
		again, err := SplitArgs(strings.Join(quoted, " "))
		if err != nil || strings.Join(again, "\x00") != strings.Join(args, "\x00") || len(again) != len(args) {
			t.Fatalf("SplitArgs(%q) = %q; quoted back and split again: %q, %v", s, args, again, err)
		}
	})
}
