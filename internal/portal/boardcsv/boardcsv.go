// Package boardcsv reads the CSV files of boards customers upload to activate many at once,
// strictly, and writes the board list as CSV that spreadsheets do not run as formulas.
package boardcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits bound what Parse accepts.
type Limits struct {
	MaxRows  int // data rows, the header not counted
	MaxField int // bytes in one cell
}

// Row is one data row: its record number in the file (the header is 1) and its cells by column
// name.
type Row struct {
	Line  int
	Cells map[string]string
}

// Error is what is wrong with the file, and where.
type Error struct {
	Line int // the record, counting the header as 1; 0 for the whole file
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("row %d: %s", e.Line, e.Msg)
}

var bom = []byte("\xef\xbb\xbf")

// Parse reads a CSV file (RFC 4180: commas, double quotes doubled inside quoted cells, CRLF or
// LF; a UTF-8 byte order mark is skipped) whose header names its columns: each of required must
// be there, any other must be in optional, none twice (names are trimmed and matched ignoring
// case). Every row has as many cells as the header; every cell is UTF-8 of at most
// lim.MaxField bytes; there is at least one row and at most lim.MaxRows. The first fault found
// is returned as an *Error.
func Parse(r io.Reader, required, optional []string, lim Limits) ([]string, []Row, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, &Error{Msg: "the file could not be read: " + err.Error()}
	}
	data = bytes.TrimPrefix(data, bom)
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &Error{Msg: "the file is empty: its first line names the columns (" + strings.Join(required, ", ") + ")"}
	}
	if err != nil {
		return nil, nil, parseError(err)
	}
	known := map[string]string{} // by lower-cased name, the name as the caller spells it
	for _, n := range append(slices.Clone(required), optional...) {
		known[strings.ToLower(n)] = n
	}
	cols := make([]string, len(header))
	for i, h := range header {
		name, ok := known[strings.ToLower(strings.TrimSpace(h))]
		switch {
		case !ok:
			return nil, nil, &Error{Line: 1, Msg: fmt.Sprintf("unknown column %q: the columns are %s", clip(h), strings.Join(append(slices.Clone(required), optional...), ", "))}
		case slices.Contains(cols[:i], name):
			return nil, nil, &Error{Line: 1, Msg: fmt.Sprintf("column %q is named twice", name)}
		}
		cols[i] = name
	}
	for _, want := range required {
		if !slices.Contains(cols, want) {
			return nil, nil, &Error{Line: 1, Msg: fmt.Sprintf("no %q column: the first line must name the columns %s", want, strings.Join(required, ", "))}
		}
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, parseError(err)
		}
		if len(rows) == lim.MaxRows {
			return nil, nil, &Error{Msg: fmt.Sprintf("the file has more than %d rows: split it into several files", lim.MaxRows)}
		}
		cells := make(map[string]string, len(cols))
		for i, v := range rec {
			if len(v) > lim.MaxField {
				return nil, nil, &Error{Line: len(rows) + 2, Msg: fmt.Sprintf("the %s cell has more than %d bytes", cols[i], lim.MaxField)}
			}
			if !utf8.ValidString(v) {
				return nil, nil, &Error{Line: len(rows) + 2, Msg: fmt.Sprintf("the %s cell is not UTF-8 text: save the file as CSV UTF-8", cols[i])}
			}
			cells[cols[i]] = v
		}
		rows = append(rows, Row{Line: len(rows) + 2, Cells: cells})
	}
	if len(rows) == 0 {
		return nil, nil, &Error{Msg: "the file has a header but no rows"}
	}
	return cols, rows, nil
}

func parseError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &Error{Msg: "the file is not CSV: " + err.Error()}
	}
	msg := pe.Err.Error()
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		msg = "this row has another number of cells than the header"
	case errors.Is(pe.Err, csv.ErrBareQuote):
		msg = fmt.Sprintf("a double quote inside a cell that is not quoted (column %d): quote the whole cell and double the quote", pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		msg = fmt.Sprintf("a quoted cell is not closed, or has text after its closing quote (column %d)", pe.Column)
	}
	// The line is the file's, which a quoted cell spanning lines makes differ from the row's.
	return &Error{Msg: fmt.Sprintf("line %d: %s", pe.Line, msg)}
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// Writer writes CSV (CRLF line ends) whose cells a spreadsheet shows as text: a cell starting
// with = + - @, a tab or a carriage return gets a leading '.
type Writer struct{ w *csv.Writer }

// NewWriter returns a Writer to w.
func NewWriter(w io.Writer) *Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &Writer{cw}
}

// Write writes one row.
func (w *Writer) Write(cells []string) error {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = Defuse(c)
	}
	return w.w.Write(out)
}

// Flush writes what is buffered and returns the first error of any write.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// Defuse returns c with a leading ' when a spreadsheet would take it for a formula.
func Defuse(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}
