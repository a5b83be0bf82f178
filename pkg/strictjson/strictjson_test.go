package strictjson

import (
	"encoding/json"
	"strings"
	"testing"
)

type inner struct {
	Name string `json:"name"`
}

type doc struct {
	ID    string            `json:"id"`
	Inner inner             `json:"inner"`
	List  []inner           `json:"list"`
	Free  map[string]string `json:"free"`
	Raw   json.RawMessage   `json:"raw"`
	Ptr   *inner            `json:"ptr"`
}

func TestDecode(t *testing.T) {
	var d doc
	ok := `{"id":"a","inner":{"name":"b"},"list":[{"name":"c"}],"free":{"Any Key":"x","any key":"y"},"raw":{"ID":1,"ID":2},"ptr":{"name":"d"}}`
	if err := Decode([]byte(ok), &d); err != nil {
		t.Fatalf("a well-formed document: %v", err)
	}
	if d.ID != "a" || d.Inner.Name != "b" || d.List[0].Name != "c" || d.Ptr.Name != "d" || d.Free["Any Key"] != "x" {
		t.Errorf("decoded %+v", d)
	}
	for in, want := range map[string]string{
		`{"ID":"a"}`:                         `unknown field "ID"`,
		`{"id":"a","id":"b"}`:                `"id" appears twice`,
		`{"inner":{"Name":"b"}}`:             `unknown field "inner.Name"`,
		`{"list":[{"name":"c","NAME":"d"}]}`: `unknown field "list[].NAME"`,
		`{"ptr":{"name":"a","name":"b"}}`:    `"ptr.name" appears twice`,
		`{"free":{"k":"v","k":"w"}}`:         `"free.k" appears twice`,
		`{"other":1}`:                        `unknown field "other"`,
		`{"id":"a"} {}`:                      "more after",
		`{"id":1}`:                           "cannot unmarshal",
	} {
		if err := Decode([]byte(in), &doc{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v, want an error containing %q", in, err, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":"a","inner":{"name":"b"},"list":[{"name":"c"}],"free":{"k":"v"},"raw":[1,{"a":2}]}`))
	f.Add([]byte(`{"id":"a","id":"b"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d doc
		if Decode(b, &d) != nil {
			return
		}
		// What Decode accepts, encoding/json reads the same way.
		var plain doc
		if err := json.Unmarshal(b, &plain); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
	})
}
