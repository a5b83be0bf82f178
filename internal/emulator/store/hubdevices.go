package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// HubDevice is a device the emulated DPS assigned to an IoT hub, with the credentials that hub
// knows it by: what an IoT Hub emulator needs to admit the device.
type HubDevice struct {
	// HubHostName and DeviceID are where and as whom the device was assigned.
	HubHostName string
	DeviceID    string
	// RegistrationID is the device's registration (and enrollment) ID.
	RegistrationID string
	// Attestation is how the device registered: tpm, x509 or symmetricKey.
	Attestation dpsapi.AttestationType
	// PrimaryKey and SecondaryKey sign the device's hub SAS tokens: the enrollment's keys for a
	// symmetric-key device; for a TPM device PrimaryKey is the key DPS delivered with the
	// assignment (sealed to its TPM) and SecondaryKey is zero.
	PrimaryKey, SecondaryKey sas.Key
	// PrimaryThumbprint and SecondaryThumbprint are an X.509 device's enrolled certificates'
	// SHA-256 thumbprints (upper-case hex).
	PrimaryThumbprint, SecondaryThumbprint string
	// InitialTwin is the enrollment's initial twin at assignment; nil when it had none.
	InitialTwin *dpsapi.InitialTwin
	// IoTEdge marks an IoT Edge device.
	IoTEdge bool
}

// HubDevice returns the device assigned as deviceID to the hub hubHost (compared without regard
// to case), or an error wrapping ErrNotFound. A device stays assigned when its enrollment or its
// registration state is deleted, as it stays in its IoT hub; registering again elsewhere moves it.
func (s *Store) HubDevice(ctx context.Context, hubHost, deviceID string) (*HubDevice, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *HubDevice
	err := s.db.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketHubDevices).Get(hubDeviceKey(hubHost, deviceID))
		if id == nil {
			return fmt.Errorf("%w: no device %q in hub %q", ErrNotFound, quote.Short(deviceID), quote.Short(hubHost))
		}
		d, err := getDevice(tx, string(id))
		if err != nil {
			return err
		}
		if d.Hub == nil {
			return fmt.Errorf("%w: device %q is not assigned", ErrNotFound, quote.Short(deviceID))
		}
		out = d.Hub.hubDevice(d.RegistrationID)
		return nil
	})
	return out, err
}

// hubDevice is the record as HubDevice returns it.
func (h *Assignment) hubDevice(registrationID string) *HubDevice {
	d := &HubDevice{
		HubHostName:    h.HostName,
		DeviceID:       h.DeviceID,
		RegistrationID: registrationID,
		Attestation:    h.Attestation,
		InitialTwin:    h.InitialTwin,
		IoTEdge:        h.IoTEdge,
	}
	if len(h.Keys) > 0 {
		d.PrimaryKey = sas.NewKey(h.Keys[0])
	}
	if len(h.Keys) > 1 {
		d.SecondaryKey = sas.NewKey(h.Keys[1])
	}
	if len(h.Thumbprints) > 0 {
		d.PrimaryThumbprint = h.Thumbprints[0]
	}
	if len(h.Thumbprints) > 1 {
		d.SecondaryThumbprint = h.Thumbprints[1]
	}
	return d
}
