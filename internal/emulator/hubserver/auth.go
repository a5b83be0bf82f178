package hubserver

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/oobtpm/oob/pkg/sas"
)

// Why a CONNECT was refused. Each maps to the CONNACK return code IoT Hub sends.
var (
	// errBadCredentials: the username or password cannot be read (CONNACK 4).
	errBadCredentials = errors.New("bad username or password")
	// errNotAuthorized: readable credentials that do not admit the device (CONNACK 5).
	errNotAuthorized = errors.New("not authorized")
	// errUnavailable: the registry failed (CONNACK 3).
	errUnavailable = errors.New("server unavailable")
)

// authError is a refused CONNECT: Kind is one of the errors above, Reason says why, for the log.
type authError struct {
	Kind   error
	Reason string
}

func (e *authError) Error() string { return "hubserver: " + e.Kind.Error() + ": " + e.Reason }
func (e *authError) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) error {
	return &authError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// parseUsername reads "{hubHost}/{deviceId}/?api-version=…[&…]" or
// "{hubHost}/{deviceId}/api-version=…[&…]", the forms Microsoft's SDKs and amenzhinsky/iothub send.
// Module identities ("{hubHost}/{deviceId}/{moduleId}/?…") are not supported.
func parseUsername(u string) (hubHost, deviceID string, err error) {
	hubHost, rest, ok := strings.Cut(u, "/")
	if !ok || hubHost == "" {
		return "", "", refuse(errBadCredentials, "username %q is not {hubHost}/{deviceId}/?api-version=…", truncate(u))
	}
	deviceID, query, ok := strings.Cut(rest, "/")
	if !ok || deviceID == "" {
		return "", "", refuse(errBadCredentials, "username %q is not {hubHost}/{deviceId}/?api-version=…", truncate(u))
	}
	query = strings.TrimPrefix(query, "?")
	if query != "" && !strings.HasPrefix(query, "api-version=") {
		return "", "", refuse(errBadCredentials, "username %q: after the device ID comes ?api-version=… (module identities are not supported)", truncate(u))
	}
	return hubHost, deviceID, nil
}

// authenticator checks CONNECT credentials against the registry.
type authenticator struct {
	registry Registry
	verifier func(key sas.Signer, resource string) *sas.Verifier
}

// authenticate admits a device or returns an *authError. state is the TLS connection's state,
// nil on a connection without TLS.
func (a *authenticator) authenticate(ctx context.Context, clientID, username string, password []byte, state *tls.ConnectionState) (session, error) {
	hubHost, deviceID, err := parseUsername(username)
	if err != nil {
		return session{}, err
	}
	if clientID != deviceID {
		return session{}, refuse(errNotAuthorized, "client ID %q is not the username's device ID %q", truncate(clientID), truncate(deviceID))
	}
	dev, err := a.registry.Device(ctx, hubHost, deviceID)
	if errors.Is(err, ErrDeviceNotFound) {
		return session{}, refuse(errNotAuthorized, "device %q is not registered in hub %q", truncate(deviceID), truncate(hubHost))
	}
	if err != nil {
		return session{}, refuse(errUnavailable, "registry: %v", err)
	}
	if dev.Disabled {
		return session{}, refuse(errNotAuthorized, "device %q is disabled", deviceID)
	}
	s := session{hubHost: strings.ToLower(hubHost), deviceID: deviceID, device: dev}
	if len(password) == 0 {
		return s, checkCertificate(dev.Auth, state)
	}
	return s, a.checkToken(ctx, dev.Auth, hubHost, deviceID, string(password))
}

// checkToken verifies a SAS token against the device's keys: its sr must name the hub or the
// device (compared without regard to case, as IoT Hub compares it), its signature one of the keys.
func (a *authenticator) checkToken(ctx context.Context, auth Auth, hubHost, deviceID, token string) error {
	tok, err := sas.ParseToken(token)
	if err != nil {
		return refuse(errBadCredentials, "password: %v", err)
	}
	want := hubHost + "/devices/" + deviceID
	if !sas.ResourceCovers(strings.ToLower(tok.Resource), strings.ToLower(want)) {
		return refuse(errNotAuthorized, "token is for %q, not %q", truncate(tok.Resource), want)
	}
	var last error = refuse(errNotAuthorized, "device %q has no symmetric key; it authenticates with a certificate", deviceID)
	for _, k := range []sas.Key{auth.PrimaryKey, auth.SecondaryKey} {
		if k.IsZero() {
			continue
		}
		// The resource check is done above, case-insensitively; the verifier checks the token's
		// own resource so that only the signature and the expiry are left to it.
		_, err := a.verifier(k, tok.Resource).Verify(ctx, token)
		if err == nil {
			return nil
		}
		if errors.Is(err, sas.ErrExpired) {
			// Only a correctly signed token gets this far: say so, it tells the device to renew.
			return refuse(errNotAuthorized, "%v", err)
		}
		last = refuse(errNotAuthorized, "%v", err)
	}
	return last
}

// checkCertificate admits a TLS client certificate whose thumbprint the device is registered with.
func checkCertificate(auth Auth, state *tls.ConnectionState) error {
	if auth.PrimaryThumbprint == "" && auth.SecondaryThumbprint == "" {
		return refuse(errBadCredentials, "empty password, and the device has no certificate thumbprint: a SAS token is needed")
	}
	if state == nil || len(state.PeerCertificates) == 0 {
		return refuse(errNotAuthorized, "empty password and no TLS client certificate")
	}
	leaf := state.PeerCertificates[0]
	for _, tp := range []string{auth.PrimaryThumbprint, auth.SecondaryThumbprint} {
		if tp != "" && thumbprintMatches(tp, leaf) {
			return nil
		}
	}
	return refuse(errNotAuthorized, "client certificate %q matches neither thumbprint", truncate(leaf.Subject.CommonName))
}

// thumbprintMatches compares a hex SHA-256 or SHA-1 thumbprint with a certificate.
func thumbprintMatches(thumbprint string, c *x509.Certificate) bool {
	want, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(thumbprint), ":", ""))
	if err != nil {
		return false
	}
	switch len(want) {
	case sha256.Size:
		got := sha256.Sum256(c.Raw)
		return subtle.ConstantTimeCompare(want, got[:]) == 1
	case sha1.Size:
		got := sha1.Sum(c.Raw)
		return subtle.ConstantTimeCompare(want, got[:]) == 1
	}
	return false
}

// truncate keeps outside input short in logs.
func truncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
