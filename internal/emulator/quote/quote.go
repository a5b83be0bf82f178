// Package quote shortens the caller-supplied text the emulator puts in its messages, so that a
// reply or a log line never echoes a large input back.
package quote

// maxLen is how many bytes of caller-supplied text a message keeps.
const maxLen = 140

// Short returns s, cut to its first 140 bytes and marked "…" when it is longer.
func Short(s string) string {
	if len(s) > maxLen {
		return s[:maxLen] + "…"
	}
	return s
}
