package identity

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestDigitsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 330; n++ {
		for _, fill := range []byte{0x00, 0xFF, 0} {
			b := make([]byte, n)
			for i := range b {
				if fill == 0 {
					b[i] = byte(r.Uint32())
				} else {
					b[i] = fill
				}
			}
			s := string(appendDigits(nil, b))
			if len(s) != digitsLen(n) {
				t.Fatalf("%d bytes: %d digits, digitsLen says %d", n, len(s), digitsLen(n))
			}
			got, err := decodeDigits(s)
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("%d bytes: decodeDigits = %x, %v", n, got, err)
			}
		}
	}
	if n := digitsLen(ModulusLen); n != 622 {
		t.Errorf("a modulus takes %d digits, want 622", n)
	}
}

func TestDigitsExamples(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0}, "000"},
		{[]byte{255}, "255"},
		{[]byte{1, 0}, "00256"},
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "72057594037927935"},
		{[]byte{0, 0, 0, 0, 0, 0, 1, 2}, "00000000000000001" + "002"},
	}
	for _, tt := range tests {
		if got := string(appendDigits(nil, tt.in)); got != tt.want {
			t.Errorf("appendDigits(%x) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDecodeDigitsRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"1 digit", "1", "not a valid count"},
		{"4 digits", "1234", "not a valid count"},
		{"16 digits", strings.Repeat("1", 16), "not a valid count"},
		{"17+1 digits", strings.Repeat("1", 18), "not a valid count"},
		{"1-byte group of 256", "256", "too large"},
		{"2-byte group of 65536", "65536", "too large"},
		{"7-byte group of 2^56", "72057594037927936", "too large"},
		{"7-byte group of 10^17-1", strings.Repeat("9", 17), "too large"},
		{"not a digit", "12a", "not a digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeDigits(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeDigits(%q) = %v, want an error about %q", tt.in, err, tt.want)
			}
		})
	}
}
