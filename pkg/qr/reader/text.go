package reader

import (
	"bytes"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing/common"
)

// latin1 is the character set handed to gozxing for byte segments without an ECI designator.
// ISO-8859-1 maps each byte to the code point of the same value, so the bytes the code holds
// can be recovered exactly from the text and then interpreted below. Without the hint gozxing
// guesses per segment, and short UTF-8 or binary segments come out as Shift_JIS.
const latin1 = "ISO-8859-1"

// payload returns the text and bytes of a decoded symbol.
//
// Codes without an ECI designator do not say how their byte segments are encoded. Nearly every
// encoder writes UTF-8 today, so bytes that are valid UTF-8 are read as UTF-8; otherwise ZXing's
// guess (ISO-8859-1 or Shift_JIS) decides. A code with an ECI designator says which character
// set it uses, and gozxing has already decoded it that way.
func payload(res *common.DecoderResult) (text string, raw []byte) {
	text = res.GetText()
	if !hasECI(res.GetSymbologyModifier()) {
		if b, ok := fromLatin1(text); ok {
			if utf8.Valid(b) {
				return string(b), b
			}
			if enc, err := common.StringUtils_guessCharset(b, nil); err == nil {
				if s, err := enc.NewDecoder().Bytes(b); err == nil && utf8.Valid(s) {
					return string(s), b
				}
			}
			return text, b
		}
		// Kanji or Hanzi segments were decoded by their own mode; keep gozxing's text.
	}
	if segs := res.GetByteSegments(); len(segs) > 0 {
		return text, bytes.Join(segs, nil)
	}
	return text, []byte(text)
}

// hasECI reports whether the AIM symbology modifier (]Q1…]Q6) says an ECI designator was read.
func hasECI(modifier int) bool {
	return modifier == 2 || modifier == 4 || modifier == 6
}

// fromLatin1 encodes s as ISO-8859-1, failing if s has a code point above U+00FF.
func fromLatin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}
