package hubclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/amenzhinsky/iothub/iotdevice"
	iotmqtt "github.com/amenzhinsky/iothub/iotdevice/transport/mqtt"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/oobtpm/oob/pkg/sas"
)

// DefaultPort is IoT Hub's MQTT over TLS port.
const DefaultPort = "8883"

// DefaultTokenLifetime is how long a SAS token lasts when Config.TokenLifetime is zero. The
// connection renews it when it reconnects past half of it.
const DefaultTokenLifetime = time.Hour

// apiVersion is the IoT Hub API version the username announces, as current SDKs do.
const apiVersion = "2021-04-12"

// clientType tells the hub (and its logs) which client connected, as the SDKs' DeviceClientType.
const clientType = "oob-agent"

// Signer computes HMAC-SHA256 over data with the device's key. A key imported into a TPM is one
// (the key never leaves it); a sas.Key held in memory is the software one.
type Signer interface {
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// Config says which hub to connect to and as whom. HubHost and DeviceID are required, and
// exactly one of Signer, Key and Certificate.
type Config struct {
	// HubHost is the assigned hub's host name, e.g. "my-hub.azure-devices.net": it names the hub
	// in the username and the SAS token, and is the name the hub's certificate must carry.
	HubHost string
	// DeviceID is the device's ID in that hub (as DPS assigned it).
	DeviceID string
	// Address is the host:port to dial; empty means HubHost:8883. Set it to reach a hub (or an
	// emulator) at another address while still naming, and verifying, HubHost.
	Address string
	// RootCAs verifies the hub's certificate; nil means the system's roots. The connection is
	// always verified.
	RootCAs *x509.CertPool

	// Signer signs SAS tokens with the device's key, e.g. inside a TPM.
	Signer Signer
	// Key is the device's symmetric key, held in memory.
	Key sas.Key
	// Certificate is the device's X.509 client certificate (with its private key); the password
	// is then empty and the hub checks the certificate's thumbprint or chain.
	Certificate *tls.Certificate

	// TokenLifetime is how long each SAS token is valid; zero means DefaultTokenLifetime.
	TokenLifetime time.Duration
	// Logger receives connection events from the MQTT client; nil discards them.
	Logger *slog.Logger
	// Now returns the current time for token expiries; nil means time.Now.
	Now func() time.Time
}

// Conn is an open connection of one device to its hub. It reconnects by itself after a dropped
// connection (with a fresh token when the old one is past half its life) until Close.
type Conn struct {
	client *iotdevice.Client
	cfg    Config
}

// Connect opens the device's MQTT connection to its hub, over verified TLS. A failure is a
// *ConnectError (ErrNotAuthorized, ErrUnreachable or ErrTLS), or the Signer's error.
func Connect(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	host := cfg.HubHost
	if cfg.Address == "" {
		cfg.Address = net.JoinHostPort(host, DefaultPort)
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	creds := &credentials{hubHost: host, deviceID: cfg.DeviceID, cert: cfg.Certificate, lifetime: cfg.TokenLifetime, now: cfg.Now}
	switch {
	case cfg.Signer != nil:
		creds.signer = cfg.Signer
	case !cfg.Key.IsZero():
		creds.signer = cfg.Key
	}
	if creds.signer != nil {
		// Sign once now, under the caller's context: a TPM that cannot sign fails here, with its
		// own error, rather than as a refused connection.
		if _, err := creds.sign(ctx); err != nil {
			return nil, fmt.Errorf("hub: signing the SAS token: %w", err)
		}
	}

	username := host + "/" + cfg.DeviceID + "/?api-version=" + apiVersion + "&DeviceClientType=" + url.QueryEscape(clientType)
	rec := &verifyRecorder{}
	var abandoned atomic.Bool
	tr := iotmqtt.New(iotmqtt.WithClientOptionsConfig(func(o *paho.ClientOptions) {
		o.Servers = nil
		o.AddBroker("tls://" + cfg.Address)
		o.SetTLSConfig(clientTLS(host, cfg.RootCAs, cfg.Certificate, rec))
		o.SetCredentialsProvider(func() (string, string) {
			if creds.signer == nil {
				return username, ""
			}
			tok, err := creds.current()
			if err != nil {
				log.Error("signing the SAS token for a reconnect failed", "error", err)
			}
			return username, tok
		})
		// One attempt, bounded by ctx: Connect reports its failure instead of retrying.
		o.SetConnectRetry(false)
		if dl, ok := ctx.Deadline(); ok {
			o.SetConnectTimeout(max(time.Until(dl), time.Second))
		}
		onConnect := o.OnConnect
		o.SetOnConnectHandler(func(c paho.Client) {
			if abandoned.Load() {
				// Connect already gave up (its context ended) and returned: leave no connection behind.
				c.Disconnect(0)
				return
			}
			onConnect(c)
		})
	}))
	client, err := iotdevice.New(tr, creds, iotdevice.WithLogger(slogAdapter{log}))
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	if err := client.Connect(ctx); err != nil {
		abandoned.Store(true)
		_ = client.Close()
		if serr := creds.signErr(); serr != nil {
			return nil, fmt.Errorf("hub: signing the SAS token: %w", serr)
		}
		return nil, classify(&ConnectError{HubHost: host, Address: cfg.Address, DeviceID: cfg.DeviceID}, err, rec.get())
	}
	return &Conn{client: client, cfg: cfg}, nil
}

func (cfg *Config) check() error {
	if cfg.HubHost == "" || cfg.DeviceID == "" {
		return errors.New("hub: HubHost and DeviceID are required (from the device's DPS registration)")
	}
	if _, _, err := net.SplitHostPort(cfg.HubHost); err == nil {
		return fmt.Errorf("hub: HubHost %q has a port; give the host name alone and the port in Address", cfg.HubHost)
	}
	n := 0
	for _, set := range []bool{cfg.Signer != nil, !cfg.Key.IsZero(), cfg.Certificate != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("hub: set exactly one of Signer, Key and Certificate")
	}
	return nil
}

// Twin is the device's twin as the device sees it: desired and reported properties (without
// $version and $metadata) and their versions.
type Twin struct {
	Desired         map[string]any
	Reported        map[string]any
	DesiredVersion  int64
	ReportedVersion int64
}

// Twin reads the device's twin.
func (c *Conn) Twin(ctx context.Context) (Twin, error) {
	desired, reported, err := c.client.RetrieveTwinState(ctx)
	if err != nil {
		return Twin{}, fmt.Errorf("hub: reading the twin of %s: %w", c.cfg.DeviceID, err)
	}
	t := Twin{
		Desired:         map[string]any(desired),
		Reported:        map[string]any(reported),
		DesiredVersion:  int64(desired.Version()),
		ReportedVersion: int64(reported.Version()),
	}
	for _, m := range []map[string]any{t.Desired, t.Reported} {
		delete(m, "$version")
		delete(m, "$metadata")
	}
	if t.Desired == nil {
		t.Desired = map[string]any{}
	}
	if t.Reported == nil {
		t.Reported = map[string]any{}
	}
	return t, nil
}

// ReportProperties merges props (a value that marshals to a JSON object: a map, a struct or a
// json.RawMessage) into the twin's reported properties; a nil value removes a property. It
// returns the reported properties' new version.
func (c *Conn) ReportProperties(ctx context.Context, props any) (int64, error) {
	b, err := json.Marshal(props)
	if err != nil {
		return 0, fmt.Errorf("hub: reported properties: %w", err)
	}
	var state iotdevice.TwinState
	if err := json.Unmarshal(b, &state); err != nil || state == nil {
		return 0, errors.New("hub: reported properties must be a JSON object")
	}
	v, err := c.client.UpdateTwinState(ctx, state)
	if err != nil {
		return 0, fmt.Errorf("hub: reporting properties of %s: %w", c.cfg.DeviceID, err)
	}
	return int64(v), nil
}

// Send sends a device-to-cloud message with application properties (may be nil), at least once
// (MQTT QoS 1): it returns when the hub has acknowledged it.
func (c *Conn) Send(ctx context.Context, payload []byte, props map[string]string) error {
	var opts []iotdevice.SendOption
	if len(props) > 0 {
		opts = append(opts, iotdevice.WithSendProperties(props))
	}
	if err := c.client.SendEvent(ctx, payload, opts...); err != nil {
		return fmt.Errorf("hub: sending a message from %s: %w", c.cfg.DeviceID, err)
	}
	return nil
}

// Close disconnects from the hub.
func (c *Conn) Close() error {
	return c.client.Close()
}
