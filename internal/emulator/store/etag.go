package store

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
)

// newETag returns a fresh entity tag in the form the service uses in bodies: base64 of a quoted,
// GUID-shaped version stamp (the shape of the storage layer's own ETags).
func newETag() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	stamp := `"` + s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32] + `"`
	return base64.StdEncoding.EncodeToString([]byte(stamp))
}

// etagMatches reports whether an If-Match value holds for a record whose ETag is current. An empty
// condition always holds and "*" holds for any existing record. Clients differ in whether they
// quote the body's etag in the header (the C# client does, the Node client does not), so one pair
// of quotes and a weak prefix are ignored on both sides.
func etagMatches(cond, current string) bool {
	if cond == "" || cond == "*" {
		return true
	}
	return unquoteETag(cond) == unquoteETag(current)
}

func unquoteETag(s string) string {
	if len(s) > 2 && (s[:2] == "W/" || s[:2] == "w/") {
		s = s[2:]
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}
