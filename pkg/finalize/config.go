package finalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/oobtpm/oob/pkg/strictjson"
)

// AgentUnit is the agent's own unit as deploy/ ships it.
const AgentUnit = "oob-agent.service"

// LegacyRebootDelay is the reboot delay for the original sample's finalize.config.json, which has
// none: long enough for the screen to say the device is done.
const LegacyRebootDelay = 5 * time.Second

// Config says how a device is handed over to its workload. Its JSON form:
//
//	{"enable": ["kiosk.service"], "disable": ["oob-agent.service"],
//	 "reboot": true, "rebootDelay": "5s", "rebootCommand": ["/sbin/reboot"], "root": "/mnt/image"}
//
// The original sample's finalize.config.json is read too; see Parse.
type Config struct {
	// Enable are the workload's units, enabled (and started, on a live system) first.
	Enable []string `json:"enable,omitempty"`
	// Disable are the agent's own units, disabled once the device is recorded as finalized.
	Disable []string `json:"disable,omitempty"`
	// Reboot reboots the device at the end, RebootDelay after the units are switched.
	Reboot      bool          `json:"reboot,omitempty"`
	RebootDelay time.Duration `json:"-"`
	// RebootCommand, when set, is run instead of asking systemd to reboot (argv, no shell).
	RebootCommand []string `json:"rebootCommand,omitempty"`
	// Root, when set, is an offline root directory (an image being built, a test): units are
	// switched with systemctl --root, nothing is started, and this machine is not rebooted.
	Root string `json:"root,omitempty"`
}

// fileConfig is both file formats at once, so that one strict decode refuses unknown members.
type fileConfig struct {
	Enable        []string `json:"enable"`
	Disable       []string `json:"disable"`
	Reboot        *bool    `json:"reboot"`
	RebootDelay   *string  `json:"rebootDelay"`
	RebootCommand []string `json:"rebootCommand"`
	Root          *string  `json:"root"`

	// The original sample's finalize.config.json.
	StartupService *string `json:"startupService"`
	StartupApp     *string `json:"startupApp"`
}

// MarshalJSON writes c in Parse's format, RebootDelay as a Go duration ("5s").
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	out := struct {
		plain
		RebootDelay string `json:"rebootDelay,omitempty"`
	}{plain: plain(c)}
	if c.RebootDelay != 0 {
		out.RebootDelay = c.RebootDelay.String()
	}
	return json.Marshal(out)
}

// Parse reads a finalize config. Unknown members are refused, unit names are checked as systemd
// checks them (".service" added to a name without a unit type, as systemctl does), and a unit
// may not be both enabled and disabled.
//
// The original sample's finalize.config.json, {"startupService": "…", "startupApp": "…"}, is
// accepted as it is. On Windows IoT Core the startup service was a Windows service set to start
// automatically (the Azure device management client) and the startup app the UWP package made
// the foreground app in place of the out-of-box app. On Linux both are systemd units: the
// service's unit, and the unit that runs the foreground application (a kiosk session, the OEM's
// main program). Both are enabled; the agent's own unit (AgentUnit) is disabled, as replacing the
// startup app retired the sample's out-of-box app; and the device reboots after
// LegacyRebootDelay, as the sample did when "Onboarding Done" was pressed.
func Parse(data []byte) (Config, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Config{}, errors.New("finalize: the config is not a JSON object")
	}
	var f fileConfig
	if err := strictjson.Decode(data, &f); err != nil {
		return Config{}, fmt.Errorf("finalize: config: %w", err)
	}
	if f.StartupService != nil || f.StartupApp != nil {
		return f.legacy()
	}
	return f.config()
}

func (f fileConfig) config() (Config, error) {
	var c Config
	var err error
	if c.Enable, err = unitList("enable", f.Enable); err != nil {
		return Config{}, err
	}
	if c.Disable, err = unitList("disable", f.Disable); err != nil {
		return Config{}, err
	}
	for _, u := range c.Enable {
		for _, v := range c.Disable {
			if u == v {
				return Config{}, fmt.Errorf("finalize: %s is both in \"enable\" and in \"disable\"", u)
			}
		}
	}
	c.Reboot = f.Reboot != nil && *f.Reboot
	if f.RebootDelay != nil {
		if !c.Reboot {
			return Config{}, errors.New(`finalize: "rebootDelay" without "reboot": true`)
		}
		if c.RebootDelay, err = time.ParseDuration(*f.RebootDelay); err != nil {
			return Config{}, fmt.Errorf(`finalize: "rebootDelay": %w (write a duration such as "5s")`, err)
		}
		if c.RebootDelay < 0 {
			return Config{}, fmt.Errorf(`finalize: "rebootDelay" %s is negative`, c.RebootDelay)
		}
	}
	if f.RebootCommand != nil {
		if !c.Reboot {
			return Config{}, errors.New(`finalize: "rebootCommand" without "reboot": true`)
		}
		if len(f.RebootCommand) == 0 || f.RebootCommand[0] == "" {
			return Config{}, errors.New(`finalize: "rebootCommand" names no program`)
		}
		c.RebootCommand = f.RebootCommand
	}
	if f.Root != nil {
		if !filepath.IsAbs(*f.Root) {
			return Config{}, fmt.Errorf(`finalize: "root" %q is not an absolute path`, *f.Root)
		}
		c.Root = filepath.Clean(*f.Root)
	}
	return c, nil
}

// legacy maps the original sample's finalize.config.json; see Parse.
func (f fileConfig) legacy() (Config, error) {
	if f.Enable != nil || f.Disable != nil || f.Reboot != nil || f.RebootDelay != nil || f.RebootCommand != nil || f.Root != nil {
		return Config{}, errors.New(`finalize: "startupService" and "startupApp" (the original sample's format) cannot be mixed with "enable", "disable", "reboot" and the rest`)
	}
	var enable []string
	for _, field := range []struct {
		name  string
		value *string
	}{{"startupService", f.StartupService}, {"startupApp", f.StartupApp}} {
		if field.value == nil || *field.value == "" {
			continue
		}
		u, err := mangle(*field.value)
		if err != nil {
			return Config{}, fmt.Errorf("finalize: %q: %w (name the systemd unit that starts it)", field.name, err)
		}
		if len(enable) == 0 || enable[0] != u {
			enable = append(enable, u)
		}
	}
	if len(enable) == 0 {
		return Config{}, errors.New(`finalize: "startupService" and "startupApp" are both empty`)
	}
	return Config{Enable: enable, Disable: []string{AgentUnit}, Reboot: true, RebootDelay: LegacyRebootDelay}, nil
}

func unitList(field string, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		u, err := mangle(n)
		if err != nil {
			return nil, fmt.Errorf("finalize: %q: %w", field, err)
		}
		for _, seen := range out {
			if seen == u {
				return nil, fmt.Errorf("finalize: %q lists %s twice", field, u)
			}
		}
		out = append(out, u)
	}
	return out, nil
}
