package hubclient

import (
	"crypto/tls"
	"errors"
	"strings"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Conditions callers branch on with errors.Is. Every error Connect returns for a failed connection
// is a *ConnectError wrapping exactly one of them.
var (
	// ErrNotAuthorized means the hub refused the device: a wrong key or certificate, an expired
	// token, a device the hub does not know (not registered there, or disabled), or the wrong hub.
	ErrNotAuthorized = errors.New("hub: not authorized")
	// ErrUnreachable means no MQTT session could be opened: name resolution, routing, a refused
	// or dropped connection, a time-out, or a hub that answered "server unavailable".
	ErrUnreachable = errors.New("hub: unreachable")
	// ErrTLS means the hub's certificate could not be verified: an unknown CA, a name mismatch,
	// an expired certificate.
	ErrTLS = errors.New("hub: TLS certificate not trusted")
)

// ConnectError is a failed Connect: Kind is ErrNotAuthorized, ErrUnreachable or ErrTLS, Err the
// underlying error, and Hint what to do about it.
type ConnectError struct {
	Kind     error
	HubHost  string
	Address  string
	DeviceID string
	Err      error
	Hint     string
}

func (e *ConnectError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	b.WriteString(": device " + e.DeviceID + " at " + e.HubHost)
	if e.Address != e.HubHost+":"+DefaultPort {
		b.WriteString(" (" + e.Address + ")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Unwrap returns Kind and the underlying error, so both errors.Is(err, ErrTLS) and, say,
// errors.As(err, &x509.UnknownAuthorityError{}) work.
func (e *ConnectError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// classify turns a failed dial, TLS handshake or MQTT CONNECT into a *ConnectError.
func classify(c *ConnectError, err error) error {
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &verify):
		c.Kind, c.Err = ErrTLS, err
		c.Hint = "pass the CA that issued the hub's certificate (RootCAs), and check that the hub host name is the one in its certificate"
	case errors.Is(err, packets.ErrorRefusedNotAuthorised),
		errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword),
		errors.Is(err, packets.ErrorRefusedIDRejected):
		c.Kind, c.Err = ErrNotAuthorized, err
		c.Hint = "check the device's key or certificate, its clock (an expired SAS token is refused), and that it is registered and enabled in this hub: a device provisioned through DPS connects to the hub DPS assigned, with the device ID it assigned"
	case errors.Is(err, packets.ErrorRefusedServerUnavailable):
		c.Kind, c.Err = ErrUnreachable, err
		c.Hint = "the hub answered but cannot serve now; retry later"
	default:
		c.Kind, c.Err = ErrUnreachable, err
		c.Hint = "check the network, the hub host name and that outbound port " + DefaultPort + " (MQTT over TLS) is open"
	}
	return c
}
