package ekcert

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Bundle is a trust bundle of TPM makers' root and intermediate certificates.
type Bundle struct {
	dir           string
	roots         *x509.CertPool
	intermediates *x509.CertPool
	certs         []*x509.Certificate
}

// maxBundleFile bounds one file of a bundle; makers' certificate files are a few KB.
const maxBundleFile = 1 << 20

// LoadBundle reads every regular file in dir (hidden files aside) as one or more certificates,
// PEM ("CERTIFICATE" blocks) or DER: self-signed ones are roots, the others intermediates. A file
// that is neither, or a folder with no root, is an error naming it.
func LoadBundle(dir string) (*Bundle, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the TPM makers' trust bundle: %w", err)
	}
	b := &Bundle{dir: dir, roots: x509.NewCertPool(), intermediates: x509.NewCertPool()}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file; the trust bundle folder holds only certificate files", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if len(data) > maxBundleFile {
			return nil, fmt.Errorf("%s: %d bytes, too large for certificate files (at most %d)", path, len(data), maxBundleFile)
		}
		certs, err := ParseBundleFile(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, c := range certs {
			b.add(c)
		}
	}
	if b.roots.Equal(x509.NewCertPool()) {
		return nil, fmt.Errorf("the trust bundle %s holds no root (self-signed) certificate; add the TPM makers' root certificates, PEM or DER", dir)
	}
	return b, nil
}

func (b *Bundle) add(c *x509.Certificate) {
	b.certs = append(b.certs, c)
	if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
		b.roots.AddCert(c)
	} else {
		b.intermediates.AddCert(c)
	}
}

// ParseBundleFile reads one file of a bundle: PEM with one or more CERTIFICATE blocks and
// nothing else, or one DER certificate.
func ParseBundleFile(data []byte) ([]*x509.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		c, _, err := parseX509(data)
		if err != nil {
			return nil, fmt.Errorf("neither PEM nor a DER certificate: %v", err)
		}
		return []*x509.Certificate{c}, nil
	}
	var certs []*x509.Certificate
	rest := trimmed
	for len(rest) > 0 {
		block, next := pem.Decode(rest)
		if block == nil {
			return nil, errors.New("text after the last PEM block that is not one")
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM %q block; only CERTIFICATE blocks belong in the trust bundle", block.Type)
		}
		c, _, err := parseX509(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %v", len(certs)+1, err)
		}
		certs = append(certs, c)
		rest = bytes.TrimSpace(next)
	}
	return certs, nil
}

// Verify checks that the certificate chains to a root of the bundle through its
// intermediates, at the time given (the zero time means now), and returns the chain from the
// EK certificate to the root. When an issuer is missing the error is a *MissingIssuerError.
func (b *Bundle) Verify(c *Certificate, at time.Time) ([]*x509.Certificate, error) {
	chains, err := c.X509.Verify(x509.VerifyOptions{
		Roots:         b.roots,
		Intermediates: b.intermediates,
		CurrentTime:   at,
		// EK certificates carry tcg-kp-EKCertificate (2.23.133.8.1), not a TLS usage.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return chains[0], nil
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		if m := b.missing(c); m != nil {
			return nil, m
		}
	}
	return nil, fmt.Errorf("the EK certificate does not verify against the TPM makers' trust bundle %s: %w", b.dir, err)
}

// missing walks from the EK certificate up through the bundle and describes the first issuer
// the bundle lacks; nil when a path reaches a root.
func (b *Bundle) missing(c *Certificate) *MissingIssuerError {
	cur := c.X509
	for range 8 {
		parent := b.issuerOf(cur)
		if parent == nil {
			return &MissingIssuerError{
				Issuer: cur.Issuer.String(), AuthorityKeyID: cur.AuthorityKeyId, URLs: cur.IssuingCertificateURL,
				Of: cur.Subject.String(), Maker: c.TPM.ManufacturerName(), Bundle: b.dir,
			}
		}
		if bytes.Equal(parent.RawIssuer, parent.RawSubject) {
			return nil
		}
		cur = parent
	}
	return nil
}

func (b *Bundle) issuerOf(c *x509.Certificate) *x509.Certificate {
	for _, p := range b.certs {
		if bytes.Equal(p.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

// MissingIssuerError says which certificate a chain lacks and where to get it.
type MissingIssuerError struct {
	Issuer         string   // the missing certificate's subject
	AuthorityKeyID []byte   // its subject key ID, when the certificate it issued says
	URLs           []string // where the certificate it issued says to fetch it (AIA caIssuers)
	Of             string   // the subject of the certificate it issued
	Maker          string   // the TPM maker's name, when known
	Bundle         string   // the bundle's folder
}

func (e *MissingIssuerError) Error() string {
	var s strings.Builder
	fmt.Fprintf(&s, "the TPM makers' trust bundle %s lacks the certificate of %q, the issuer of %q", e.Bundle, e.Issuer, e.Of)
	if len(e.AuthorityKeyID) > 0 {
		fmt.Fprintf(&s, " (key ID %X)", e.AuthorityKeyID)
	}
	if len(e.URLs) > 0 {
		urls := append([]string(nil), e.URLs...)
		sort.Strings(urls)
		fmt.Fprintf(&s, "; the certificate says it is published at %s", strings.Join(urls, ", "))
	}
	if where := publishers[e.Maker]; where != "" {
		fmt.Fprintf(&s, "; %s", where)
	}
	s.WriteString("; download it, check it is the maker's, and add it to the folder")
	return s.String()
}

// publishers says where makers that do not ship their intermediates in the TPM publish them.
var publishers = map[string]string{
	"Intel": "Intel publishes its PTT EK intermediates and roots separately, under https://upgrades.intel.com/content/CRL/ekcert/",
	"AMD":   "AMD publishes its fTPM EK intermediates separately, under https://ftpm.amd.com/pki/aia/",
}
