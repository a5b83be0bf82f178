package hubservice

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Device is what the hub's registry says of a device's connection.
type Device struct {
	// ID is the device ID, as the hub spells it.
	ID string
	// Connected is true while the device has a connection open to the hub.
	Connected bool
	// StateUpdated is when the device last connected or disconnected; zero when never.
	StateUpdated time.Time
	// LastActivity is when the device last connected or sent something; zero when never.
	LastActivity time.Time
	// Enabled is false for a device whose status is disabled: the hub refuses it.
	Enabled bool
}

// maxDeviceBytes bounds the body ParseDevice reads; a device identity is well under 4 KiB.
const maxDeviceBytes = 64 << 10

// wireDevice is the part of IoT Hub's device identity this package reads.
type wireDevice struct {
	DeviceID                   *string `json:"deviceId"`
	ConnectionState            *string `json:"connectionState"`
	Status                     *string `json:"status"`
	ConnectionStateUpdatedTime *string `json:"connectionStateUpdatedTime"`
	LastActivityTime           *string `json:"lastActivityTime"`
}

// ParseDevice reads the body of a "Devices - Get Identity" answer. deviceId and connectionState
// ("Connected" or "Disconnected") are required; status, when present, is "enabled" or
// "disabled"; the times, when present, are ISO 8601 (IoT Hub writes a time that never happened
// as 0001-01-01T00:00:00, read as zero). Other fields are ignored.
func ParseDevice(body []byte) (*Device, error) {
	if len(body) > maxDeviceBytes {
		return nil, fmt.Errorf("the device is over %d bytes", maxDeviceBytes)
	}
	var w wireDevice
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("the device is not a JSON object: %w", err)
	}
	if w.DeviceID == nil || *w.DeviceID == "" {
		return nil, errors.New("the device has no deviceId")
	}
	d := &Device{ID: *w.DeviceID, Enabled: true}
	if w.ConnectionState == nil {
		return nil, errors.New("the device has no connectionState")
	}
	switch strings.ToLower(*w.ConnectionState) {
	case "connected":
		d.Connected = true
	case "disconnected":
	default:
		return nil, fmt.Errorf("connectionState %q is neither Connected nor Disconnected", short(*w.ConnectionState))
	}
	if w.Status != nil {
		switch strings.ToLower(*w.Status) {
		case "enabled":
		case "disabled":
			d.Enabled = false
		default:
			return nil, fmt.Errorf("status %q is neither enabled nor disabled", short(*w.Status))
		}
	}
	var err error
	if d.StateUpdated, err = parseTime("connectionStateUpdatedTime", w.ConnectionStateUpdatedTime); err != nil {
		return nil, err
	}
	if d.LastActivity, err = parseTime("lastActivityTime", w.LastActivityTime); err != nil {
		return nil, err
	}
	return d, nil
}

// parseTime reads an IoT Hub time: RFC 3339, or the same without a zone (UTC), up to seven
// fractional digits; year 1 is "never" and reads as zero.
func parseTime(field string, s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", *s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an ISO 8601 time", field, short(*s))
	}
	if t.Year() <= 1 {
		return time.Time{}, nil
	}
	return t.UTC(), nil
}

// serviceError is IoT Hub's error body: {"Message":"ErrorCode:{code};{text}","ExceptionMessage":…}.
type serviceError struct {
	Message string `json:"Message"`
}

// parseErrorCode returns the error code of an error answer: the iothub-errorcode header when
// set, else the code in the body's Message, else "".
func parseErrorCode(header string, body []byte) string {
	if c := strings.TrimSpace(header); c != "" && validCode(c) {
		return c
	}
	var e serviceError
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	rest, ok := strings.CutPrefix(e.Message, "ErrorCode:")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, ";")
	if !validCode(code) {
		return ""
	}
	return code
}

// validCode accepts an error code's letters and digits, at most 64.
func validCode(c string) bool {
	if c == "" || len(c) > 64 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9') {
			return false
		}
	}
	return true
}

// short keeps outside input short in errors.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
