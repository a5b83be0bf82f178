package boardcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	required = []string{"guid", "code", "hub"}
	optional = []string{"location", "chassis"}
	lim      = Limits{MaxRows: 5, MaxField: 64}
)

func TestParse(t *testing.T) {
	in := "\xef\xbb\xbfGUID, code ,hub,Location\r\n" +
		"a,b,c,\"Hall 3, \"\"north\"\"\"\r\n" +
		"d,e,f,\"two\nlines\"\n"
	cols, rows, err := Parse(strings.NewReader(in), required, optional, lim)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cols, "|") != "guid|code|hub|location" || len(rows) != 2 {
		t.Fatalf("cols %v rows %v", cols, rows)
	}
	if rows[0].Line != 2 || rows[0].Cells["location"] != `Hall 3, "north"` || rows[1].Cells["location"] != "two\nlines" || rows[1].Line != 3 {
		t.Errorf("rows: %+v", rows)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"empty":          {"", "empty"},
		"only a BOM":     {"\xef\xbb\xbf", "empty"},
		"no rows":        {"guid,code,hub\n", "no rows"},
		"missing column": {"guid,code\nA,B\n", `no "hub" column`},
		"unknown column": {"guid,code,hub,colour\n", `unknown column "colour"`},
		"twice":          {"guid,code,hub,GUID\n", "named twice"},
		"bare quote":     {"guid,code,hub\na,b\"c,d\n", "double quote inside"},
		"open quote":     {"guid,code,hub\na,\"b,c\n", "not closed"},
		"short row":      {"guid,code,hub\na,b\n", "number of cells"},
		"long cell":      {"guid,code,hub\na,b," + strings.Repeat("x", 65) + "\n", "row 2: the hub cell has more than 64 bytes"},
		"not UTF-8":      {"guid,code,hub\na,b,\xff\n", "not UTF-8"},
		"too many rows":  {"guid,code,hub\n" + strings.Repeat("a,b,c\n", 6), "more than 5 rows"},
	} {
		_, _, err := Parse(strings.NewReader(c.in), required, optional, lim)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestWriterDefusesFormulas(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	_ = w.Write([]string{"=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "plain", "a,b"})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `"'=HYPERLINK(""x"")",'+1,'-2,'@SUM(A1),'`+"\tx,plain,\"a,b\"\r\n"; got != want {
		t.Errorf("written %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"guid,code,hub\na,b,c\n",
		"\xef\xbb\xbfguid,code,hub,location\r\na,b,c,\"x\"\"y\"\r\n",
		"guid,code,hub\n\"a\nb\",c,d\n",
		"guid,code,hub\na,b\"c,d\n",
		"guid,code,hub\n=cmd,+x,@y\n",
		"guid,code,hub\na,b," + strings.Repeat("z", 70) + "\n",
		"GUID,CODE,HUB,CHASSIS\n\xff,\x00,,\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cols, rows, err := Parse(bytes.NewReader(in), required, optional, lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" {
				t.Fatalf("error of another kind: %v", err)
			}
			return
		}
		if len(rows) == 0 || len(rows) > lim.MaxRows {
			t.Fatalf("%d rows", len(rows))
		}
		// What was accepted writes back (unescaped) to a file that parses to the same rows.
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		_ = cw.Write(cols)
		for _, r := range rows {
			if len(r.Cells) != len(cols) {
				t.Fatalf("row %d has %d cells for %d columns", r.Line, len(r.Cells), len(cols))
			}
			rec := make([]string, len(cols))
			for i, c := range cols {
				v := r.Cells[c]
				if len(v) > lim.MaxField || !utf8.ValidString(v) {
					t.Fatalf("accepted cell %q", v)
				}
				rec[i] = v
			}
			_ = cw.Write(rec)
		}
		cw.Flush()
		_, again, err := Parse(&b, required, optional, lim)
		if err != nil {
			// csv.Writer writes a lone \r inside a cell as is, which reads back as a line end.
			if bytes.ContainsRune(in, '\r') {
				return
			}
			t.Fatalf("written back, refused: %v", err)
		}
		for i := range rows {
			for _, c := range cols {
				if again[i].Cells[c] != rows[i].Cells[c] && !strings.Contains(rows[i].Cells[c], "\r") {
					t.Fatalf("row %d %s: %q then %q", i, c, rows[i].Cells[c], again[i].Cells[c])
				}
			}
		}
	})
}

func FuzzDefuse(f *testing.F) {
	for _, s := range []string{"=1+1", "+", "-", "@x", "\t=", "plain", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := Defuse(s)
		if d != "" && strings.ContainsRune("=+-@\t\r", rune(d[0])) {
			t.Fatalf("%q defused to %q", s, d)
		}
		if d != s && d != "'"+s {
			t.Fatalf("%q changed to %q", s, d)
		}
	})
}
