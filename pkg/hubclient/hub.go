package hubclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/sas"
)

// DefaultPort is IoT Hub's MQTT over TLS port.
const DefaultPort = "8883"

// DefaultTokenLifetime is how long a SAS token lasts when Config.TokenLifetime is zero: longer
// than a first connection needs, and IoT Hub keeps a connection open past its token's expiry
// only until it asks for a new one.
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
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// Now returns the current time for token expiries; nil means time.Now.
	Now func() time.Time
}

// Conn is an open connection of one device to its hub. It does not reconnect: after a dropped
// connection every call fails with the reason, and the caller connects again (a first-boot agent
// retries its whole hub step).
type Conn struct {
	s   *session
	cfg Config
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

	var password string
	signer := cfg.Signer
	if signer == nil && !cfg.Key.IsZero() {
		signer = cfg.Key
	}
	if signer != nil {
		// Signed under the caller's context: a TPM that cannot sign fails here, with its own
		// error, rather than as a refused connection.
		tok, err := sas.NewToken(ctx, signer, host+"/devices/"+cfg.DeviceID, "", cfg.Now().Add(cfg.TokenLifetime))
		if err != nil {
			return nil, fmt.Errorf("hub: signing the SAS token: %w", err)
		}
		password = tok
	}
	failed := func(err error) error {
		return classify(&ConnectError{HubHost: host, Address: cfg.Address, DeviceID: cfg.DeviceID}, err)
	}

	log.Debug("hub: connecting", "hub", host, "address", cfg.Address, "device", cfg.DeviceID)
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, failed(err)
	}
	conn := tls.Client(raw, clientTLS(host, cfg.RootCAs, cfg.Certificate))
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, failed(err)
	}
	username := host + "/" + cfg.DeviceID + "/?api-version=" + apiVersion + "&DeviceClientType=" + url.QueryEscape(clientType)
	s, err := openSession(ctx, conn, cfg.DeviceID, username, password)
	if err != nil {
		conn.Close()
		return nil, failed(err)
	}
	log.Info("hub: connected", "hub", host, "device", cfg.DeviceID)
	return &Conn{s: s, cfg: cfg}, nil
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
	res, err := c.s.twinRequest(ctx, "$iothub/twin/GET/", nil)
	if err == nil && res.status != 200 {
		err = fmt.Errorf("the hub answered %d: %s", res.status, printable(res.body))
	}
	if err != nil {
		return Twin{}, fmt.Errorf("hub: reading the twin of %s: %w", c.cfg.DeviceID, err)
	}
	var doc struct {
		Desired  map[string]any `json:"desired"`
		Reported map[string]any `json:"reported"`
	}
	if err := json.Unmarshal(res.body, &doc); err != nil {
		return Twin{}, fmt.Errorf("hub: reading the twin of %s: the hub sent a twin that is not JSON: %w", c.cfg.DeviceID, err)
	}
	t := Twin{Desired: doc.Desired, Reported: doc.Reported, DesiredVersion: version(doc.Desired), ReportedVersion: version(doc.Reported)}
	if t.Desired == nil {
		t.Desired = map[string]any{}
	}
	if t.Reported == nil {
		t.Reported = map[string]any{}
	}
	for _, m := range []map[string]any{t.Desired, t.Reported} {
		delete(m, "$version")
		delete(m, "$metadata")
	}
	return t, nil
}

// version reads a twin section's $version (a JSON number).
func version(section map[string]any) int64 {
	v, _ := section["$version"].(float64)
	return int64(v)
}

// ReportProperties merges props (a value that marshals to a JSON object: a map, a struct or a
// json.RawMessage) into the twin's reported properties; a nil value removes a property. It
// returns the reported properties' new version.
func (c *Conn) ReportProperties(ctx context.Context, props any) (int64, error) {
	b, err := json.Marshal(props)
	if err != nil {
		return 0, fmt.Errorf("hub: reported properties: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return 0, errors.New("hub: reported properties must be a JSON object")
	}
	res, err := c.s.twinRequest(ctx, "$iothub/twin/PATCH/properties/reported/", b)
	if err == nil && res.status != 204 && res.status != 200 {
		err = fmt.Errorf("the hub answered %d: %s", res.status, printable(res.body))
	}
	if err != nil {
		return 0, fmt.Errorf("hub: reporting properties of %s: %w", c.cfg.DeviceID, err)
	}
	return res.version, nil
}

// Send sends a device-to-cloud message with application properties (may be nil), at least once
// (MQTT QoS 1): it returns when the hub has acknowledged it.
func (c *Conn) Send(ctx context.Context, payload []byte, props map[string]string) error {
	topic := "devices/" + c.cfg.DeviceID + "/messages/events/"
	topic += propertyBag(props)
	if err := c.s.publish(ctx, topic, 1, payload); err != nil {
		return fmt.Errorf("hub: sending a message from %s: %w", c.cfg.DeviceID, err)
	}
	return nil
}

// propertyBag encodes application properties as IoT Hub's topic property bag: key=value pairs
// joined by &, each percent-encoded. A space is %20, never +: MQTT topic names may not hold the
// wildcards + and #, and a broker drops a client that publishes one.
func propertyBag(props map[string]string) string {
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	pairs := make([]string, 0, len(props))
	for _, k := range slices.Sorted(maps.Keys(props)) {
		pairs = append(pairs, esc(k)+"="+esc(props[k]))
	}
	return strings.Join(pairs, "&")
}

// Close disconnects from the hub.
func (c *Conn) Close() error {
	return c.s.disconnect()
}

// printable quotes at most a short excerpt of what the hub sent, for an error message.
func printable(b []byte) string {
	const most = 200
	if len(b) > most {
		return strconv.Quote(string(b[:most])) + "…"
	}
	return strconv.Quote(string(b))
}
