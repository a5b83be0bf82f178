package sas

import (
	"testing"
	"time"
)

// testKeyB64 is a fixed 32-byte key (bytes 0..31); the golden vectors below were computed from it
// with an independent HMAC implementation.
const testKeyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// testExpiry is the se of the golden vectors.
var testExpiry = time.Unix(1700000000, 0)

func testKey(t testing.TB) Key {
	t.Helper()
	k, err := ParseKey(testKeyB64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixedNow returns a clock stopped at tm.
func fixedNow(tm time.Time) func() time.Time { return func() time.Time { return tm } }
