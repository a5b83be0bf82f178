package finalize

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Config
	}{
		{"ours", `{"enable": ["kiosk.service", "telemetry"], "disable": ["oob-agent.service"], "reboot": true, "rebootDelay": "5s"}`,
			Config{Enable: []string{"kiosk.service", "telemetry.service"}, Disable: []string{"oob-agent.service"}, Reboot: true, RebootDelay: 5 * time.Second}},
		{"offline root and command", `{"enable": ["kiosk.target"], "reboot": true, "rebootCommand": ["/bin/touch", "/tmp/x"], "root": "/mnt/img/"}`,
			Config{Enable: []string{"kiosk.target"}, Reboot: true, RebootCommand: []string{"/bin/touch", "/tmp/x"}, Root: "/mnt/img"}},
		{"names as systemctl mangles them", `{"enable": ["org.example.kiosk", "getty@tty2", "a\\x2db.socket"]}`,
			Config{Enable: []string{"org.example.kiosk.service", "getty@tty2.service", `a\x2db.socket`}}},
		{"nothing to enable", `{"disable": ["oob-agent"]}`, Config{Disable: []string{"oob-agent.service"}}},
		// The original sample's finalize.config.json, as it ships once startupApp names a real app.
		{"original sample", `{
			"startupService": "AzureDeviceManagementClient",
			"startupApp": "Contoso.OEMApp_8wekyb3d8bbwe"
		}`, Config{Enable: []string{"AzureDeviceManagementClient.service", "Contoso.OEMApp_8wekyb3d8bbwe.service"},
			Disable: []string{AgentUnit}, Reboot: true, RebootDelay: LegacyRebootDelay}},
		{"original sample, service only", `{"startupService": "dm-client", "startupApp": ""}`,
			Config{Enable: []string{"dm-client.service"}, Disable: []string{AgentUnit}, Reboot: true, RebootDelay: LegacyRebootDelay}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for in, want := range map[string]string{
		``:                          "not a JSON object",
		`null`:                      "not a JSON object",
		`["kiosk"]`:                 "not a JSON object",
		`{"enable": ["kiosk"]}x`:    "more after",
		`{"enabled": ["kiosk"]}`:    "unknown field",
		`{"enable": "kiosk"}`:       "cannot unmarshal",
		`{"enable": ["kiosk app"]}`: `' ' is not allowed`,
		`{"enable": ["/etc/systemd/system/kiosk.service"]}`: `'/' is not allowed`,
		`{"enable": [""]}`:                                 "empty unit name",
		`{"enable": [".service"]}`:                         "nothing before",
		`{"enable": ["@x.service"]}`:                       `starts with "@"`,
		`{"enable": ["k", "k.service"]}`:                   "twice",
		`{"enable": ["k"], "disable": ["k.service"]}`:      "both",
		`{"reboot": true, "rebootDelay": "5"}`:             "duration",
		`{"reboot": true, "rebootDelay": "-1s"}`:           "negative",
		`{"rebootDelay": "5s"}`:                            `without "reboot"`,
		`{"reboot": false, "rebootCommand": ["reboot"]}`:   `without "reboot"`,
		`{"reboot": true, "rebootCommand": []}`:            "no program",
		`{"root": "image"}`:                                "absolute",
		`{"enable": ["` + strings.Repeat("a", 250) + `"]}`: "longer than",
		`{"startupService": "", "startupApp": ""}`:         "both empty",
		`{"startupService": "dm", "enable": ["kiosk"]}`:    "cannot be mixed",
		`{"startupService": "dm", "startupapp": "kiosk"}`:  "unknown field",
		`{"Enable": ["kiosk"]}`:                            "unknown field",
		`{"enable": ["a"], "enable": ["b"]}`:               "twice",
		// The sample's placeholder: the seed says to replace it with the real app.
		`{"startupService": "AzureDeviceManagementClient", "startupApp": "package-family-name of the the OEM App"}`: `"startupApp"`,
	} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s): %v, want an error mentioning %q", in, err, want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	c := Config{Enable: []string{"kiosk.service"}, Disable: []string{AgentUnit}, Reboot: true, RebootDelay: 1500 * time.Millisecond, RebootCommand: []string{"true"}, Root: "/r"}
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"rebootDelay":"1.5s"`) {
		t.Errorf("rebootDelay not written as a duration: %s", b)
	}
	got, err := Parse(b)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("Parse(%s) = %+v, %v", b, got, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"enable": ["kiosk.service", "telemetry"], "disable": ["oob-agent.service"], "reboot": true, "rebootDelay": "5s"}`))
	f.Add([]byte(`{"startupService": "AzureDeviceManagementClient", "startupApp": "Contoso.OEMApp_8wekyb3d8bbwe"}`))
	f.Add([]byte(`{"enable": ["getty@tty2", "a\\x2db.socket"], "reboot": true, "rebootCommand": ["x"], "root": "/r"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		for _, u := range append(append([]string{}, c.Enable...), c.Disable...) {
			if got, err := UnitName(u); err != nil || got != u {
				t.Fatalf("accepted unit %q that is not a canonical unit name: %q, %v", u, got, err)
			}
		}
		if c.RebootDelay < 0 || (!c.Reboot && (c.RebootDelay != 0 || c.RebootCommand != nil)) {
			t.Fatalf("accepted reboot settings that make no sense: %+v", c)
		}
		// What Parse accepts, MarshalJSON writes back to the same config.
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %+v through %s: %+v, %v", c, out, again, err)
		}
	})
}
