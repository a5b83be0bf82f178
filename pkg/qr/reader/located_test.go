package reader

import (
	"bytes"
	"errors"
	"testing"

	"github.com/oobtpm/oob/internal/scantest"
	ident "github.com/oobtpm/oob/pkg/identity"
)

// A code out of focus is found but not read by the fast decoder, which says so (Located), and
// the thorough one reads it; a frame without a code, or one whose code was read, locates nothing
// unread.
func TestLocatedWhenUnreadable(t *testing.T) {
	payload := scantest.Payload(t, scantest.Devices(t, 1)[0], ident.FormatV1)
	fast := Decoder{Effort: Fast}

	blurred := scantest.Picture(t, scantest.Segment{Text: payload, Blur: 5})
	if res, err := fast.Decode(blurred); !errors.Is(err, ErrNotFound) || !fast.Located() {
		t.Fatalf("Fast on a blurred code: %s, %v, Located %v; want ErrNotFound and Located", quoteResults(res), err, fast.Located())
	}
	var thorough Decoder
	if res, err := thorough.Decode(blurred); err != nil || !bytes.Equal(res[0].Bytes, []byte(payload)) {
		t.Fatalf("Thorough on a blurred code: %s, %v; want the payload", quoteResults(res), err)
	}

	if _, err := fast.Decode(scantest.Picture(t, scantest.Segment{})); !errors.Is(err, ErrNotFound) || fast.Located() {
		t.Errorf("Fast on a screen without a code: %v, Located %v; want ErrNotFound, not located", err, fast.Located())
	}
	if _, err := fast.Decode(scantest.Picture(t, scantest.Segment{Text: payload})); err != nil || fast.Located() {
		t.Errorf("Fast on a sharp code: %v, Located %v; want it read, Located false", err, fast.Located())
	}
}
