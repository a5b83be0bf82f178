package hubserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/oobtpm/oob/pkg/sas"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("hubserver: server closed")

// Config is what a Server needs. Registry and TLS are required.
type Config struct {
	// Registry says which devices may connect.
	Registry Registry
	// TLS is the server's TLS configuration (IoT Hub accepts no plain MQTT). Unless it sets
	// ClientAuth, the Server requests a client certificate without verifying its chain, as IoT
	// Hub does for devices that authenticate with a self-signed certificate's thumbprint.
	TLS *tls.Config
	// Logger receives connection and protocol events; nil discards them.
	Logger *slog.Logger
	// Skew is how far a device's clock may be ahead when its token is checked for expiry;
	// zero means sas.DefaultSkew, negative none.
	Skew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Message is a device-to-cloud message as the hub received it.
type Message struct {
	HubHost  string
	DeviceID string
	// Topic is the topic it was published on.
	Topic   string
	Payload []byte
	// Properties are the application properties from the topic's property bag.
	Properties map[string]string
	// SystemProperties are the $.-prefixed ones, by their IoT Hub names (messageId, correlationId,
	// contentType, contentEncoding, …).
	SystemProperties map[string]string
	Received         time.Time
}

// Server is an IoT Hub MQTT endpoint. Create it with New, start it with Serve, stop it with Close.
type Server struct {
	cfg    Config
	tls    *tls.Config
	log    *slog.Logger
	broker *mqtt.Server
	auth   authenticator

	mu        sync.Mutex
	sessions  map[*mqtt.Client]session
	connected map[string]int
	presence  map[string]*presence
	twins     map[string]*twin
	messages  map[string][]Message
	listeners int
	changed   chan struct{} // closed and replaced at every change, for Wait
	closed    chan struct{}
	closeOnce sync.Once
}

// session is an authenticated connection.
type session struct {
	hubHost, deviceID string
	device            Device
}

func (s session) key() string { return deviceKey(s.hubHost, s.deviceID) }

// New returns a Server; it accepts connections once Serve is called.
func New(cfg Config) (*Server, error) {
	if cfg.Registry == nil {
		return nil, errors.New("hubserver: Config.Registry is required")
	}
	if cfg.TLS == nil {
		return nil, errors.New("hubserver: Config.TLS is required: IoT Hub speaks MQTT over TLS only")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsCfg := cfg.TLS.Clone()
	if tlsCfg.ClientAuth == tls.NoClientCert {
		tlsCfg.ClientAuth = tls.RequestClientCert
	}
	s := &Server{
		cfg:       cfg,
		tls:       tlsCfg,
		log:       log,
		sessions:  map[*mqtt.Client]session{},
		connected: map[string]int{},
		presence:  map[string]*presence{},
		twins:     map[string]*twin{},
		messages:  map[string][]Message{},
		changed:   make(chan struct{}),
		closed:    make(chan struct{}),
	}
	s.auth = authenticator{registry: cfg.Registry, verifier: s.verifier}

	opts := &mqtt.Options{Logger: log}
	opts.Capabilities = mqtt.NewDefaultServerCapabilities()
	// IoT Hub: MQTT 3.1.1, QoS 0 and 1 only, no retained messages, messages up to 256 KiB.
	opts.Capabilities.MaximumQos = 1
	opts.Capabilities.RetainAvailable = 0
	opts.Capabilities.MaximumPacketSize = maxMessagePayloadBytes + 64*1024
	s.broker = mqtt.New(opts)
	if err := s.broker.AddHook(&hook{srv: s}, nil); err != nil {
		return nil, fmt.Errorf("hubserver: %w", err)
	}
	if err := s.broker.Serve(); err != nil {
		return nil, fmt.Errorf("hubserver: %w", err)
	}
	return s, nil
}

func (s *Server) verifier(key sas.Signer, resource string) *sas.Verifier {
	return &sas.Verifier{Key: key, Resource: resource, Skew: s.cfg.Skew, Now: s.cfg.Now}
}

// Serve accepts MQTT connections on l, over TLS, until Close; it then returns ErrServerClosed.
// It may be called for several listeners. Close closes l.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	default:
	}
	s.listeners++
	id := fmt.Sprintf("iothub-%d", s.listeners)
	s.mu.Unlock()

	if err := s.broker.AddListener(listeners.NewNet(id, tls.NewListener(l, s.tls))); err != nil {
		return fmt.Errorf("hubserver: %w", err)
	}
	s.log.Info("IoT Hub MQTT endpoint listening", "address", l.Addr().String())
	s.broker.Listeners.Serve(id, s.broker.EstablishConnection)
	<-s.closed
	return ErrServerClosed
}

// Close disconnects every device, closes the listeners and ends Serve.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		_ = s.broker.Close()
	})
	return nil
}

// Connected reports whether the device has a connection open now.
func (s *Server) Connected(hubHost, deviceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected[deviceKey(hubHost, deviceID)] > 0
}

// ConnectionState is a device's connection as the hub's registry reports it.
type ConnectionState struct {
	// Connected is true while the device has a connection open.
	Connected bool
	// Updated is when the device last connected or disconnected (its first connection or its
	// last disconnection), zero when it never connected.
	Updated time.Time
	// LastActivity is when the device last connected or sent something, zero when never.
	LastActivity time.Time
}

// presence is when a device's connection state last changed and when it was last active.
type presence struct{ updated, lastActivity time.Time }

// ConnectionState reports whether the device is connected now, and since when.
func (s *Server) ConnectionState(hubHost, deviceID string) ConnectionState {
	key := deviceKey(hubHost, deviceID)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ConnectionState{Connected: s.connected[key] > 0}
	if p := s.presence[key]; p != nil {
		st.Updated, st.LastActivity = p.updated, p.lastActivity
	}
	return st
}

// touchLocked records, at the current time, that the device key was active and, when changed,
// that its connection state changed. s.mu must be held.
func (s *Server) touchLocked(key string, active, changed bool) {
	now := s.now()
	p := s.presence[key]
	if p == nil {
		p = &presence{}
		s.presence[key] = p
	}
	if active {
		p.lastActivity = now
	}
	if changed {
		p.updated = now
	}
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// Messages returns the device-to-cloud messages the device sent, oldest first (the last 1000).
func (s *Server) Messages(hubHost, deviceID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages[deviceKey(hubHost, deviceID)]...)
}

// Twin returns the device's twin, and false when the device has never connected (a twin is
// seeded from the registry's initial twin at the device's first connection).
func (s *Server) Twin(hubHost, deviceID string) (Twin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.twins[deviceKey(hubHost, deviceID)]
	if !ok {
		return Twin{}, false
	}
	return t.snapshot(), true
}

// UpdateDesired merges patch (a JSON object; null removes a property) into the device's desired
// properties, as the service API's twin PATCH does, and sends it to the device if it is connected
// and subscribed. It returns the new desired version. The device must have connected once.
func (s *Server) UpdateDesired(hubHost, deviceID string, patch []byte) (int64, error) {
	p, err := parsePatch(patch)
	if err != nil {
		return 0, err
	}
	key := deviceKey(hubHost, deviceID)
	s.mu.Lock()
	t, ok := s.twins[key]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("%w: %s has not connected to %s yet", ErrDeviceNotFound, deviceID, hubHost)
	}
	merge(t.desired, p)
	t.desiredVersion++
	v := t.desiredVersion
	var clients []*mqtt.Client
	for cl, sess := range s.sessions {
		if sess.key() == key {
			clients = append(clients, cl)
		}
	}
	s.notifyLocked()
	s.mu.Unlock()

	body := withVersion(p, v)
	for _, cl := range clients {
		s.sendTo(cl, twinDesiredFilter, fmt.Sprintf("%s?$version=%d", twinDesiredPrefix, v), mustJSON(body))
	}
	return v, nil
}

// Wait returns when cond is true, re-checking it after every change the Server sees (a
// connection, a disconnection, a message, a twin update), or ctx's error when ctx ends first.
// cond may call the Server's other methods.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes Wait; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
