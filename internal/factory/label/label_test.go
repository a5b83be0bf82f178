package label

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/qr/reader"
)

const guid = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

func TestPNGCarriesTheActivationURL(t *testing.T) {
	code, err := NewCode()
	if err != nil {
		t.Fatal(err)
	}
	l, err := New("https://portal.example.com/activate", guid, code)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := l.PNG(&b); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := reader.Decode(img)
	if err != nil {
		t.Fatalf("the label's QR code does not read: %v", err)
	}
	if len(got) != 1 || got[0].Text != l.URL || !strings.Contains(l.URL, "guid="+guid) || !strings.Contains(l.URL, "code="+code) {
		t.Errorf("QR reads %+v, want %s", got, l.URL)
	}
}

func TestZPL(t *testing.T) {
	l, _ := New("https://portal.example.com/a", guid, "ABCDEFGH-IJKLMNOP")
	var b bytes.Buffer
	if err := l.ZPL(&b); err != nil {
		t.Fatal(err)
	}
	z := b.String()
	if !strings.HasPrefix(z, "^XA") || !strings.HasSuffix(z, "^XZ\n") || !strings.Contains(z, "^FDBoard "+guid+"^FS") ||
		!strings.Contains(z, "^BQN,2,5^FH^FDMA,https://portal.example.com/a?code=ABCDEFGH-IJKLMNOP&guid="+guid) {
		t.Errorf("ZPL:\n%s", z)
	}
}

func TestCodeHashForgivesTyping(t *testing.T) {
	if CodeHash("ABCDEFGH-IJKLMNOP") != CodeHash("abcdefgh ijklmnop") || CodeHash("ABCDEFGH-IJKLMNOP") == CodeHash("ABCDEFGH-IJKLMNOQ") {
		t.Error("code hashes do not match as a customer would type them")
	}
	if _, err := New("http://portal", guid, "x"); err == nil {
		t.Error("a plain-http portal was accepted")
	}
}
