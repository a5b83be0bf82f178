package est

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/smallstep/pkcs7"

	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/records"
)

// Paths served, as RFC 7030 names them.
const (
	PathCACerts      = "/.well-known/est/cacerts"
	PathSimpleEnroll = "/.well-known/est/simpleenroll"
)

// Stations finds the station a token or client certificate belongs to.
type Stations interface {
	StationByToken(ctx context.Context, tokenSHA256 string) (string, error)
	StationByCertificate(ctx context.Context, certSHA256 string) (string, error)
}

// Certifier issues a board's certificate.
type Certifier interface {
	Certify(ctx context.Context, station, guid string, pub crypto.PublicKey) (*certify.Result, error)
}

// Server is the EST HTTP handler.
type Server struct {
	Stations  Stations
	Certifier Certifier
	// Chain is the intermediate then the root, returned by cacerts and after each leaf.
	Chain []*x509.Certificate
	// Logger receives each issue and refusal; nil discards them.
	Logger *slog.Logger
}

// TokenHash is how a station token is stored: hex SHA-256. Tokens are random, so a plain hash
// is enough; the token itself is never stored.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CertificateHash identifies a station's client certificate: hex SHA-256 of its DER.
func CertificateHash(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathCACerts:
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		s.cacerts(w)
	case PathSimpleEnroll:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		s.simpleEnroll(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) cacerts(w http.ResponseWriter) {
	s.writeCerts(w, s.Chain)
}

func (s *Server) writeCerts(w http.ResponseWriter, certs []*x509.Certificate) {
	var der []byte
	for _, c := range certs {
		der = append(der, c.Raw...)
	}
	p7, err := pkcs7.DegenerateCertificate(der)
	if err != nil {
		s.log().Error("est: encode PKCS#7", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkcs7-mime; smime-type=certs-only")
	w.Header().Set("Content-Transfer-Encoding", "base64")
	// Lines of 64 characters end in LF, not MIME's CRLF: every EST client accepts it, and so do
	// base64 -d and openssl base64 -d, which stations' shell scripts use.
	enc := base64.StdEncoding.EncodeToString(p7)
	var b strings.Builder
	for len(enc) > 64 {
		b.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	b.WriteString(enc + "\n")
	_, _ = io.WriteString(w, b.String())
}

// station authenticates the request: a bearer token, else a TLS client certificate.
func (s *Server) station(r *http.Request) (string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return "", records.ErrNotFound
		}
		return s.Stations.StationByToken(r.Context(), TokenHash(tok))
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return s.Stations.StationByCertificate(r.Context(), CertificateHash(r.TLS.PeerCertificates[0].Raw))
	}
	return "", records.ErrNotFound
}

func (s *Server) simpleEnroll(w http.ResponseWriter, r *http.Request) {
	station, err := s.station(r)
	if errors.Is(err, records.ErrNotFound) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oob-factory"`)
		http.Error(w, "unknown station: send Authorization: Bearer <the station's token>, or its client certificate", http.StatusUnauthorized)
		s.log().Warn("est: unknown station", "remote", r.RemoteAddr)
		return
	}
	if err != nil {
		s.log().Error("est: authenticate", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/pkcs10" {
		http.Error(w, "send the request as Content-Type: application/pkcs10", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, fmt.Sprintf("request body over %d bytes", MaxRequestBytes), http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "reading the request failed", http.StatusBadRequest)
		return
	}
	req, err := ParseRequest(body)
	if err != nil {
		s.log().Warn("est: refused", "station", station, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := s.Certifier.Certify(r.Context(), station, req.GUID, req.CSR.PublicKey)
	switch {
	case errors.Is(err, certify.ErrOtherKey):
		s.log().Warn("est: refused", "station", station, "guid", req.GUID, "err", err)
		http.Error(w, err.Error(), http.StatusConflict)
		return
	case errors.Is(err, certify.ErrInvalidGUID), errors.Is(err, certify.ErrWeakKey):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		s.log().Error("est: certify", "station", station, "guid", req.GUID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.log().Info("est: certified", "station", station, "guid", req.GUID, "serial", res.Board.Serial, "new", res.New)
	s.writeCerts(w, append([]*x509.Certificate{res.Leaf}, s.Chain...))
}
