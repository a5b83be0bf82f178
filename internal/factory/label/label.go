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

	"github.com/oobtpm/oob/pkg/boxlabel"
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

// box is the label as pkg/boxlabel lays it out.
func (l *Label) box() boxlabel.Label {
	return boxlabel.Label{Payload: l.URL, Title: "Scan to activate", ID: l.GUID, Status: "Activation code: " + l.Code}
}

// PNG writes the label as an 800×480 PNG image.
func (l *Label) PNG(w io.Writer) error {
	if err := l.box().PNG(w, boxlabel.Media{}); err != nil {
		return fmt.Errorf("label: %w", err)
	}
	return nil
}

// ZPL writes the label in Zebra's ZPL II: the GUID and code as text, the URL as a QR code the
// printer encodes (^BQ), at fixed positions for 203 dpi stock.
func (l *Label) ZPL(w io.Writer) error {
	z := boxlabel.NewZPL(w)
	z.Begin()
	z.Text(40, 30, 32, 32, "Board "+l.GUID)
	z.Text(40, 75, 28, 28, "Activation code: "+l.Code)
	z.PrinterQR(40, 120, 5, l.URL)
	return z.End()
}
