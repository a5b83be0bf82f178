package enroll

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
)

// Settings are the enrollment's options besides the identity. The zero value enrolls an enabled,
// non-Edge device whose device ID is its registration ID, on the hub DPS's allocation policy picks.
type Settings struct {
	// DeviceID is the IoT Hub device ID; empty means the registration ID.
	DeviceID string
	// IoTHub pins the device to one hub host name (static allocation); empty leaves it to DPS.
	IoTHub string
	// Disabled creates the enrollment disabled: the device cannot register until it is enabled.
	Disabled bool
	// Edge marks an IoT Edge device.
	Edge bool
	// Twin is the device's initial twin (see ParseTwin); Tags are added to its tags.
	Twin *dpsapi.InitialTwin
	// Tags are initial twin tags with string values; they win over the same tags in Twin.
	Tags map[string]string
}

// Enrollment returns the individual enrollment that id and s describe, after checking s; id was
// checked when it was verified. The zero Verified is refused with identity.ErrNotVerified.
func Enrollment(id identity.Verified, s Settings) (*dpsapi.IndividualEnrollment, error) {
	if id.IsZero() {
		return nil, fmt.Errorf("enroll: %w", identity.ErrNotVerified)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	e := &dpsapi.IndividualEnrollment{
		RegistrationID: id.RegistrationID(),
		DeviceID:       s.DeviceID,
		Attestation: &dpsapi.Attestation{
			Type: dpsapi.AttestationTPM,
			TPM:  &dpsapi.TPMAttestation{EndorsementKey: encodeKey(id.EndorsementKey())},
		},
		ProvisioningStatus: dpsapi.StatusEnabled,
	}
	if srk := id.StorageRootKey(); len(srk) > 0 {
		e.Attestation.TPM.StorageRootKey = encodeKey(srk)
	}
	if s.Disabled {
		e.ProvisioningStatus = dpsapi.StatusDisabled
	}
	if s.Edge {
		e.Capabilities = &dpsapi.Capabilities{IoTEdge: true}
	}
	if s.IoTHub != "" {
		e.AllocationPolicy = dpsapi.AllocationStatic
		e.IoTHubs = []string{s.IoTHub}
	}
	twin, err := withTags(s.Twin, s.Tags)
	if err != nil {
		return nil, err
	}
	e.InitialTwin = twin
	return e, nil
}

// Validate checks the settings without an identity: the device ID, the hub's host name, and
// the initial twin with its tags.
func (s Settings) Validate() error {
	if s.DeviceID != "" {
		if err := ValidateDeviceID(s.DeviceID); err != nil {
			return err
		}
	}
	if s.IoTHub != "" {
		if err := validateHubHost(s.IoTHub); err != nil {
			return err
		}
	}
	_, err := withTags(s.Twin, s.Tags)
	return err
}

// withTags returns twin with tags added to its tags, leaving twin itself unchanged.
func withTags(twin *dpsapi.InitialTwin, tags map[string]string) (*dpsapi.InitialTwin, error) {
	if len(tags) == 0 {
		return twin, nil
	}
	merged := map[string]json.RawMessage{}
	out := &dpsapi.InitialTwin{}
	if twin != nil {
		*out = *twin
		if len(twin.Tags) > 0 {
			if err := json.Unmarshal(twin.Tags, &merged); err != nil {
				return nil, fmt.Errorf("initial twin tags: %w", err)
			}
		}
	}
	for k, v := range tags {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		merged[k] = b
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	out.Tags = b
	return out, nil
}

// ParseTag parses a KEY=VALUE tag as given on a command line.
func ParseTag(s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", fmt.Errorf("tag %q is not KEY=VALUE", s)
	}
	if err := validateTwinKey(key); err != nil {
		return "", "", fmt.Errorf("tag %q: %w", s, err)
	}
	return key, value, nil
}

// maxDeviceID is IoT Hub's limit on a device ID's length.
const maxDeviceID = 128

// ValidateDeviceID checks an IoT Hub device ID: up to 128 ASCII letters, digits and the
// characters - . _ : % * ? ! ( ) , = @ $ '.
func ValidateDeviceID(id string) error {
	if id == "" {
		return fmt.Errorf("device ID is empty")
	}
	if len(id) > maxDeviceID {
		return fmt.Errorf("device ID is %d characters long; IoT Hub allows at most %d", len(id), maxDeviceID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !deviceIDChar(c) {
			return fmt.Errorf("device ID %q has %q at position %d: IoT Hub allows letters, digits and - . _ : %% * ? ! ( ) , = @ $ '",
				id, c, i+1)
		}
	}
	return nil
}

func deviceIDChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._:%*?!(),=@$'", c) >= 0
}

// validateHubHost checks that h looks like a host name (with an optional port), not a URL or a
// connection string.
func validateHubHost(h string) error {
	if strings.Contains(h, "://") || strings.ContainsAny(h, "/;= ") {
		return fmt.Errorf("IoT hub %q is not a host name: give it as NAME.azure-devices.net", h)
	}
	return nil
}
