package identity

import "fmt"

// Field values are percent-escaped (%XX, uppercase hex) rather than written in byte mode: one
// lowercase letter costs three alphanumeric characters (16.5 bits) instead of forcing a byte
// segment whose header alone costs 20 bits, and the whole code stays in one character set.

// regIDLiteral reports whether c appears as itself in an uppercased registration ID. DPS's
// lowercase letters are written uppercase; '_' is outside the QR set and is escaped.
func regIDLiteral(c byte) bool {
	return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':'
}

// labelLiteral reports whether c appears as itself in a label. '*' and '%' are in the QR set
// but are the field separator and the escape, so they are escaped like everything else.
func labelLiteral(c byte) bool {
	return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == ' ' || c == '$' || c == '+' || c == '-' || c == '.' || c == '/' || c == ':'
}

const upperHex = "0123456789ABCDEF"

// appendEscaped appends s to dst, escaping each byte that is not literal.
func appendEscaped(dst []byte, s string, literal func(byte) bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if literal(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// unescape reverses appendEscaped. It accepts only what the encoder writes: literal bytes, and
// escapes (uppercase hex) of bytes for which escaped is true; so each value has one spelling.
func unescape(s string, literal, escaped func(byte) bool) (string, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if !literal(c) {
				return "", fmt.Errorf("%q must be escaped", c)
			}
			out = append(out, c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape %q", s[i:])
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("bad escape %q (want %%XX, uppercase hex)", s[i:i+3])
		}
		b := byte(hi<<4 | lo)
		if !escaped(b) {
			return "", fmt.Errorf("escape %q stands for a character that is written as itself here", s[i:i+3])
		}
		out = append(out, b)
		i += 2
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
