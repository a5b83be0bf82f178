// Package est is the device's side of RFC 7030 Enrollment over Secure Transport: it sends a
// certificate request to a factory's EST server and reads the certificates it answers with.
package est

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// PathSimpleEnroll is the simpleenroll operation's path, below the server's URL.
const PathSimpleEnroll = "/.well-known/est/simpleenroll"

// MaxResponseBytes bounds an answer: a certs-only PKCS#7 of a leaf and its chain in base64 is a
// few KiB.
const MaxResponseBytes = 1 << 20

// maxErrorBytes bounds how much of a refusal's body is read into its message.
const maxErrorBytes = 2 << 10

// Sentinels for the answers callers branch on; a *StatusError matches one of them.
var (
	// ErrUnauthorized means the server does not know the station's token (HTTP 401 or 403).
	ErrUnauthorized = errors.New("est: station not authorized")
	// ErrConflict means the server already certified another key under this name (HTTP 409).
	ErrConflict = errors.New("est: another key is already certified under this name")
	// ErrRefused means the server refused the request itself (HTTP 400, 413, 415).
	ErrRefused = errors.New("est: request refused")
	// ErrUnavailable means the server failed or is away (HTTP 5xx, 429); trying again later may work.
	ErrUnavailable = errors.New("est: server unavailable")
	// ErrBadResponse means the server's answer is not a certs-only PKCS#7 in base64.
	ErrBadResponse = errors.New("est: malformed response")
)

// StatusError is an EST server's refusal: its HTTP status and what its body said.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Message is the server's explanation (its body's first line), "" when it gave none.
	Message string
	// Kind is one of the sentinels above, or nil for a status none of them covers.
	Kind error
}

// Error returns the status and the server's explanation.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("est: the server answered %d %s", e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns Kind, so errors.Is(err, ErrUnauthorized) and the like work.
func (e *StatusError) Unwrap() error { return e.Kind }

// Client asks one EST server for certificates.
type Client struct {
	// URL is the server: https://HOST[:PORT], optionally with a path prefix, below which
	// PathSimpleEnroll is served.
	URL string
	// Token, when set, is sent as "Authorization: Bearer TOKEN" (the factory's station token).
	Token []byte
	// HTTPClient sends the requests; nil means http.DefaultClient (the system's CAs). Its TLS
	// configuration decides which server certificates are trusted.
	HTTPClient *http.Client
}

// CheckURL reports whether u can be a Client's URL: an absolute https URL with a host, and no
// user information, query or fragment. EST carries a station's credentials, so never plain HTTP.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("est: %q is not a URL: %w", u, err)
	}
	switch {
	case p.Scheme != "https":
		return fmt.Errorf("est: %q is not an https URL: EST needs TLS (https://HOST[:PORT])", u)
	case p.Host == "":
		return fmt.Errorf("est: %q has no host", u)
	case p.User != nil || p.RawQuery != "" || p.Fragment != "":
		return fmt.Errorf("est: %q has user information, a query or a fragment: give https://HOST[:PORT]", u)
	}
	return nil
}

// SimpleEnroll sends csr (a DER PKCS#10 request) to the server's simpleenroll operation and
// returns the certificates it answers with, in the order sent (the factory sends the leaf
// first, then its chain).
func (c *Client) SimpleEnroll(ctx context.Context, csr []byte) ([]*x509.Certificate, error) {
	if err := CheckURL(c.URL); err != nil {
		return nil, err
	}
	body := base64.StdEncoding.EncodeToString(csr)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+PathSimpleEnroll, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("est: %w", err)
	}
	req.Header.Set("Content-Type", "application/pkcs10")
	req.Header.Set("Content-Transfer-Encoding", "base64")
	req.Header.Set("Accept", "application/pkcs7-mime")
	if len(c.Token) > 0 {
		req.Header.Set("Authorization", "Bearer "+string(c.Token))
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("est: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, statusError(res)
	}
	if ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); ct != "application/pkcs7-mime" {
		return nil, fmt.Errorf("%w: Content-Type %q, not application/pkcs7-mime: is %s an EST server?", ErrBadResponse, res.Header.Get("Content-Type"), c.URL)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("est: reading the answer: %w", err)
	}
	if len(b) > MaxResponseBytes {
		return nil, fmt.Errorf("%w: answer over %d bytes", ErrBadResponse, MaxResponseBytes)
	}
	return ParseCertsOnly(b)
}

// statusError reads a refusal into a *StatusError.
func statusError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBytes))
	e := &StatusError{Code: res.StatusCode, Message: firstLine(b)}
	switch {
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		e.Kind = ErrUnauthorized
	case res.StatusCode == http.StatusConflict:
		e.Kind = ErrConflict
	case res.StatusCode == http.StatusBadRequest || res.StatusCode == http.StatusRequestEntityTooLarge ||
		res.StatusCode == http.StatusUnsupportedMediaType:
		e.Kind = ErrRefused
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		e.Kind = ErrUnavailable
	}
	return e
}

// firstLine returns the first line of a refusal's body, without control characters, so that a
// server cannot write to the user's terminal through it.
func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(line)))
}
