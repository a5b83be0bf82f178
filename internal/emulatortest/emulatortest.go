// Package emulatortest starts the DPS emulator in process, over real TLS on a loopback port with
// the emulator's own CA, for tests of the code that talks to DPS. It is test support: no binary
// imports it.
package emulatortest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/stack"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/sas"
)

// Emulator is a running emulator and what a client needs to reach it.
type Emulator struct {
	// Dir is the data directory: the store and the CA live there, so a restart keeps both.
	Dir string
	// ConnectionString is the service connection string, signed for Endpoint's host name.
	ConnectionString sas.ConnectionString
	// RootCAs trusts the emulator's CA and nothing else.
	RootCAs *x509.CertPool
	// CA is the emulator's CA, which also issues X.509 device certificates.
	CA *tlsca.CA
	// Faults changes injected throttling, unavailability and latency while it runs.
	Faults *emulator.Faults
	// Store is the emulator's state, for seeding what the service API cannot create.
	Store *store.Store
	// Endpoint is where devices reach the device registration API: localhost and the port.
	Endpoint string
	// IDScope is the ID scope devices register under.
	IDScope string
	// Hub is the emulated IoT hub when Options.HubListener was given: it admits the devices the
	// emulator assigned, under any hub host name, and records what they send.
	Hub *hubserver.Server
	// HubAddr is the hub's MQTT address when Options.HubListener was given, else empty.
	HubAddr string
	// HubServiceAddr is the hubs' service API's address when Options.HubServiceListener was
	// given, else empty.
	HubServiceAddr string

	st *stack.Stack
}

// Options adjust the emulator; the zero value is the emulator's defaults.
type Options struct {
	// AssignDelay, RetryAfter and HubHostName are the device registration API's
	// (emulator.Options).
	AssignDelay time.Duration
	RetryAfter  time.Duration
	HubHostName string
	// Now, when set, is the emulator's clock, which a test may share with a client whose waits it
	// fakes.
	Now func() time.Time
	// ClockOffset shifts the emulator's clock, the Date header of its answers included, for tests
	// of clients' clock checks (stack.Config.ClockOffset).
	ClockOffset time.Duration
	// Listener, when set, is where the device and service APIs listen instead of a free loopback
	// port (Microsoft's SDKs need 127.0.0.1:443, and then Endpoint is a bare "localhost").
	Listener net.Listener
	// HubListener, when set, serves the IoT hub devices are assigned to (as dps-emulator does),
	// with a certificate from the emulator's CA for each hub host name.
	HubListener net.Listener
	// HubServiceListener, when set with HubListener, serves the hubs' service REST API
	// (GET /devices/{id}) over TLS, as dps-emulator --hub-service-listen does.
	HubServiceListener net.Listener
}

// Start runs an emulator with a fresh data directory until the test ends.
func Start(t testing.TB) *Emulator {
	t.Helper()
	return StartWith(t, t.TempDir(), Options{})
}

// StartIn runs an emulator on the data directory dir until the test ends or Stop is called.
func StartIn(t testing.TB, dir string) *Emulator {
	t.Helper()
	return StartWith(t, dir, Options{})
}

// StartWith runs an emulator with opts on the data directory dir until the test ends or Stop is
// called.
func StartWith(t testing.TB, dir string, opts Options) *Emulator {
	t.Helper()
	st, err := stack.Start(context.Background(), stack.Config{
		DataDir: dir, Listener: opts.Listener, HubListener: opts.HubListener, HubServiceListener: opts.HubServiceListener,
		HubHostName: opts.HubHostName, AssignDelay: opts.AssignDelay, RetryAfter: opts.RetryAfter, Now: opts.Now,
		ClockOffset: opts.ClockOffset,
	})
	if err != nil {
		t.Fatalf("start the emulator: %v", err)
	}
	e := &Emulator{
		Dir: dir, RootCAs: st.CA.CertPool(), CA: st.CA, Faults: st.Faults, Store: st.Store,
		Endpoint: st.HostName, IDScope: st.Identity.IDScope, Hub: st.Hub, st: st,
	}
	if st.HubAddr != nil {
		e.HubAddr = st.HubAddr.String()
	}
	if st.HubServiceAddr != nil {
		e.HubServiceAddr = st.HubServiceAddr.String()
	}
	e.ConnectionString, err = sas.ParseConnectionString(st.ConnectionString())
	if err != nil {
		e.Stop()
		t.Fatalf("emulator connection string: %v", err)
	}
	t.Cleanup(e.Stop)
	return e
}

// Stop shuts the emulator down and closes its store, as a process exit would. It is safe to call
// more than once.
func (e *Emulator) Stop() {
	if e.st != nil {
		_ = e.st.Close()
		e.st = nil
		e.Store = nil
	}
}

// DeviceCertificate issues an X.509 device certificate with common name cn from the emulator's CA.
func (e *Emulator) DeviceCertificate(t testing.TB, cn string) *tls.Certificate {
	t.Helper()
	c, err := e.CA.DeviceCertificate(cn)
	if err != nil {
		t.Fatalf("device certificate: %v", err)
	}
	return &c
}

// Client returns a client of this emulator with opts; RootCAs is set to the emulator's CA.
func (e *Emulator) Client(t testing.TB, opts dps.Options) *dps.Client {
	t.Helper()
	opts.RootCAs = e.RootCAs
	c, err := dps.New(e.ConnectionString, opts)
	if err != nil {
		t.Fatalf("dps client: %v", err)
	}
	return c
}
