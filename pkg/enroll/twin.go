package enroll

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// MaxTwinBytes bounds an initial twin file: IoT Hub caps tags and desired properties at 8 KB
// each, and anything much larger is not a twin.
const MaxTwinBytes = 32 << 10

// maxTwinKey is IoT Hub's limit on a twin key's length, in bytes.
const maxTwinKey = 1024

// ParseTwin parses an initial twin as DPS takes it:
//
//	{"tags": {…}, "properties": {"desired": {…}}}
//
// Both members are optional; anything else is refused, so that a misspelt member is not silently
// dropped. Keys follow IoT Hub's rules for twin keys.
func ParseTwin(data []byte) (*dpsapi.InitialTwin, error) {
	if len(data) > MaxTwinBytes {
		return nil, fmt.Errorf("initial twin is %d bytes; at most %d are accepted", len(data), MaxTwinBytes)
	}
	var raw struct {
		Tags       json.RawMessage `json:"tags"`
		Properties *struct {
			Desired json.RawMessage `json:"desired"`
		} `json:"properties"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf(`initial twin is not {"tags": {…}, "properties": {"desired": {…}}}: %w`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("initial twin has more after its closing brace: give one JSON object")
	}
	if raw.Tags == nil && raw.Properties == nil {
		return nil, errors.New(`initial twin has neither "tags" nor "properties"`)
	}
	twin := &dpsapi.InitialTwin{}
	if raw.Tags != nil {
		if err := checkCollection("tags", raw.Tags, 1); err != nil {
			return nil, err
		}
		twin.Tags = raw.Tags
	}
	if raw.Properties != nil {
		if raw.Properties.Desired == nil {
			return nil, errors.New(`initial twin "properties" must hold "desired"`)
		}
		if err := checkCollection("properties.desired", raw.Properties.Desired, 1); err != nil {
			return nil, err
		}
		twin.Properties = &dpsapi.InitialTwinProperties{Desired: raw.Properties.Desired}
	}
	return twin, nil
}

// maxTwinDepth is IoT Hub's limit on the nesting of a twin collection's objects.
const maxTwinDepth = 10

// checkCollection checks that raw is a JSON object whose keys, at every level, IoT Hub accepts.
func checkCollection(path string, raw json.RawMessage, depth int) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return fmt.Errorf("initial twin %q must be a JSON object", path)
	}
	if depth > maxTwinDepth {
		return fmt.Errorf("initial twin %q nests objects deeper than IoT Hub's %d levels", path, maxTwinDepth)
	}
	for k, v := range m {
		if err := validateTwinKey(k); err != nil {
			return fmt.Errorf("initial twin %q: %w", path, err)
		}
		if t := bytes.TrimSpace(v); len(t) > 0 && t[0] == '{' {
			if err := checkCollection(path+"."+k, v, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateTwinKey applies IoT Hub's rules for twin keys: UTF-8, at most 1 KB, no control
// characters, and none of '.', '$' or space.
func validateTwinKey(k string) error {
	switch {
	case k == "":
		return errors.New("a key is empty")
	case len(k) > maxTwinKey:
		return fmt.Errorf("key %.20q… is longer than IoT Hub's %d bytes", k, maxTwinKey)
	case !utf8.ValidString(k):
		return fmt.Errorf("key %q is not valid UTF-8", k)
	}
	for _, r := range k {
		if r == '.' || r == '$' || r == ' ' || unicode.IsControl(r) {
			return fmt.Errorf("key %q has %q, which IoT Hub does not allow in twin keys", k, r)
		}
	}
	return nil
}
