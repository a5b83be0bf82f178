package firstboot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/oobtpm/oob/pkg/strictjson"
)

// ConfigVersion is the config format this package reads.
const ConfigVersion = 1

// MaxConfigBytes bounds a config file; real ones are well under a kilobyte.
const MaxConfigBytes = 64 << 10

// Config is the agent's configuration file (JSON):
//
//	{"version": 1,
//	 "tpm": {"path": "/dev/tpmrm0"},
//	 "dps": {"idScope": "0ne…", "endpoint": "global.azure-devices-provisioning.net"},
//	 "display": {"outputs": ["framebuffer", "terminal"], "payloadFormat": "v1"},
//	 "stateDir": "/var/lib/oob",
//	 "x509": {"certificateFile": "/var/lib/oob/device-chain.pem", "key": "tpm",
//	          "activationFile": "/etc/oob/activation-url"},
//	 "finalize": {"enable": ["kiosk.service"], "disable": ["oob-agent.service"], "reboot": true}}
//
// Unknown members are refused, so that a misspelt setting is not silently ignored.
type Config struct {
	Version int           `json:"version"`
	TPM     TPMConfig     `json:"tpm"`
	DPS     DPSConfig     `json:"dps"`
	Hub     HubConfig     `json:"hub"`
	Display DisplayConfig `json:"display"`
	Retry   RetryConfig   `json:"retry"`
	// X509, when set, makes the device register by its factory-issued certificate instead of by
	// its TPM's endorsement key.
	X509 *X509Config `json:"x509"`
	// StateDir holds the first-boot state and the finalized marker; default DefaultStateDir.
	StateDir string `json:"stateDir"`
	// Finalize is what happens once the device works (pkg/finalize's format, or a path to a file
	// in it, such as the original sample's finalize.config.json).
	Finalize json.RawMessage `json:"finalize"`
}

// TPMConfig chooses the TPM. Hierarchy passwords come from files, never from the config itself.
type TPMConfig struct {
	// Path is a device path or tcp://HOST:PORT; default /dev/tpmrm0.
	Path                string `json:"path"`
	EndorsementAuthFile string `json:"endorsementAuthFile"`
	OwnerAuthFile       string `json:"ownerAuthFile"`
}

// DPSConfig says where the device registers.
type DPSConfig struct {
	IDScope string `json:"idScope"`
	// Endpoint is DPS's device endpoint; default the global one.
	Endpoint string `json:"endpoint"`
	// CAFile, when set, is the only CA trusted for DPS and the hub (a private DPS).
	CAFile string `json:"caFile"`
	// RegistrationID overrides the one derived from the EK (an OEM-chosen ID).
	RegistrationID string `json:"registrationId"`
	// Label is a short device label shown on the screen and carried in the code.
	Label string `json:"label"`
}

// X509Config is a device's X.509 identity, as `oob-agent certify` leaves it.
type X509Config struct {
	// CertificateFile is the device's certificate chain (PEM), leaf first. Its common name is
	// the registration ID (the board's GUID, in lower case).
	CertificateFile string `json:"certificateFile"`
	// Key is "tpm" for the key `oob-agent certify` made in the TPM, else the path of the
	// private key's PEM file (mode 0600).
	Key string `json:"key"`
	// ActivationFile, when set, holds the activation URL printed on the board's label
	// (the GUID.url file `oob-factory label` writes); while the enrollment is disabled the screen shows
	// it as a QR code, so that a lost label is no dead end.
	ActivationFile string `json:"activationFile"`
}

// KeyInTPM is X509Config.Key for a key held by the TPM.
const KeyInTPM = "tpm"

// HubConfig overrides where the assigned hub is dialled (its name is still verified).
type HubConfig struct {
	Address string `json:"address"`
}

// Display outputs.
const (
	OutputFramebuffer = "framebuffer"
	OutputTerminal    = "terminal"
	OutputPNG         = "png"
)

// DisplayConfig says where the screen is drawn.
type DisplayConfig struct {
	// Outputs are tried in order; the first that works shows the screen, and "png" is always
	// written in addition when listed. Default: framebuffer, then terminal.
	Outputs []string `json:"outputs"`
	// Framebuffer is the framebuffer device; default /dev/fb0.
	Framebuffer string `json:"framebuffer"`
	// PNG is where the "png" output writes the screen.
	PNG string `json:"png"`
	// PayloadFormat is "v1" (default) or "legacy" (the original sample's JSON).
	PayloadFormat string `json:"payloadFormat"`
	// Title is the screen's title; default "Scan to onboard this device".
	Title string `json:"title"`
	// Terminal is how the terminal output draws: "fullscreen" (default; a console given over
	// to the agent, redrawn in place) or "inline" (the screen once, then a line per status
	// change, for a terminal that shows other output too).
	Terminal string `json:"terminal"`
}

// Terminal drawing modes.
const (
	TerminalFullScreen = "fullscreen"
	TerminalInline     = "inline"
)

// RetryConfig is the backoff of the agent's own registration attempts while it waits to be
// enrolled: from Initial, doubling up to Max, with jitter.
type RetryConfig struct {
	Initial Duration `json:"initial"`
	Max     Duration `json:"max"`
}

// Defaults.
const (
	DefaultStateDir = "/var/lib/oob"
	DefaultTPM      = "/dev/tpmrm0"
	DefaultFB       = "/dev/fb0"
	DefaultTitle    = "Scan to onboard this device"
	// DefaultActivationTitle is the title of a device onboarding by X.509, whose code opens the
	// activation portal.
	DefaultActivationTitle = "Scan to activate this device"
	// The default backoff keeps a waiting device well inside DPS's limits (a few requests a
	// minute) while noticing its enrollment within a minute.
	DefaultRetryInitial = 5 * time.Second
	DefaultRetryMax     = 60 * time.Second
	// minRetry is the shortest wait between attempts a config may ask for.
	minRetry = 500 * time.Millisecond
)

// Duration is a time.Duration written as a Go duration string ("5s", "1m30s").
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"5s\" or \"1m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadConfig reads and checks the config at path. A relative path in it (state directory, CA,
// PNG, finalize file) is taken relative to the config file's directory.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.resolve(filepath.Dir(path))
	return c, nil
}

// ParseConfig reads a config and fills in defaults.
func ParseConfig(b []byte) (*Config, error) {
	if len(b) > MaxConfigBytes {
		return nil, fmt.Errorf("larger than %d bytes: not an agent config", MaxConfigBytes)
	}
	var c Config
	if err := strictjson.Decode(b, &c); err != nil {
		return nil, fmt.Errorf("not a valid agent config: %w", err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) check() error {
	switch {
	case c.Version == 0:
		return fmt.Errorf(`"version" is missing: this agent reads version %d`, ConfigVersion)
	case c.Version != ConfigVersion:
		return fmt.Errorf("version %d is not one this agent reads (%d): update the agent or the config", c.Version, ConfigVersion)
	case c.DPS.IDScope == "":
		return errors.New(`"dps.idScope" is missing: copy the ID scope from the DPS instance's overview page`)
	}
	if c.TPM.Path == "" {
		c.TPM.Path = DefaultTPM
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	d := &c.Display
	if len(d.Outputs) == 0 {
		d.Outputs = []string{OutputFramebuffer, OutputTerminal}
	}
	for _, o := range d.Outputs {
		if !slices.Contains([]string{OutputFramebuffer, OutputTerminal, OutputPNG}, o) {
			return fmt.Errorf(`display output %q: use "framebuffer", "terminal" or "png"`, o)
		}
	}
	if slices.Contains(d.Outputs, OutputPNG) && d.PNG == "" {
		return errors.New(`display output "png" needs "display.png", the file to write`)
	}
	if d.Framebuffer == "" {
		d.Framebuffer = DefaultFB
	}
	if d.PayloadFormat == "" {
		d.PayloadFormat = "v1"
	}
	if d.PayloadFormat != "v1" && d.PayloadFormat != "legacy" {
		return fmt.Errorf(`display.payloadFormat %q: use "v1" or "legacy"`, d.PayloadFormat)
	}
	if d.Title == "" {
		d.Title = DefaultTitle
		if c.X509 != nil {
			d.Title = DefaultActivationTitle
		}
	}
	if d.Terminal == "" {
		d.Terminal = TerminalFullScreen
	}
	if d.Terminal != TerminalFullScreen && d.Terminal != TerminalInline {
		return fmt.Errorf(`display.terminal %q: use "fullscreen" or "inline"`, d.Terminal)
	}
	if x := c.X509; x != nil {
		switch {
		case x.CertificateFile == "":
			return errors.New(`"x509.certificateFile" is missing: the certificate chain oob-agent certify wrote`)
		case x.Key == "":
			return errors.New(`"x509.key" is missing: "tpm" for a key in the TPM, or the key file's path`)
		}
	}
	r := &c.Retry
	if r.Initial == 0 {
		r.Initial = Duration(DefaultRetryInitial)
	}
	if r.Max == 0 {
		r.Max = Duration(max(DefaultRetryMax, time.Duration(r.Initial)))
	}
	if time.Duration(r.Initial) < minRetry || r.Max < r.Initial {
		return fmt.Errorf("retry: initial must be at least %s and max at least initial", minRetry)
	}
	return nil
}

// resolve makes relative paths relative to dir.
func (c *Config) resolve(dir string) {
	paths := []*string{&c.StateDir, &c.DPS.CAFile, &c.Display.PNG, &c.TPM.EndorsementAuthFile, &c.TPM.OwnerAuthFile}
	if x := c.X509; x != nil {
		paths = append(paths, &x.CertificateFile, &x.ActivationFile)
		if x.Key != KeyInTPM {
			paths = append(paths, &x.Key)
		}
	}
	for _, p := range paths {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	var file string
	if json.Unmarshal(c.Finalize, &file) == nil && file != "" && !filepath.IsAbs(file) {
		c.Finalize, _ = json.Marshal(filepath.Join(dir, file))
	}
}
