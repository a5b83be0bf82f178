package firstboot

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oobtpm/oob/pkg/est"
	"github.com/oobtpm/oob/pkg/identity"
)

// Bounds on the files an X.509 device reads; real ones are a few kilobytes and one line.
const (
	MaxChainBytes      = 64 << 10
	MaxActivationBytes = 2 << 10
)

// certificateIdentity is a device onboarding by its factory-issued certificate.
type certificateIdentity struct {
	cert *tls.Certificate
	// registrationID is the leaf's common name.
	registrationID string
	// activationURL is the label's activation URL, "" when the device has none.
	activationURL string
}

// loadCertificateIdentity reads the chain cfg names and pairs it with key, checking what DPS
// would refuse less clearly: a common name that is not a registration ID, a key that is not the
// certificate's, a certificate not meant for client authentication.
func loadCertificateIdentity(cfg *X509Config, key crypto.Signer) (*certificateIdentity, error) {
	b, err := readBounded(cfg.CertificateFile, MaxChainBytes)
	if err != nil {
		return nil, fmt.Errorf("x509: the device certificate: %w (run `oob-agent certify` to get one)", err)
	}
	chain, err := est.ParsePEM(b)
	if err != nil {
		return nil, fmt.Errorf("x509: %s: %w: it must hold the certificate chain alone, leaf first (keep the key in its own file)", cfg.CertificateFile, err)
	}
	leaf := chain[0]
	cn := leaf.Subject.CommonName
	if err := identity.ValidateRegistrationID(cn); err != nil {
		advice := "the factory must issue a certificate whose common name is the board's GUID in lower case"
		return nil, fmt.Errorf("x509: %s: the certificate's common name is DPS's registration ID: %w; %s", cfg.CertificateFile, err, advice)
	}
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return nil, fmt.Errorf("x509: %s: the certificate is not for client authentication, which DPS asks for: the factory must re-issue it", cfg.CertificateFile)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("x509: %s was issued for another key than %s: run `oob-agent certify` again", cfg.CertificateFile, keyName(cfg.Key))
	}
	id := &certificateIdentity{registrationID: cn, cert: &tls.Certificate{PrivateKey: key, Leaf: leaf}}
	for _, c := range chain {
		id.cert.Certificate = append(id.cert.Certificate, c.Raw)
	}
	if cfg.ActivationFile != "" {
		if id.activationURL, err = readActivationURL(cfg.ActivationFile); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// LoadCertificate reads the device's certificate chain that cfg names and pairs it with key,
// with the first boot's checks: a common name that is a registration ID, the key the
// certificate certifies, client authentication allowed.
func LoadCertificate(cfg *X509Config, key crypto.Signer) (*tls.Certificate, error) {
	id, err := loadCertificateIdentity(&X509Config{CertificateFile: cfg.CertificateFile, Key: cfg.Key}, key)
	if err != nil {
		return nil, err
	}
	return id.cert, nil
}

func keyName(key string) string {
	if key == KeyInTPM {
		return "the key in the TPM"
	}
	return key
}

// readActivationURL reads the label's activation URL: one http(s) URL with a host. A missing
// file is no URL (the screen then shows the registration ID).
func readActivationURL(path string) (string, error) {
	b, err := readBounded(path, MaxActivationBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("x509: the activation URL: %w", err)
	}
	s, ok := parseActivationURL(b)
	if !ok {
		return "", fmt.Errorf("x509: %s holds no activation URL (one line, https://…, the GUID.url file `oob-factory label` writes beside the label)", path)
	}
	return s, nil
}

// parseActivationURL reads one http(s) URL with a host, alone on its line.
func parseActivationURL(b []byte) (string, bool) {
	s := strings.TrimSpace(string(b))
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsFunc(s, unicode.IsSpace) || !utf8.ValidString(s) {
		return "", false
	}
	return s, true
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
