package identity

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxLabelLen is the longest device label, in bytes of UTF-8. A label is a hint for the
// technician ("line 3, bay 12"), not a description: every byte makes the QR code denser.
const MaxLabelLen = 32

// validateLabel accepts the empty label (no label) and any valid UTF-8 up to MaxLabelLen bytes
// without control characters, which could rewrite the technician's terminal when printed.
func validateLabel(s string) error {
	if len(s) > MaxLabelLen {
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrBadLabel, len(s), MaxLabelLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrBadLabel, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %q holds the control character %U", ErrBadLabel, s, r)
		}
		// Right-to-left overrides and isolates make a label read as something it is not.
		if unicode.Is(unicode.Bidi_Control, r) {
			return fmt.Errorf("%w: %+q holds the bidirectional control character %U, which changes how text around it reads", ErrBadLabel, s, r)
		}
	}
	return nil
}
