package hubserver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/oobtpm/oob/pkg/sas"
)

// ErrDeviceNotFound is what a Registry returns for a device the hub does not know; the device is
// then refused as not authorized, as IoT Hub refuses it.
var ErrDeviceNotFound = errors.New("hubserver: no such device in this hub")

// Registry says which devices exist in which hub. The Server asks it at every CONNECT, so a device
// registered (or removed) while the Server runs is seen at its next connection.
type Registry interface {
	// Device returns the device registered as deviceID in the hub named hubHost (compared without
	// regard to case), or an error wrapping ErrDeviceNotFound.
	Device(ctx context.Context, hubHost, deviceID string) (Device, error)
}

// Device is one device identity in a hub's registry.
type Device struct {
	// ID is the device ID, case-sensitive as in IoT Hub.
	ID string
	// Disabled devices are refused, as IoT Hub refuses a device whose status is disabled.
	Disabled bool
	// Auth is how the device authenticates.
	Auth Auth
	// InitialTwin seeds the device's twin the first time the Server sees the device.
	InitialTwin InitialTwin
}

// Auth is a device's credentials as the hub holds them: symmetric keys for SAS tokens, or the
// thumbprints of self-signed X.509 certificates. Either or both may be set.
type Auth struct {
	PrimaryKey, SecondaryKey sas.Key
	// PrimaryThumbprint and SecondaryThumbprint are hex SHA-256 (64 digits) or SHA-1 (40 digits)
	// fingerprints of the certificate's DER; case and ':' separators do not matter.
	PrimaryThumbprint, SecondaryThumbprint string
}

// InitialTwin is the twin a device starts with, as a DPS enrollment's initialTwin gives it.
type InitialTwin struct {
	// Tags is a JSON object, or empty.
	Tags json.RawMessage
	// Desired is a JSON object of desired properties, or empty.
	Desired json.RawMessage
}

// MemoryRegistry is a Registry held in memory, for tests and demos. Its zero value is empty and
// ready to use.
type MemoryRegistry struct {
	mu      sync.RWMutex
	devices map[string]Device
}

// Put registers d in the hub named hubHost, replacing any device with the same ID there.
func (r *MemoryRegistry) Put(hubHost string, d Device) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.devices == nil {
		r.devices = map[string]Device{}
	}
	r.devices[deviceKey(hubHost, d.ID)] = d
}

// Delete removes a device; its next connection is refused.
func (r *MemoryRegistry) Delete(hubHost, deviceID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.devices, deviceKey(hubHost, deviceID))
}

// Device implements Registry.
func (r *MemoryRegistry) Device(_ context.Context, hubHost, deviceID string) (Device, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.devices[deviceKey(hubHost, deviceID)]
	if !ok {
		return Device{}, ErrDeviceNotFound
	}
	return d, nil
}

// deviceKey names a device across hubs: host names are case-insensitive, device IDs are not.
func deviceKey(hubHost, deviceID string) string {
	return strings.ToLower(hubHost) + "/" + deviceID
}
