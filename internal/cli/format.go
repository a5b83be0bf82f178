package cli

import (
	"fmt"
	"strings"
)

// Format is an output format chosen with --format.
type Format string

// Output formats.
const (
	FormatText Format = "text"
	FormatJSON Format = "json"
	FormatCSV  Format = "csv"
)

// FormatFlag is a pflag.Value that accepts one of a fixed set of formats.
type FormatFlag struct {
	Value   Format
	Allowed []Format
}

// NewFormatFlag returns a flag value defaulting to text and accepting the given formats.
func NewFormatFlag(allowed ...Format) *FormatFlag {
	return &FormatFlag{Value: FormatText, Allowed: allowed}
}

// String implements pflag.Value.
func (f *FormatFlag) String() string { return string(f.Value) }

// Type implements pflag.Value.
func (f *FormatFlag) Type() string { return "format" }

// Set implements pflag.Value.
func (f *FormatFlag) Set(s string) error {
	for _, a := range f.Allowed {
		if Format(s) == a {
			f.Value = a
			return nil
		}
	}
	return fmt.Errorf("unknown format %q: use one of %s", s, f.list())
}

// Usage returns the flag's help text.
func (f *FormatFlag) Usage() string {
	return "output format: " + f.list()
}

func (f *FormatFlag) list() string {
	names := make([]string, len(f.Allowed))
	for i, a := range f.Allowed {
		names[i] = string(a)
	}
	return strings.Join(names, "|")
}
