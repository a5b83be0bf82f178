package identity

import "fmt"

// Format is a QR payload format. The zero value is FormatV1.
type Format int

const (
	// FormatV1 is the compact format: "OOB1:", the EK as decimal digits, optional fields.
	FormatV1 Format = iota
	// FormatLegacy is the original sample's JSON, {"regid":"…","ek":"…"}.
	FormatLegacy
)

// String returns the format's name as ParseFormat accepts it.
func (f Format) String() string {
	switch f {
	case FormatV1:
		return "v1"
	case FormatLegacy:
		return "legacy"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat returns the format named s: "v1" or "legacy".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "v1":
		return FormatV1, nil
	case "legacy":
		return FormatLegacy, nil
	}
	return 0, fmt.Errorf("identity: unknown payload format %q (want v1 or legacy)", s)
}
