package firstboot

import (
	"strings"
	"testing"
)

// FuzzParseActivationURL: whatever is accepted is one http(s) URL, nothing around it.
func FuzzParseActivationURL(f *testing.F) {
	f.Add([]byte("https://portal.example.com/a?code=X&guid=Y\n"))
	f.Add([]byte("javascript:alert(1)"))
	f.Add([]byte("https://a b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := parseActivationURL(b)
		if ok && (!strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") || strings.ContainsAny(s, " \n\r\t")) {
			t.Fatalf("accepted %q", s)
		}
	})
}
