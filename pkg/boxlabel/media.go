package boxlabel

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/pkg/display"
)

// Media is label stock: its size and the printer's resolution.
type Media struct {
	// Size is the label's width and height.
	Size Size
	// DPI is the printer's resolution in dots per inch, e.g. 203 or 300.
	DPI int
}

// IsZero reports whether m is unset.
func (m Media) IsZero() bool { return m == Media{} }

// Dots is the label's size in printer dots, rounded down so that nothing is drawn off the
// label.
func (m Media) Dots() (w, h int) {
	return mmToDots(m.Size.WidthMM, m.DPI), mmToDots(m.Size.HeightMM, m.DPI)
}

func mmToDots(mm float64, dpi int) int { return int(math.Floor(mm*float64(dpi)/25.4 + 1e-9)) }

// Validate checks the resolution: 100 to 300 dpi, where a module of minModuleMM is two or
// three dots and pkg/display's layout never draws a code smaller than that.
func (m Media) Validate() error {
	if m.DPI < 100 || m.DPI > 300 {
		return fmt.Errorf("boxlabel: %d dpi is not a label printer's resolution: give the printer's, such as 203 or 300", m.DPI)
	}
	return nil
}

// minScale is the fewest dots per module a label's code gets: minModuleMM at m's resolution.
func (m Media) minScale() int { return int(math.Ceil(minModuleMM*float64(m.DPI)/25.4 - 1e-9)) }

// tooSmall rewrites display's size error in the label's terms.
func (m Media) tooSmall(err error) error {
	var ts *display.TooSmallError
	if m.IsZero() || !errors.As(err, &ts) {
		return err
	}
	return fmt.Errorf("boxlabel: a %s label at %d dpi is %d×%d dots, but the QR code needs %d×%d: use a larger --size or a higher --dpi",
		m.Size, m.DPI, ts.HaveWidth, ts.HaveHeight, ts.NeedWidth, ts.NeedHeight)
}

// Size is a label's width and height in millimetres.
type Size struct {
	WidthMM, HeightMM float64
}

// Label sizes accepted: from a small tag to a shipping label.
const (
	MinSideMM = 10
	MaxSideMM = 300
)

// ParseSize reads WIDTHxHEIGHTmm, e.g. 50x30mm or 62x29mm; each side is a number of
// millimetres with at most one decimal (101.6x152.4mm is 4×6 inches), from MinSideMM to
// MaxSideMM.
func ParseSize(s string) (Size, error) {
	bad := func(why string) (Size, error) {
		return Size{}, fmt.Errorf("label size %q %s: write it WIDTHxHEIGHTmm, e.g. 50x30mm or 62x29mm", s, why)
	}
	body, ok := strings.CutSuffix(s, "mm")
	if !ok {
		return bad("is not in millimetres")
	}
	ws, hs, ok := strings.Cut(body, "x")
	if !ok {
		return bad("has no x between width and height")
	}
	w, err := parseMM(ws)
	if err != nil {
		return bad(err.Error())
	}
	h, err := parseMM(hs)
	if err != nil {
		return bad(err.Error())
	}
	return Size{WidthMM: w, HeightMM: h}, nil
}

// parseMM reads a side: digits, optionally a point and one digit.
func parseMM(s string) (float64, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 3 || !allDigits(whole) || (hasFrac && (len(frac) != 1 || !allDigits(frac))) {
		return 0, fmt.Errorf("has a side %q that is not a number of millimetres with at most one decimal", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("has a side %q that is not a number", s)
	}
	if v < MinSideMM || v > MaxSideMM {
		return 0, fmt.Errorf("has a side of %s mm, outside %d to %d mm", s, MinSideMM, MaxSideMM)
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes s as ParseSize reads it.
func (s Size) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return f(s.WidthMM) + "x" + f(s.HeightMM) + "mm"
}
