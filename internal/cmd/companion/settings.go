package companion

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/enroll"
)

// SettingsFlags are the enrollment settings that enroll and scan take alike. DeviceID's flag is
// each command's own: a device ID for enroll, a template for scan.
type SettingsFlags struct {
	DeviceID string
	IoTHub   string
	Disabled bool
	Edge     bool
	Tags     []string
	TwinFile string
}

// register adds the flags other than --device-id to f.
func (o *SettingsFlags) register(f *pflag.FlagSet) {
	f.StringVar(&o.IoTHub, "iot-hub", "", "assign the device to this hub (HOST, e.g. NAME.azure-devices.net) instead of leaving it to DPS's allocation policy")
	f.BoolVar(&o.Disabled, "disabled", false, "create the enrollment disabled: the device cannot register until it is enabled")
	f.BoolVar(&o.Edge, "edge", false, "the device is an IoT Edge device")
	f.StringArrayVar(&o.Tags, "tag", nil, "initial twin tag KEY=VALUE (repeatable)")
	f.StringVar(&o.TwinFile, "twin", "", `initial twin from this JSON file: {"tags": {…}, "properties": {"desired": {…}}}`)
}

// settings turns the flags into enrollment settings, reading the twin file. The device ID is
// taken as it is.
func (o *SettingsFlags) settings() (enroll.Settings, error) {
	s := enroll.Settings{DeviceID: o.DeviceID, IoTHub: o.IoTHub, Disabled: o.Disabled, Edge: o.Edge}
	if o.TwinFile != "" {
		b, err := os.ReadFile(o.TwinFile)
		if err != nil {
			return s, fmt.Errorf("--twin: %w", err)
		}
		if s.Twin, err = enroll.ParseTwin(b); err != nil {
			return s, fmt.Errorf("--twin %s: %w", o.TwinFile, err)
		}
	}
	for _, t := range o.Tags {
		k, v, err := enroll.ParseTag(t)
		if err != nil {
			return s, cli.Usagef("--tag: %v", err)
		}
		if s.Tags == nil {
			s.Tags = map[string]string{}
		}
		s.Tags[k] = v
	}
	return s, nil
}
