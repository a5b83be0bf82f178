// Package stack assembles a whole emulated Azure IoT service on a data directory: the DPS
// service and device registration APIs over TLS, optionally the loopback admin API and the
// emulated IoT hubs' MQTT endpoint, sharing one store, one CA and one fault injector. The
// dps-emulator binary and the in-process test emulator (internal/emulatortest) both run it.
package stack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/datadir"
	"github.com/oobtpm/oob/internal/emulator/deviceapi"
	"github.com/oobtpm/oob/internal/emulator/hubregistry"
	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/sas"
)

// DefaultListen is where the service and device APIs listen when Config names no address: a
// free loopback port.
const DefaultListen = "127.0.0.1:0"

// Config says what to run; the zero value of every field but DataDir is a sensible default.
type Config struct {
	// DataDir holds the store and the CA (and the admin token); it is created when absent.
	DataDir string
	// Listener serves the service and device APIs; nil listens on Listen (DefaultListen when
	// empty). The stack owns it.
	Listener net.Listener
	Listen   string
	// HostName is the host name clients use ("localhost" when empty); with the listener's port
	// unless it is 443, it is the host name SAS tokens are signed for. It and TLSNames are the
	// server certificate's names.
	HostName string
	TLSNames []string
	// AdminListener or, when nil, AdminListen (empty: none) serves the loopback-only admin API.
	AdminListener net.Listener
	AdminListen   string
	// HubListener or, when nil, HubListen (empty: none) serves the emulated IoT hubs, with a
	// certificate from the CA for each hub host name (HubHostName and TLSNames for clients that
	// send no server name).
	HubListener net.Listener
	HubListen   string
	// HubServiceListener or, when nil, HubServiceListen (empty: none) serves the emulated hubs'
	// service REST API over HTTPS, with the hubs' certificates: GET /devices/{id} with the
	// device's live connection state, for the data directory's hub policy (HubPolicyKey). It
	// needs the hub.
	HubServiceListener net.Listener
	HubServiceListen   string
	// Faults configures injected throttling, unavailability and latency.
	Faults emulator.FaultConfig
	// HubHostName, AssignDelay, RetryAfter and Now are the device registration API's
	// (emulator.Options).
	HubHostName string
	AssignDelay time.Duration
	RetryAfter  time.Duration
	Now         func() time.Time
	// ClockOffset, for testing clients' clock checks, shifts the emulator's clock (Now, or the
	// system's) by this much: the Date header of every service and device API answer, token
	// expiry checks and timestamps all follow it, as a service whose clock disagrees with the
	// client's would.
	ClockOffset time.Duration
	// Logger receives one line per request and the servers' errors; nil discards the requests.
	Logger *slog.Logger
}

// Stack is a running emulator.
type Stack struct {
	// Dir is the absolute data directory.
	Dir string
	// Store is the state every part shares; Identity is the service's access policy and ID scope.
	Store    *store.Store
	Identity store.ServiceIdentity
	// CA issues the server certificates, the hubs' and X.509 device certificates.
	CA *tlsca.CA
	// Faults changes injected faults while the stack runs.
	Faults *emulator.Faults
	// Server is the service and device APIs' handler.
	Server *emulator.Server
	// HostName is the service host name (port included unless 443), Addr the API listener's.
	HostName string
	Addr     net.Addr
	// AdminAddr is the admin API's address, nil when it is off.
	AdminAddr net.Addr
	// Hub is the emulated IoT hub and HubAddr its address, both nil when it is off.
	Hub     *hubserver.Server
	HubAddr net.Addr
	// HubServiceAddr is the hubs' service API's address, nil when it is off; HubPolicyKey is the
	// key of its policy (datadir.HubPolicyName), zero then.
	HubServiceAddr net.Addr
	HubPolicyKey   sas.Key

	servers   []*http.Server
	errc      chan error
	gate      gate
	closeOnce sync.Once
	closeErr  error
}

// Start opens the data directory and starts serving. It returns once every listener accepts.
func Start(ctx context.Context, c Config) (_ *Stack, err error) {
	if c.DataDir == "" {
		return nil, errors.New("stack: Config.DataDir is required")
	}
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if c.HostName == "" {
		c.HostName = "localhost"
	}
	if c.HubHostName == "" {
		c.HubHostName = deviceapi.DefaultHubHostName
	}
	if c.ClockOffset != 0 {
		base, offset := c.Now, c.ClockOffset
		if base == nil {
			base = time.Now
		}
		c.Now = func() time.Time { return base().Add(offset) }
	}
	s := &Stack{Dir: dir, errc: make(chan error, 4)}
	// Until Start succeeds, the stack owns the listeners it was given: close them on failure.
	owned := []net.Listener{c.Listener, c.AdminListener, c.HubListener, c.HubServiceListener}
	defer func() {
		if err != nil {
			_ = s.Close()
			for _, l := range owned {
				if l != nil {
					_ = l.Close()
				}
			}
		}
	}()
	if s.Store, err = store.Open(filepath.Join(dir, datadir.StoreFile), store.Options{}); err != nil {
		return nil, err
	}
	if s.Identity, err = s.Store.Identity(ctx); err != nil {
		return nil, err
	}
	if s.CA, err = tlsca.LoadOrCreate(dir); err != nil {
		return nil, err
	}
	cert, err := s.CA.ServerCertificate(append([]string{c.HostName}, c.TLSNames...)...)
	if err != nil {
		return nil, err
	}
	if s.Faults, err = emulator.NewFaults(c.Faults); err != nil {
		return nil, err
	}
	ln, err := listen(c.Listener, c.Listen, DefaultListen, "")
	if err != nil {
		return nil, err
	}
	s.Addr = ln.Addr()
	s.HostName = datadir.ServiceHostName(c.HostName, ln.Addr())
	if s.Server, err = emulator.New(emulator.Options{
		Store: s.Store, Identity: s.Identity, HostName: s.HostName, Logger: c.Logger, Faults: s.Faults,
		HubHostName: c.HubHostName, AssignDelay: c.AssignDelay, RetryAfter: c.RetryAfter, Now: c.Now,
	}); err != nil {
		_ = ln.Close()
		return nil, err
	}
	tlsConf := tlsca.TLSConfig(cert)
	// The listener does the TLS itself, to answer unparsable requests as DPS does (refusals.go).
	now := c.Now
	if now == nil {
		now = time.Now
	}
	s.serve(&http.Server{Handler: dateHeader(s.Server, now)}, newDPSListener(ln, tlsConf, now), c.Logger)

	if c.AdminListener != nil || c.AdminListen != "" {
		token, err := datadir.LoadOrCreateAdminToken(dir)
		if err != nil {
			return nil, err
		}
		aln, err := listen(c.AdminListener, c.AdminListen, "", "the admin API")
		if err != nil {
			return nil, err
		}
		s.AdminAddr = aln.Addr()
		s.serve(&http.Server{Handler: emulator.AdminHandler(emulator.AdminOptions{Faults: s.Faults, Store: s.Store, Token: token, Logger: c.Logger})}, aln, c.Logger)
	}

	hubOn := c.HubListener != nil || c.HubListen != ""
	serviceOn := c.HubServiceListener != nil || c.HubServiceListen != ""
	if serviceOn && !hubOn {
		return nil, errors.New("stack: the hubs' service API needs the hub: give a hub listener too")
	}
	if hubOn {
		certs, err := hubregistry.NewCertificates(s.CA, append([]string{c.HubHostName}, c.TLSNames...)...)
		if err != nil {
			return nil, err
		}
		hub, err := hubserver.New(hubserver.Config{Registry: hubregistry.Registry{Store: s.Store}, TLS: certs.TLSConfig(), Logger: c.Logger})
		if err != nil {
			return nil, err
		}
		hln, err := listen(c.HubListener, c.HubListen, "", "the IoT hub")
		if err != nil {
			_ = hub.Close()
			return nil, err
		}
		s.Hub, s.HubAddr = hub, hln.Addr()
		go func() {
			if err := hub.Serve(hln); err != nil && !errors.Is(err, hubserver.ErrServerClosed) {
				s.errc <- fmt.Errorf("IoT hub: %w", err)
			}
		}()
		if serviceOn {
			if err := s.startHubService(c, certs); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// startHubService serves the hubs' service API with the data directory's policy.
func (s *Stack) startHubService(c Config, certs *hubregistry.Certificates) error {
	key, err := datadir.LoadOrCreateHubPolicyKey(s.Dir)
	if err != nil {
		return err
	}
	h, err := s.Hub.ServiceHandler(hubserver.ServicePolicy{Name: datadir.HubPolicyName, Key: key})
	if err != nil {
		return err
	}
	l, err := listen(c.HubServiceListener, c.HubServiceListen, "", "the IoT hubs' service API")
	if err != nil {
		return err
	}
	s.HubServiceAddr, s.HubPolicyKey = l.Addr(), key
	s.serve(&http.Server{Handler: h}, tls.NewListener(l, certs.TLSConfig()), c.Logger)
	return nil
}

// HubConnectionString is the service connection string of the emulated hub hubHost, empty when
// the hubs' service API is off.
func (s *Stack) HubConnectionString(hubHost string) string {
	if s.HubPolicyKey.IsZero() {
		return ""
	}
	return datadir.HubConnectionString(hubHost, s.HubPolicyKey)
}

// listen returns l, or a listener on addr (def when empty).
func listen(l net.Listener, addr, def, what string) (net.Listener, error) {
	if l != nil {
		return l, nil
	}
	if addr == "" {
		addr = def
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if what != "" {
			return nil, fmt.Errorf("listen on %s for %s: %w", addr, what, err)
		}
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l, nil
}

// serve runs srv (its handler behind the stack's gate) on l until the stack closes; a failure
// goes to Err.
func (s *Stack) serve(srv *http.Server, l net.Listener, log *slog.Logger) {
	srv.Handler = s.gate.wrap(srv.Handler)
	srv.ReadHeaderTimeout = 10 * time.Second
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- err
		}
	}()
}

// Err delivers the first failure of a server the stack runs (not its closing).
func (s *Stack) Err() <-chan error { return s.errc }

// ConnectionString is the service connection string, signed for HostName.
func (s *Stack) ConnectionString() string { return datadir.ConnectionString(s.HostName, s.Identity) }

// Shutdown stops accepting, waits (until ctx ends) for requests in flight, then closes the hub
// and the store. The stack is closed even when it returns an error.
func (s *Stack) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, s.Close())...)
}

// Close stops everything at once, as a process exit would: connections are cut, requests
// still running finish before the store closes, and later ones are refused. It is safe to
// call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.Hub != nil {
			errs = append(errs, s.Hub.Close())
		}
		for _, srv := range s.servers {
			errs = append(errs, srv.Close())
		}
		s.gate.close()
		if s.Store != nil {
			errs = append(errs, s.Store.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// gate lets requests through until it closes; closing waits for those in flight.
type gate struct {
	mu     sync.RWMutex
	closed bool
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.RLock()
		defer g.mu.RUnlock()
		if g.closed {
			http.Error(w, "the emulator is shutting down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
