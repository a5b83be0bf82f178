package hubserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Limits IoT Hub applies to twins.
const (
	// maxTwinSection is the largest tags, desired or reported section IoT Hub stores (32 KiB).
	maxTwinSection = 32 * 1024
	// maxTwinDepth is how deeply IoT Hub lets twin objects nest.
	maxTwinDepth = 10
)

// errTwinPatch is a reported properties patch IoT Hub would refuse with 400.
var errTwinPatch = errors.New("hubserver: invalid twin patch")

// Twin is a device twin as the service sees it: tags, desired and reported properties (without
// their $version and $metadata) and the versions of the two property sections.
type Twin struct {
	Tags            map[string]any
	Desired         map[string]any
	Reported        map[string]any
	DesiredVersion  int64
	ReportedVersion int64
}

// twin is the state behind Twin. Its methods are called with the Server's lock held.
type twin struct {
	tags, desired, reported         map[string]any
	desiredVersion, reportedVersion int64
}

// newTwin seeds a twin from a device's initial twin. A new IoT Hub twin starts at version 1 in
// both sections. Malformed initial sections are left empty: the registry's owner validated them.
func newTwin(it InitialTwin) *twin {
	return &twin{
		tags:            objectOrEmpty(it.Tags),
		desired:         objectOrEmpty(it.Desired),
		reported:        map[string]any{},
		desiredVersion:  1,
		reportedVersion: 1,
	}
}

func objectOrEmpty(raw json.RawMessage) map[string]any {
	m := map[string]any{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return m
	}
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return map[string]any{}
	}
	// $version and $metadata are the service's, never a property.
	for k := range m {
		if strings.HasPrefix(k, "$") {
			delete(m, k)
		}
	}
	return m
}

// document is the body of a twin GET response.
func (t *twin) document() []byte {
	b, _ := json.Marshal(map[string]any{
		"desired":  withVersion(t.desired, t.desiredVersion),
		"reported": withVersion(t.reported, t.reportedVersion),
	})
	return b
}

func withVersion(props map[string]any, v int64) map[string]any {
	out := make(map[string]any, len(props)+1)
	for k, val := range props {
		out[k] = val
	}
	out["$version"] = v
	return out
}

// snapshot returns a deep copy, safe to hand out.
func (t *twin) snapshot() Twin {
	return Twin{
		Tags:            deepCopy(t.tags),
		Desired:         deepCopy(t.desired),
		Reported:        deepCopy(t.reported),
		DesiredVersion:  t.desiredVersion,
		ReportedVersion: t.reportedVersion,
	}
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return out
}

// parsePatch reads a twin properties patch: a JSON object, within IoT Hub's size and depth
// limits, with no property names IoT Hub reserves ('$' first, or containing '.', ' ' or '#').
func parsePatch(body []byte) (map[string]any, error) {
	if len(body) > maxTwinSection {
		return nil, fmt.Errorf("%w: %d bytes; a twin section holds at most %d", errTwinPatch, len(body), maxTwinSection)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var patch map[string]any
	if err := dec.Decode(&patch); err != nil || patch == nil {
		return nil, fmt.Errorf("%w: not a JSON object", errTwinPatch)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", errTwinPatch)
	}
	if err := checkNames(patch, 1); err != nil {
		return nil, err
	}
	return patch, nil
}

func checkNames(m map[string]any, depth int) error {
	if depth > maxTwinDepth {
		return fmt.Errorf("%w: nested deeper than %d levels", errTwinPatch, maxTwinDepth)
	}
	for k, v := range m {
		if k == "" || strings.HasPrefix(k, "$") || strings.ContainsAny(k, ". #") {
			return fmt.Errorf("%w: property name %q is not allowed", errTwinPatch, truncate(k))
		}
		if child, ok := v.(map[string]any); ok {
			if err := checkNames(child, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// merge applies patch to props as IoT Hub does: objects merge recursively, null removes a
// property, anything else replaces it.
func merge(props, patch map[string]any) {
	for k, v := range patch {
		switch v := v.(type) {
		case nil:
			delete(props, k)
		case map[string]any:
			child, ok := props[k].(map[string]any)
			if !ok {
				child = map[string]any{}
				props[k] = child
			}
			merge(child, v)
		default:
			props[k] = v
		}
	}
}
