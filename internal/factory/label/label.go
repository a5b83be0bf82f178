// Package label makes a board's box label: its GUID in text and a QR code of the customer
// portal's activation URL, with a one-time activation code, as PNG or as ZPL for label printers.
package label

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/oobtpm/oob/pkg/display"
	"github.com/oobtpm/oob/pkg/qr"
)

// Label is what a board's label shows.
type Label struct {
	GUID string
	// Code is the one-time activation code; only its hash is stored.
	Code string
	// URL is the portal's activation address, carrying the GUID and the code.
	URL string
}

// NewCode returns a fresh activation code: 80 random bits as two groups of eight base32 letters,
// easy to type from the label.
func NewCode() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("label: %w", err)
	}
	s := base32.StdEncoding.EncodeToString(b)
	return s[:8] + "-" + s[8:], nil
}

// CodeHash is how an activation code is stored: hex SHA-256 of the code without its dash, in
// upper case, so that what the customer types matches however it is spaced or cased.
func CodeHash(code string) string {
	n := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	sum := sha256.Sum256([]byte(n))
	return hex.EncodeToString(sum[:])
}

// New returns the label of guid with code, for the portal at portal (an https URL).
func New(portal, guid, code string) (*Label, error) {
	u, err := url.Parse(portal)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("label: the portal URL must be https://HOST[/PATH]")
	}
	q := u.Query()
	q.Set("guid", guid)
	q.Set("code", code)
	u.RawQuery = q.Encode()
	return &Label{GUID: guid, Code: code, URL: u.String()}, nil
}

// PNG writes the label as a PNG image.
func (l *Label) PNG(w io.Writer) error {
	c, err := qr.Encode(l.URL, qr.LevelM)
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return display.RenderPNG(w, display.Screen{
		Title: "Scan to activate", Code: c, RegistrationID: l.GUID,
		Status: "Activation code: " + l.Code,
	}, display.PNGOptions{})
}

// ZPL writes the label in Zebra's ZPL II: the GUID and code as text, the URL as a QR code.
func (l *Label) ZPL(w io.Writer) error {
	// ^FH lets ^FD carry any character as _hh; the URL and GUID hold only safe ones, but the
	// caret and tilde would end a field, so they are escaped all the same.
	esc := strings.NewReplacer("_", "_5F", "^", "_5E", "~", "_7E")
	_, err := fmt.Fprintf(w, "^XA\n^CI28\n"+
		"^FO40,30^A0N,32,32^FH^FDBoard %s^FS\n"+
		"^FO40,75^A0N,28,28^FH^FDActivation code: %s^FS\n"+
		"^FO40,120^BQN,2,5^FH^FDMA,%s^FS\n"+
		"^XZ\n", esc.Replace(l.GUID), esc.Replace(l.Code), esc.Replace(l.URL))
	return err
}
