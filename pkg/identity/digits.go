package identity

import (
	"encoding/binary"
	"fmt"
)

// Bytes travel in a v1 code as decimal digits so that the QR encoder can use numeric mode,
// 10 bits per 3 digits (3.33 bits a digit), against 5.5 bits a character in alphanumeric mode
// and 8 in byte mode. Each group of 7 bytes, read as a big-endian number (< 2^56 < 10^17),
// becomes exactly 17 digits, zero-padded: 56 bits in 56.7, 98.8% of the ideal. Fixed-width
// groups keep the codec to integer arithmetic any language has (a 64-bit integer), and make the
// digit count alone tell the byte count.

// groupBytes and groupDigits are the size of a full group.
const (
	groupBytes  = 7
	groupDigits = 17
)

// partialDigits[k] is the digit count of a final group of k bytes: the fewest digits that hold
// 256^k - 1. A zero entry marks a length that cannot occur.
var partialDigits = [groupBytes]int{0, 3, 5, 8, 10, 13, 15}

// digitsLen returns the number of digits n bytes become.
func digitsLen(n int) int {
	return n/groupBytes*groupDigits + partialDigits[n%groupBytes]
}

// appendDigits appends b as decimal digit groups to dst.
func appendDigits(dst []byte, b []byte) []byte {
	for len(b) > 0 {
		k := min(len(b), groupBytes)
		var v uint64
		for _, c := range b[:k] {
			v = v<<8 | uint64(c)
		}
		width := groupDigits
		if k < groupBytes {
			width = partialDigits[k]
		}
		dst = fmt.Appendf(dst, "%0*d", width, v)
		b = b[k:]
	}
	return dst
}

// decodeDigits is the inverse of appendDigits. It is strict, so that exactly one digit string
// stands for each byte string: the count must be one appendDigits can produce, and each
// group's value must fit its byte count (a 3-digit group of 256 or more is rejected, not
// wrapped).
func decodeDigits(s string) ([]byte, error) {
	full, rest := len(s)/groupDigits, len(s)%groupDigits
	partial := -1
	for k, d := range partialDigits {
		if d == rest {
			partial = k
			break
		}
	}
	if partial < 0 {
		return nil, fmt.Errorf("%d digits is not a valid count", len(s))
	}
	out := make([]byte, 0, full*groupBytes+partial)
	for len(s) > 0 {
		width, k := groupDigits, groupBytes
		if len(s) < groupDigits {
			width, k = len(s), partial
		}
		var v uint64
		for _, c := range []byte(s[:width]) {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("%q is not a digit", c)
			}
			v = v*10 + uint64(c-'0') // at most 17 digits: no overflow
		}
		if v>>(8*k) != 0 {
			return nil, fmt.Errorf("group %q is too large for %d bytes", s[:width], k)
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], v)
		out = append(out, buf[8-k:]...)
		s = s[width:]
	}
	return out, nil
}
