package firstboot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"version": 1, "dps": {"idScope": "0ne00A1B2C3"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TPM.Path != DefaultTPM || c.StateDir != DefaultStateDir || c.Display.PayloadFormat != "v1" ||
		len(c.Display.Outputs) != 2 || c.Display.Outputs[0] != OutputFramebuffer ||
		time.Duration(c.Retry.Initial) != DefaultRetryInitial || time.Duration(c.Retry.Max) != DefaultRetryMax {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestParseConfigRefusesMistakes(t *testing.T) {
	for in, want := range map[string]string{
		`{"dps": {"idScope": "x"}}`:                                                         `"version" is missing`,
		`{"version": 2, "dps": {"idScope": "x"}}`:                                           "version 2",
		`{"version": 1}`:                                                                    "idScope",
		`{"version": 1, "dps": {"idScope": "x", "idscope": "y"}}`:                           "unknown field",
		`{"version": 1, "dps": {"idScope": "x"}, "stateDirectory": "/x"}`:                   "unknown field",
		`{"version": 1, "dps": {"idScope": "x"}, "display": {"outputs": ["hdmi"]}}`:         `"hdmi"`,
		`{"version": 1, "dps": {"idScope": "x"}, "display": {"outputs": ["png"]}}`:          `"display.png"`,
		`{"version": 1, "dps": {"idScope": "x"}, "display": {"payloadFormat": "v2"}}`:       "payloadFormat",
		`{"version": 1, "dps": {"idScope": "x"}, "retry": {"initial": 5}}`:                  "duration",
		`{"version": 1, "dps": {"idScope": "x"}, "retry": {"initial": "10ms"}}`:             "at least",
		`{"version": 1, "dps": {"idScope": "x"}, "retry": {"initial": "10s", "max": "5s"}}`: "max",
		`{"version": 1, "dps": {"idScope": "x"}} {}`:                                        "more after",
		`[1]`: "not a valid agent config",
	} {
		if _, err := ParseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%s): %v, want an error mentioning %q", in, err, want)
		}
	}
}

func TestLoadConfigResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.json")
	body := `{"version": 1, "dps": {"idScope": "0ne1", "caFile": "ca.pem"}, "stateDir": "state",
		"display": {"outputs": ["png"], "png": "screen.png"}, "tpm": {"path": "tcp://127.0.0.1:2321"},
		"finalize": "finalize.config.json"}`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != filepath.Join(dir, "state") || c.DPS.CAFile != filepath.Join(dir, "ca.pem") ||
		c.Display.PNG != filepath.Join(dir, "screen.png") || c.TPM.Path != "tcp://127.0.0.1:2321" {
		t.Errorf("paths: %+v", c)
	}
	if string(c.Finalize) != `"`+filepath.Join(dir, "finalize.config.json")+`"` {
		t.Errorf("finalize file: %s", c.Finalize)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"version": 1, "dps": {"idScope": "0ne00A1B2C3"}, "display": {"outputs": ["png"], "png": "x.png"}}`))
	f.Add([]byte(`{"version": 1, "dps": {"idScope": "s"}, "retry": {"initial": "1s", "max": "2s"}, "finalize": {"enable": ["a"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if c.DPS.IDScope == "" || c.Version != ConfigVersion || len(c.Display.Outputs) == 0 || c.Retry.Max < c.Retry.Initial {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
	})
}
