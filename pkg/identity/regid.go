package identity

import "fmt"

// MaxRegistrationIDLen is the longest registration ID DPS accepts.
const MaxRegistrationIDLen = 128

// ValidateRegistrationID reports whether s is a registration ID DPS accepts: 1 to 128
// characters, each a lowercase ASCII letter, a digit, or one of - . _ :.
// Checking here means a bad OEM-chosen ID is caught on the device or at the scan, not as a
// 400 from DPS in the middle of an enrollment run.
func ValidateRegistrationID(s string) error {
	if s == "" {
		return fmt.Errorf("%w: it is empty", ErrBadRegistrationID)
	}
	if len(s) > MaxRegistrationIDLen {
		return fmt.Errorf("%w: %d characters, DPS allows at most %d", ErrBadRegistrationID, len(s), MaxRegistrationIDLen)
	}
	for i := 0; i < len(s); i++ {
		if !regIDChar(s[i]) {
			return fmt.Errorf("%w: %q has %q at position %d; DPS allows lowercase letters, digits, '-', '.', '_' and ':'",
				ErrBadRegistrationID, s, s[i], i+1)
		}
	}
	return nil
}

func regIDChar(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':'
}
