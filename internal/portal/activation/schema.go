package activation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field types of an organisation's metadata form.
const (
	TypeText   = "text"   // one line of text
	TypeNumber = "number" // a decimal number, written to the twin as a JSON number
	TypeChoice = "choice" // one of the field's options
)

// Bounds of a form's definition: what an administrator may ask for.
const (
	MaxFields        = 20
	MaxLabel         = 80
	MaxPattern       = 256
	MaxValueLength   = 1000
	MaxOptions       = 50
	DefaultMaxLength = 120
)

// nameRE is what a field's name, its key in the twin's tags and desired properties, must be.
var nameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`)

// numberRE is the decimal syntax a number field accepts: what JSON can carry as a number.
var numberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// reserved are names the activation itself writes into the twin's tags.
var reserved = map[string]bool{"customer": true}

// Field is one entry of an organisation's metadata form.
type Field struct {
	// Name is the key the value is written under in the twin's tags and desired properties.
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"`
	// Required fields must be filled in; an optional one left empty is not written.
	Required bool `json:"required"`
	// Pattern is a Go (RE2) regular expression the whole value must match; empty for none.
	Pattern string `json:"pattern,omitempty"`
	// MaxLength bounds the value, in characters.
	MaxLength int `json:"maxLength"`
	// Options are a choice field's values, in the order offered.
	Options []string `json:"options,omitempty"`

	re *regexp.Regexp
}

// Schema is an organisation's metadata form: the fields an activation asks for, in order.
type Schema struct {
	Fields []Field `json:"fields"`
}

// SchemaError says which field of a form's definition is wrong, and why.
type SchemaError struct {
	// Index is the field's position (from 0), or -1 for the form as a whole.
	Index int
	// Key is the field's part that is wrong ("name", "label", "type", "pattern", "maxLength",
	// "options"), empty for the form as a whole.
	Key string
	Msg string
}

func (e *SchemaError) Error() string {
	if e.Index < 0 {
		return "activation: metadata form: " + e.Msg
	}
	return fmt.Sprintf("activation: metadata form, field %d, %s: %s", e.Index+1, e.Key, e.Msg)
}

// DefaultSchema is the form of an organisation whose administrator has defined none: where the
// board is installed and the machine's chassis number.
func DefaultSchema() *Schema {
	s := &Schema{Fields: []Field{
		{Name: "location", Label: "Location", Type: TypeText, Required: true, MaxLength: 120},
		{Name: "chassisNumber", Label: "Chassis number", Type: TypeText, Required: true, MaxLength: 64, Pattern: `[A-Za-z0-9 _./-]*`},
	}}
	if err := s.Check(); err != nil {
		panic(err) // a constant that compiles
	}
	return s
}

// ParseSchema reads a form's definition from JSON, strictly: one object, no unknown members,
// every field checked as Check does.
func ParseSchema(b []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("activation: metadata form: not a form definition: %w", err)
	}
	if dec.More() {
		return nil, errors.New("activation: metadata form: more than one JSON value; give one object")
	}
	if s.Fields == nil {
		return nil, errors.New(`activation: metadata form: no "fields" list`)
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// MarshalSchema is the JSON a form's definition is stored as; ParseSchema reads it back.
func MarshalSchema(s *Schema) ([]byte, error) { return json.Marshal(s) }

// Check returns a *SchemaError for the first thing wrong with the form's definition, and
// compiles its patterns.
func (s *Schema) Check() error {
	if len(s.Fields) > MaxFields {
		return &SchemaError{Index: -1, Msg: fmt.Sprintf("at most %d fields", MaxFields)}
	}
	seen := map[string]bool{}
	for i := range s.Fields {
		f := &s.Fields[i]
		bad := func(key, format string, a ...any) error {
			return &SchemaError{Index: i, Key: key, Msg: fmt.Sprintf(format, a...)}
		}
		switch {
		case !nameRE.MatchString(f.Name):
			return bad("name", "a name starts with a letter, then up to 63 letters, digits or _ (it is the key in the twin)")
		case reserved[f.Name]:
			return bad("name", "%q is written by the activation itself; choose another name", f.Name)
		case seen[f.Name]:
			return bad("name", "%q is the name of an earlier field; each name once", f.Name)
		}
		seen[f.Name] = true
		if err := checkLine(f.Label, MaxLabel); f.Label == "" || err != nil {
			return bad("label", "give a label of 1 to %d characters, on one line", MaxLabel)
		}
		if f.MaxLength < 1 || f.MaxLength > MaxValueLength {
			return bad("maxLength", "give a maximum length of 1 to %d characters", MaxValueLength)
		}
		switch f.Type {
		case TypeText, TypeNumber:
			if len(f.Options) > 0 {
				return bad("options", "only a choice field has options")
			}
		case TypeChoice:
			if len(f.Options) == 0 || len(f.Options) > MaxOptions {
				return bad("options", "a choice field has 1 to %d options", MaxOptions)
			}
			opts := map[string]bool{}
			for _, o := range f.Options {
				if o == "" || o != strings.TrimSpace(o) || checkLine(o, f.MaxLength) != nil {
					return bad("options", "each option is 1 to %d characters on one line, without spaces around it", f.MaxLength)
				}
				if opts[o] {
					return bad("options", "the option %q is there twice", o)
				}
				opts[o] = true
			}
		default:
			return bad("type", "the type is text, number or choice, not %q", f.Type)
		}
		f.re = nil
		if f.Pattern != "" {
			if len(f.Pattern) > MaxPattern || !utf8.ValidString(f.Pattern) {
				return bad("pattern", "a pattern has at most %d characters", MaxPattern)
			}
			re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
			if err != nil {
				return bad("pattern", "not a Go regular expression: %v", err)
			}
			f.re = re
		}
	}
	return nil
}

// checkLine says whether v is valid UTF-8 of at most max characters with no control
// characters (so one line).
func checkLine(v string, max int) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return errors.New("not one line")
	}
	return nil
}

// Field returns the field named name, or nil.
func (s *Schema) Field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// ValidateValues checks values (by field name, already trimmed) against the form: what is
// wrong with each is returned by field name. A name that is not one of the form's fields is an
// error too. The form must have been checked (ParseSchema, Check or DefaultSchema).
func (s *Schema) ValidateValues(values map[string]string) FieldErrors {
	fe := FieldErrors{}
	for name := range values {
		if s.Field(name) == nil {
			fe[name] = "This organisation's form has no field " + strconv.Quote(name) + "; leave it out."
		}
	}
	for i := range s.Fields {
		f := &s.Fields[i]
		if msg := f.check(values[f.Name]); msg != "" {
			fe[f.Name] = msg
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// check returns what is wrong with v as this field's value, or "".
func (f *Field) check(v string) string {
	if v == "" {
		if f.Required {
			return "Enter the " + lowerFirst(f.Label) + "."
		}
		return ""
	}
	if checkLine(v, f.MaxLength) != nil {
		return fmt.Sprintf("Use at most %d characters, on one line.", f.MaxLength)
	}
	switch f.Type {
	case TypeNumber:
		if !numberRE.MatchString(v) {
			return "Enter a number, such as 42 or -3.5."
		}
	case TypeChoice:
		ok := false
		for _, o := range f.Options {
			ok = ok || o == v
		}
		if !ok {
			return "Choose one of: " + strings.Join(f.Options, ", ") + "."
		}
	}
	if f.re != nil && !f.re.MatchString(v) {
		return "This value does not have the form asked for (pattern " + f.Pattern + ")."
	}
	return ""
}

// twinValue is v as it is written into the twin: a number field's value as a JSON number.
func (f *Field) twinValue(v string) json.RawMessage {
	if f.Type == TypeNumber && numberRE.MatchString(v) {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || (len(s) > n && unicode.IsUpper(rune(s[n]))) { // keep "IP address", "ID"
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}
