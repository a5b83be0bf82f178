package hubserver

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseUsername(t *testing.T) {
	tests := []struct {
		in, host, device string
		ok               bool
	}{
		{"h.azure-devices.net/d1/?api-version=2021-04-12", "h.azure-devices.net", "d1", true},
		{"h.azure-devices.net/d1/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4", "h.azure-devices.net", "d1", true},
		{"h.azure-devices.net/d1/api-version=2020-09-30&model-id=dtmi%3Ax%3B1", "h.azure-devices.net", "d1", true},
		{"h.azure-devices.net/d1/", "h.azure-devices.net", "d1", true},
		{"h.azure-devices.net/d1", "", "", false},
		{"h.azure-devices.net/d1/m1/?api-version=2021-04-12", "", "", false},
		{"/d1/?api-version=1", "", "", false},
		{"h.azure-devices.net//?api-version=1", "", "", false},
	}
	for _, tt := range tests {
		host, device, err := parseUsername(tt.in)
		if (err == nil) != tt.ok || host != tt.host || device != tt.device {
			t.Errorf("parseUsername(%q) = %q, %q, %v", tt.in, host, device, err)
		}
	}
}

func TestMerge(t *testing.T) {
	props := map[string]any{"a": 1.0, "b": map[string]any{"c": 2.0, "d": 3.0}, "e": "x"}
	merge(props, map[string]any{"a": nil, "b": map[string]any{"c": nil, "f": 4.0}, "e": map[string]any{"g": true}, "h": "new"})
	want := map[string]any{"b": map[string]any{"d": 3.0, "f": 4.0}, "e": map[string]any{"g": true}, "h": "new"}
	if !reflect.DeepEqual(props, want) {
		t.Errorf("merged = %v, want %v", props, want)
	}
}

func TestParsePatchRefuses(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxTwinDepth+1) + "1" + strings.Repeat("}", maxTwinDepth+1)
	for _, body := range []string{``, `null`, `[1]`, `"s"`, `{"a":1} {}`, `{"$v":1}`, `{"a.b":1}`, `{"a b":1}`, deep, `{"a":"` + strings.Repeat("x", maxTwinSection) + `"}`} {
		if _, err := parsePatch([]byte(body)); err == nil {
			t.Errorf("parsePatch(%.40q) accepted", body)
		}
	}
}

// FuzzUsername: a username either parses into a host and device ID that rebuild its start, or is
// refused; never a panic.
func FuzzUsername(f *testing.F) {
	for _, s := range []string{"h/d/?api-version=1", "h/d/api-version=1&x=y", "h/d/m/?api-version=1", "", "/", "h//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, device, err := parseUsername(s)
		if err != nil {
			return
		}
		if host == "" || device == "" || strings.Contains(device, "/") || !strings.HasPrefix(s, host+"/"+device+"/") {
			t.Errorf("parseUsername(%q) = %q, %q", s, host, device)
		}
	})
}

// FuzzPropertyBag: system properties come out under their IoT Hub names, never as application
// properties.
func FuzzPropertyBag(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "%24.mid=m&%24.ct=application%2Fjson&k=a%20b%2Bc", "$.ce=utf-8&x", "&&=&%zz=1"} {
		f.Add(s)
	}
	names := map[string]bool{}
	for _, n := range systemProperties {
		names[n] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		app, sys := parsePropertyBag(s)
		for k := range sys {
			if !names[k] {
				t.Errorf("system property %q is not an IoT Hub name", k)
			}
		}
		for k := range app {
			if _, ok := systemProperties[k]; ok {
				t.Errorf("system property %q kept as an application property", k)
			}
		}
	})
}

// FuzzPatch: an accepted patch is a JSON object whose merge into an empty twin marshals back.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":null}}`, `{"$version":1}`, `[]`, `{"a":1}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePatch(b)
		if err != nil {
			return
		}
		props := map[string]any{}
		merge(props, p)
		if _, err := json.Marshal(props); err != nil {
			t.Errorf("merged patch %q does not marshal: %v", b, err)
		}
	})
}
