package hubservice

import (
	"errors"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/sas"
)

const fuzzKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// FuzzParseDevice checks that any body is read without panicking, and that what is accepted
// has a device ID and times that are zero or real.
func FuzzParseDevice(f *testing.F) {
	for _, s := range []string{
		`{"deviceId":"d1","generationId":"637394137160664574","etag":"MTU4MjY3MDc5","connectionState":"Disconnected","status":"enabled","statusReason":null,"connectionStateUpdatedTime":"0001-01-01T00:00:00","statusUpdatedTime":"0001-01-01T00:00:00","lastActivityTime":"0001-01-01T00:00:00","cloudToDeviceMessageCount":0,"authentication":{"symmetricKey":{"primaryKey":null,"secondaryKey":null},"x509Thumbprint":{"primaryThumbprint":null,"secondaryThumbprint":null},"type":"sas"},"capabilities":{"iotEdge":false}}`,
		`{"deviceId":"d1","connectionState":"Connected","connectionStateUpdatedTime":"2026-01-12T10:30:00.1234567Z","lastActivityTime":"2026-01-12T10:35:00Z"}`,
		`{"deviceId":"d1","connectionState":"connected","status":"disabled"}`,
		`{"deviceId":"","connectionState":"Connected"}`,
		`{"deviceId":"d1","connectionState":"Connecting"}`,
		`{"deviceId":"d1","connectionState":"Connected","lastActivityTime":"yesterday"}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseDevice(body)
		if err != nil {
			if d != nil {
				t.Fatal("a device and an error")
			}
			return
		}
		if d.ID == "" {
			t.Fatal("accepted a device without an ID")
		}
		for _, tm := range []struct {
			name string
			year int
			zero bool
		}{
			{"StateUpdated", d.StateUpdated.Year(), d.StateUpdated.IsZero()},
			{"LastActivity", d.LastActivity.Year(), d.LastActivity.IsZero()},
		} {
			if !tm.zero && tm.year <= 1 {
				t.Fatalf("%s in year %d is not zero", tm.name, tm.year)
			}
		}
	})
}

// FuzzParseConnectionStrings checks that any file is read without panicking, that no hub is
// accepted twice, and that no error shows a key.
func FuzzParseConnectionStrings(f *testing.F) {
	good := "HostName=a.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=" + fuzzKey
	for _, s := range []string{
		good,
		"# hubs\n" + good + "\n\nHostName=b.azure-devices.net;SharedAccessKeyName=registryRead;SharedAccessKey=" + fuzzKey + "\n",
		good + "\n" + strings.ToUpper(good[:30]) + good[30:],
		"HostName=a.azure-devices-provisioning.net;SharedAccessKeyName=p;SharedAccessKey=" + fuzzKey,
		"HostName=a.azure-devices.net;DeviceId=d;SharedAccessKey=" + fuzzKey,
		"\r\n\r\n", "#", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		css, err := ParseConnectionStrings(data)
		if err != nil {
			if !strings.Contains(err.Error(), "hub connection strings") {
				t.Fatalf("error does not say what was read: %v", err)
			}
			for _, line := range strings.Split(string(data), "\n") {
				_, v, ok := strings.Cut(line, "SharedAccessKey=")
				v, _, _ = strings.Cut(v, ";")
				v = strings.TrimSpace(v)
				if _, kerr := sas.ParseKey(v); ok && kerr == nil && strings.Contains(err.Error(), v) {
					t.Fatalf("error %q shows a key", err)
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, cs := range css {
			h := strings.ToLower(cs.HostName)
			if seen[h] {
				t.Fatalf("hub %s accepted twice", h)
			}
			seen[h] = true
		}
		if len(css) == 0 || len(css) > MaxHubs {
			t.Fatalf("%d connection strings accepted", len(css))
		}
	})
}

// FuzzParseErrorCode checks that an error answer's code is only ever letters and digits.
func FuzzParseErrorCode(f *testing.F) {
	f.Add("DeviceNotFound", []byte(`{"Message":"ErrorCode:DeviceNotFound;d1","ExceptionMessage":"Tracking ID:x-G:0-TimeStamp:10/24/2023 16:53:16"}`))
	f.Add("", []byte(`{"Message":"ErrorCode:IotHubUnauthorizedAccess;Unauthorized"}`))
	f.Add("bad code!", []byte(`{"Message":"ErrorCode:;"}`))
	f.Add("", []byte(`not json`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		code := parseErrorCode(header, body)
		if code != "" && !validCode(code) {
			t.Fatalf("code %q accepted", code)
		}
	})
}

func TestErrorKinds(t *testing.T) {
	for _, kind := range []error{ErrUnknownHub, ErrDeviceNotFound, ErrUnauthorized, ErrUnavailable, ErrUnreachable, ErrBadResponse} {
		err := error(&Error{Hub: "h", DeviceID: "d", Kind: kind, Status: 500, Code: "X"})
		if !errors.Is(err, kind) || !strings.Contains(err.Error(), `"d"`) {
			t.Errorf("%v: %v", kind, err)
		}
	}
}
