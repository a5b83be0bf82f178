package provision

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/retry"
	"github.com/oobtpm/oob/pkg/sas"
)

// GlobalEndpoint is DPS's global device endpoint.
const GlobalEndpoint = "global.azure-devices-provisioning.net"

// TPM is what registration needs of a TPM: its keys, and a key slot DPS's blobs are imported into
// and that signs SAS tokens from inside the TPM.
type TPM interface {
	// EndorsementKey and StorageRootKey return TPM2B_PUBLIC bytes, size prefix included.
	EndorsementKey() []byte
	StorageRootKey() []byte
	// ImportKey imports a DPS authenticationKey blob, replacing the key imported before.
	ImportKey(ctx context.Context, blob []byte) error
	// Sign computes HMAC-SHA256 over data with the imported key.
	sas.Signer
}

// Config says how a device registers. Exactly one of TPM, Certificate and SymmetricKey is set.
type Config struct {
	// IDScope is the DPS instance's ID scope (0ne…).
	IDScope string
	// RegistrationID is the device's registration ID. With a certificate it defaults to the
	// certificate's common name, which DPS requires it to be.
	RegistrationID string
	// Endpoint is where DPS is: a host, host:port or https URL; empty means GlobalEndpoint.
	Endpoint string
	// RootCAs, when set, replaces the system's trusted CAs (the emulator's private CA).
	RootCAs *x509.CertPool

	TPM          TPM
	Certificate  *tls.Certificate
	SymmetricKey *sas.Key

	// Payload is passed to DPS's custom allocation webhook; nil sends none.
	Payload json.RawMessage

	// Retry bounds retries of throttled and failed requests; zero means retry.Default.
	Retry retry.Policy
	// TokenLifetime is how long each SAS token is valid; zero means an hour.
	TokenLifetime time.Duration
	// UserAgent is sent with every request; empty means DefaultUserAgent.
	UserAgent string
	// Logger receives progress at debug level and retries at info; nil discards them.
	Logger *slog.Logger
	// Now and Sleep are the clock; nil means the real one. Tests replace Sleep so that waits
	// cost nothing.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "oob-provision/1"

// check validates cfg and fills in defaults.
func (cfg *Config) check() error {
	n := 0
	if cfg.TPM != nil {
		n++
	}
	if cfg.Certificate != nil {
		n++
	}
	if cfg.SymmetricKey != nil {
		n++
	}
	if n != 1 {
		return errors.New("provision: give exactly one attestation: a TPM, an X.509 certificate or a symmetric key")
	}
	if err := checkIDScope(cfg.IDScope); err != nil {
		return err
	}
	if cfg.Certificate != nil {
		cn, err := commonName(cfg.Certificate)
		if err != nil {
			return err
		}
		if cfg.RegistrationID == "" {
			cfg.RegistrationID = cn
		} else if cfg.RegistrationID != cn {
			return fmt.Errorf("provision: registration ID %q differs from the certificate's common name %q; DPS takes the common name", cfg.RegistrationID, cn)
		}
	}
	if cfg.RegistrationID == "" && cfg.TPM != nil {
		cfg.RegistrationID = identity.DeriveRegistrationID(cfg.TPM.EndorsementKey())
	}
	if err := identity.ValidateRegistrationID(cfg.RegistrationID); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	if cfg.SymmetricKey != nil && cfg.SymmetricKey.IsZero() {
		return errors.New("provision: the symmetric key is empty")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = GlobalEndpoint
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = retry.Sleep
	}
	cfg.Retry = cfg.Retry.WithDefaults()
	return nil
}

// checkIDScope accepts what DPS issues: "0ne" and hex digits, in practice; any short
// alphanumeric string is let through so that a new form does not lock devices out.
func checkIDScope(s string) error {
	if s == "" {
		return errors.New("provision: the ID scope is empty: copy it from the DPS instance's overview page (0ne…)")
	}
	if len(s) > 64 {
		return errors.New("provision: the ID scope is longer than DPS's (0ne and 8 hex digits)")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("provision: the ID scope %q has a character DPS's never have: copy it again from the DPS instance's overview page", s)
		}
	}
	return nil
}

func commonName(c *tls.Certificate) (string, error) {
	leaf := c.Leaf
	if leaf == nil {
		if len(c.Certificate) == 0 {
			return "", errors.New("provision: the X.509 certificate is empty")
		}
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return "", fmt.Errorf("provision: the X.509 certificate is unreadable: %w", err)
		}
	}
	if leaf.Subject.CommonName == "" {
		return "", errors.New("provision: the X.509 certificate has no common name; DPS takes the registration ID from it")
	}
	return leaf.Subject.CommonName, nil
}

// baseURL resolves the endpoint: a host, host:port or https URL. Plain HTTP is refused.
func baseURL(endpoint string) (*url.URL, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("provision: endpoint %q is not a host[:port] or an https URL", endpoint)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("provision: endpoint %q is not https: DPS is only reached over TLS", endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}
