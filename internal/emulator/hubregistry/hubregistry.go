// Package hubregistry joins the emulated DPS to the emulated IoT hub: a Registry that admits to the hub
// exactly the devices DPS assigned, with the credentials DPS gave them, and Certificates that give
// each hub host name a server certificate from the emulator's CA.
package hubregistry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
)

// Registry is an hubserver.Registry over the DPS emulator's store: a device exists in a hub once DPS
// assigned it there, authenticating with the enrollment's keys, the TPM's hub key, or the enrolled
// certificate's thumbprints.
type Registry struct {
	Store *store.Store
}

// Device implements hubserver.Registry.
func (r Registry) Device(ctx context.Context, hubHost, deviceID string) (hubserver.Device, error) {
	d, err := r.Store.HubDevice(ctx, hubHost, deviceID)
	if errors.Is(err, store.ErrNotFound) {
		return hubserver.Device{}, fmt.Errorf("%w: %w", hubserver.ErrDeviceNotFound, err)
	}
	if err != nil {
		return hubserver.Device{}, err
	}
	dev := hubserver.Device{ID: d.DeviceID, Auth: hubserver.Auth{
		PrimaryKey: d.PrimaryKey, SecondaryKey: d.SecondaryKey,
		PrimaryThumbprint: d.PrimaryThumbprint, SecondaryThumbprint: d.SecondaryThumbprint,
	}}
	if t := d.InitialTwin; t != nil {
		dev.InitialTwin.Tags = t.Tags
		if t.Properties != nil {
			dev.InitialTwin.Desired = t.Properties.Desired
		}
	}
	return dev, nil
}

// maxHubNames bounds how many host names Certificates issues certificates for, so that a client
// inventing names cannot grow the emulator without end.
const maxHubNames = 256

// Certificates issues the hub's server certificate for whatever host name a device asks for (TLS
// SNI): DPS assigns devices to any hub an enrollment names, and each hub must present a
// certificate for its own name, as *.azure-devices.net ones do. Certificates are made once per
// name by the emulator's CA.
type Certificates struct {
	ca       *tlsca.CA
	fallback *tls.Certificate // for clients that send no name, or an unusable one

	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

// NewCertificates returns Certificates issued by ca; a client that names no usable host gets a
// certificate for names.
func NewCertificates(ca *tlsca.CA, names ...string) (*Certificates, error) {
	fallback, err := ca.ServerCertificate(names...)
	if err != nil {
		return nil, err
	}
	return &Certificates{ca: ca, fallback: &fallback, certs: map[string]*tls.Certificate{}}, nil
}

// TLSConfig is the hub's TLS configuration (hubserver.Config.TLS) with these certificates.
func (h *Certificates) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: h.GetCertificate, MinVersion: tls.VersionTLS12}
}

// GetCertificate returns the certificate for the host name hello asks for (tls.Config's
// GetCertificate).
func (h *Certificates) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(hello.ServerName)
	if !dnsName(name) {
		return h.fallback, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := h.certs[name]; ok {
		return c, nil
	}
	if len(h.certs) >= maxHubNames {
		return h.fallback, nil
	}
	c, err := h.ca.ServerCertificate(name)
	if err != nil {
		return nil, err
	}
	h.certs[name] = &c
	return &c, nil
}

// dnsName reports whether s can be a DNS host name: letters, digits, '-' and '.', at most 253.
func dnsName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
