// Package strictjson decodes a JSON document the way a config file or a request body should be
// read: one object of the expected shape and nothing else. encoding/json alone lets through a
// member spelt in another case ("idscope" fills IDScope), a member given twice (the last wins)
// and text after the value; Decode refuses all three, and unknown members.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Decode decodes data into v (a pointer to a struct) strictly. Errors name the member at fault
// by its path ("dps.idScope").
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more after the JSON value: give one JSON object")
	}
	return exactKeys(data, v)
}

// exactKeys checks what encoding/json lets through: object keys must be a field's JSON name
// exactly, and no key may appear twice in an object. Values are left to json.Unmarshal.
func exactKeys(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	return walk(dec, reflect.TypeOf(v), "")
}

var rawMessage = reflect.TypeOf(json.RawMessage(nil))

func walk(dec *json.Decoder, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, isDelim := tok.(json.Delim)
	switch {
	case !isDelim:
		return nil
	case t == rawMessage || (t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Map):
		return skip(dec, delim)
	case delim == '[':
		for dec.More() {
			if err := walk(dec, elem(t), path+"[]"); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		if seen[key] {
			return fmt.Errorf("%q appears twice", join(path, key))
		}
		seen[key] = true
		ft := elem(t)
		if t.Kind() == reflect.Struct {
			f, ok := fieldByJSONName(t, key)
			if !ok {
				return fmt.Errorf("unknown field %q", join(path, key))
			}
			ft = f
		}
		if err := walk(dec, ft, join(path, key)); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// elem is the element type of a slice or map, and t itself otherwise.
func elem(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		return t.Elem()
	}
	return t
}

func fieldByJSONName(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

// skip consumes the rest of a value that began with delim.
func skip(dec *json.Decoder, delim json.Delim) error {
	if delim != '{' && delim != '[' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
