package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	c := cursor{time.Date(2026, 11, 30, 9, 12, 0, 123, time.UTC), "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5c"}
	got, err := decodeCursor(c.encode())
	if err != nil || !got.ShippedAt.Equal(c.ShippedAt) || got.GUID != c.GUID {
		t.Errorf("decode(encode) = %+v %v", got, err)
	}
	for _, s := range []string{"", "x", c.encode() + "=", "eyJzIjoiMjAyNi0xMS0zMFQwOToxMjowMFoifQ", "eyJzIjoiMjAyNi0xMS0zMFQwOToxMjowMFoiLCJnIjoiYSIsIngiOjF9"} {
		if _, err := decodeCursor(s); err == nil {
			t.Errorf("decodeCursor(%q) accepted", s)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{time.Now().UTC(), "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5c"}.encode())
	f.Add("eyJzIjoiMjAyNi0xMS0zMFQwOToxMjowMFoifQ")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			return
		}
		if c.GUID == "" || c.ShippedAt.IsZero() {
			t.Fatalf("decodeCursor(%q) = %+v", s, c)
		}
	})
}

func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{`"IjAwMCI="`, `*`, `W/"x"`, `"a", "b"`, `""`, `"`, `"a"b"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tag, ok := ifMatch([]string{h})
		if !ok {
			return
		}
		if tag != "" && (!etagChars(tag) || strings.TrimSpace(h) != `"`+tag+`"`) {
			t.Fatalf("ifMatch(%q) = %q", h, tag)
		}
	})
}

// fuzzBody feeds readBody, decoding into what v makes, for the operation method path: it
// answers 400 or 413 or decodes one object of the body's shape, and never panics.
func fuzzBody(f *testing.F, method, path string, v func() any, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		if readBody(w, r, v()) {
			if w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Fatalf("accepted %q but answered %d", body, w.Code)
			}
			return
		}
		if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("refused %q with %d", body, w.Code)
		}
		if !strings.HasPrefix(w.Body.String(), `{"error":{"code":"`) {
			t.Fatalf("refusal not JSON: %s", w.Body)
		}
	})
}

// FuzzActivationBody feeds POST …/activation's body reader.
func FuzzActivationBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/boards/g/activation", func() any { return &activationBody{} },
		`{"code":"K7QX2M4P-9TRW3HZD","hub":"h.example.net","metadata":{"location":"Hall 3","chassisNumber":"CH-1"}}`,
		`{"code":"a","code":"b"}`, `{"Code":"a"}`, `{"code":"a"} {}`, `{"metadata":{"location":1}}`, `{"extra":true}`, `[]`, `null`, ``)
}

// FuzzMetadataBody feeds PUT …/metadata's body reader.
func FuzzMetadataBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/api/v1/boards/g/metadata", func() any { return &metadataBody{} },
		`{"hub":"h.example.net","metadata":{"location":"Hall 3","chassisNumber":"CH-1"}}`,
		`{"code":"K7QX2M4P-9TRW3HZD","hub":"h.example.net","metadata":{}}`, `{"hub":"a","hub":"b"}`, `{"Hub":"a"}`,
		`{"metadata":{"location":"<script>"}}`, `{"metadata":[]}`, `{}`, `null`, ``)
}
