package activation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

const sampleSchema = `{"fields":[
 {"name":"site","label":"Site","type":"choice","required":true,"maxLength":20,"options":["Lyon","Turin"]},
 {"name":"bay","label":"Bay number","type":"number","required":false,"maxLength":6},
 {"name":"asset_tag","label":"Asset tag","type":"text","required":true,"pattern":"AT-[0-9]{4}","maxLength":7}
]}`

func TestParseSchemaRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ json, key string }{
		"unknown member":      {`{"fields":[],"colour":1}`, ""},
		"two values":          {`{"fields":[]} {"fields":[]}`, ""},
		"no fields list":      {`{}`, ""},
		"not JSON":            {`fields:`, ""},
		"name with a dash":    {`{"fields":[{"name":"a-b","label":"A","type":"text","maxLength":5}]}`, "name"},
		"name from a digit":   {`{"fields":[{"name":"1a","label":"A","type":"text","maxLength":5}]}`, "name"},
		"name too long":       {`{"fields":[{"name":"a` + strings.Repeat("b", 64) + `","label":"A","type":"text","maxLength":5}]}`, "name"},
		"reserved name":       {`{"fields":[{"name":"customer","label":"A","type":"text","maxLength":5}]}`, "name"},
		"name twice":          {`{"fields":[{"name":"a","label":"A","type":"text","maxLength":5},{"name":"a","label":"B","type":"text","maxLength":5}]}`, "name"},
		"no label":            {`{"fields":[{"name":"a","label":"","type":"text","maxLength":5}]}`, "label"},
		"label on two lines":  {`{"fields":[{"name":"a","label":"A\nB","type":"text","maxLength":5}]}`, "label"},
		"unknown type":        {`{"fields":[{"name":"a","label":"A","type":"date","maxLength":5}]}`, "type"},
		"no max length":       {`{"fields":[{"name":"a","label":"A","type":"text"}]}`, "maxLength"},
		"max length too big":  {`{"fields":[{"name":"a","label":"A","type":"text","maxLength":1001}]}`, "maxLength"},
		"bad pattern":         {`{"fields":[{"name":"a","label":"A","type":"text","maxLength":5,"pattern":"(a"}]}`, "pattern"},
		"pattern too long":    {`{"fields":[{"name":"a","label":"A","type":"text","maxLength":5,"pattern":"` + strings.Repeat("a", 257) + `"}]}`, "pattern"},
		"choice, no options":  {`{"fields":[{"name":"a","label":"A","type":"choice","maxLength":5}]}`, "options"},
		"option twice":        {`{"fields":[{"name":"a","label":"A","type":"choice","maxLength":5,"options":["x","x"]}]}`, "options"},
		"option too long":     {`{"fields":[{"name":"a","label":"A","type":"choice","maxLength":2,"options":["xyz"]}]}`, "options"},
		"options of text":     {`{"fields":[{"name":"a","label":"A","type":"text","maxLength":5,"options":["x"]}]}`, "options"},
		"required as a word":  {`{"fields":[{"name":"a","label":"A","type":"text","maxLength":5,"required":"yes"}]}`, ""},
		"too many fields":     {`{"fields":[` + strings.Repeat(`{"name":"a","label":"A","type":"text","maxLength":5},`, MaxFields) + `{"name":"b","label":"A","type":"text","maxLength":5}]}`, ""},
		"field in the member": {`{"fields":[{"name":"a","label":"A","type":"text","maxLength":5,"min":1}]}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := ParseSchema([]byte(tc.json))
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			var se *SchemaError
			if tc.key != "" && (!errors.As(err, &se) || se.Key != tc.key) {
				t.Errorf("error %v, want one about %s", err, tc.key)
			}
		})
	}
}

func TestSchemaValues(t *testing.T) {
	s, err := ParseSchema([]byte(sampleSchema))
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{"site": "Turin", "bay": "12", "asset_tag": "AT-0042"}
	if fe := s.ValidateValues(good); fe != nil {
		t.Fatalf("valid values refused: %v", fe)
	}
	for name, tc := range map[string]struct {
		field, value string
	}{
		"not an option":         {"site", "Paris"},
		"required, empty":       {"asset_tag", ""},
		"pattern, wrong":        {"asset_tag", "XX-0042"},
		"pattern is anchored":   {"asset_tag", "AT-00421"},
		"pattern, prefix only":  {"asset_tag", "xAT-0042"},
		"not a number":          {"bay", "twelve"},
		"number with exponent":  {"bay", "1e3"},
		"number, leading zeros": {"bay", "012"},
		"too long":              {"bay", "1234567"},
	} {
		t.Run(name, func(t *testing.T) {
			v := map[string]string{}
			for k, x := range good {
				v[k] = x
			}
			v[tc.field] = tc.value
			fe := s.ValidateValues(v)
			if fe[tc.field] == "" || len(fe) != 1 {
				t.Errorf("errors %v, want one for %s", fe, tc.field)
			}
		})
	}
	// An optional field may be left empty, and is then not written to the twin.
	e := &dpsapi.IndividualEnrollment{}
	r := Request{Hub: "h.example", Schema: s, Values: map[string]string{"site": "Lyon", "asset_tag": "AT-0001", "bay": "-3.5"}}
	if err := Apply(e, r); err != nil {
		t.Fatal(err)
	}
	var desired map[string]any
	_ = json.Unmarshal(e.InitialTwin.Properties.Desired, &desired)
	if desired["bay"] != -3.5 || desired["site"] != "Lyon" || desired["asset_tag"] != "AT-0001" {
		t.Errorf("desired properties: %v (a number field is a JSON number)", desired)
	}
	r.Values = map[string]string{"site": "Lyon", "asset_tag": "AT-0001"}
	e = &dpsapi.IndividualEnrollment{}
	_ = Apply(e, r)
	if strings.Contains(string(e.InitialTwin.Tags), "bay") {
		t.Errorf("an empty optional field was written: %s", e.InitialTwin.Tags)
	}
}

func TestDefaultSchemaKeepsTheFixedRules(t *testing.T) {
	s := DefaultSchema()
	b, _ := MarshalSchema(s)
	back, err := ParseSchema(b)
	if err != nil || len(back.Fields) != 2 || back.Fields[0].Name != "location" || back.Fields[1].Name != "chassisNumber" {
		t.Fatalf("default schema round trip: %v %s", err, b)
	}
	if fe := back.ValidateValues(map[string]string{"location": strings.Repeat("x", 120), "chassisNumber": "CH-1/2 a.b_c"}); fe != nil {
		t.Errorf("the old rules' longest location and chassis symbols: %v", fe)
	}
	if fe := back.ValidateValues(map[string]string{"location": strings.Repeat("x", 121), "chassisNumber": "Ä1"}); len(fe) != 2 {
		t.Errorf("over-long location and a non-ASCII chassis number: %v", fe)
	}
}

// FuzzParseSchema: any input is refused or yields a form that checks, survives a round trip
// unchanged, and validates any value without panicking.
func FuzzParseSchema(f *testing.F) {
	f.Add([]byte(sampleSchema))
	b, _ := MarshalSchema(DefaultSchema())
	f.Add(b)
	f.Add([]byte(`{"fields":[{"name":"a","label":"A","type":"text","maxLength":5,"pattern":"(a|b)*"}]}`))
	f.Add([]byte(`{"fields":[{"name":"a","label":"A","type":"choice","maxLength":3,"options":["x","yy"]}]}`))
	f.Add([]byte(`{"fields":null}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSchema(in)
		if err != nil {
			return
		}
		out, err := MarshalSchema(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSchema(out)
		if err != nil {
			t.Fatalf("a parsed form does not parse again: %v\n%s", err, out)
		}
		again, _ := MarshalSchema(back)
		if string(again) != string(out) {
			t.Fatalf("round trip changed the form:\n%s\n%s", out, again)
		}
		vals := map[string]string{}
		for _, fl := range s.Fields {
			vals[fl.Name] = fl.Pattern
		}
		_ = back.ValidateValues(vals)
	})
}

// FuzzValidateValues: a value the form accepts is one line within its bounds and matches its
// type; Apply writes valid JSON for it.
func FuzzValidateValues(f *testing.F) {
	f.Add("Lyon", "12", "AT-0042")
	f.Add("", "-0.5", "AT-")
	f.Add("Turin", "1e9", "AT-1234\n")
	f.Add("Lyon\x00", "٣", "AT-\u00e91234")
	s, err := ParseSchema([]byte(sampleSchema))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, site, bay, tag string) {
		vals := map[string]string{"site": site, "bay": bay, "asset_tag": tag}
		fe := s.ValidateValues(vals)
		for _, fl := range s.Fields {
			v := vals[fl.Name]
			if fe[fl.Name] != "" || v == "" {
				continue
			}
			if !utf8.ValidString(v) || utf8.RuneCountInString(v) > fl.MaxLength || strings.ContainsAny(v, "\n\r\x00") {
				t.Errorf("%s: %q accepted", fl.Name, v)
			}
			if fl.Type == TypeNumber && !json.Valid([]byte(v)) {
				t.Errorf("number %q accepted that JSON cannot carry", v)
			}
		}
		if fe == nil {
			e := &dpsapi.IndividualEnrollment{}
			if err := Apply(e, Request{Hub: "h.example", Schema: s, Values: vals}); err != nil || !json.Valid(e.InitialTwin.Tags) {
				t.Errorf("apply: %v %s", err, e.InitialTwin.Tags)
			}
		}
	})
}
