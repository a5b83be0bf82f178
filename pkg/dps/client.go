package dps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oobtpm/oob/pkg/retry"
	"github.com/oobtpm/oob/pkg/sas"
)

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "oob-dps/1"

// DefaultMaxResponseBytes bounds a response body when Options.MaxResponseBytes is zero: a page of
// enrollments with certificates is well under it, and a body past it is not a DPS answer.
const DefaultMaxResponseBytes = 4 << 20

// Options configures a Client. The zero value talks to https://{HostName} with the system's
// trusted CAs and the default retry policy.
type Options struct {
	// HTTPClient, when set, sends every request. It must verify TLS: New refuses a transport
	// with InsecureSkipVerify. RootCAs is ignored when HTTPClient is set.
	HTTPClient *http.Client
	// RootCAs, when set, replaces the system's trusted CAs (e.g. the emulator's private CA; see
	// cafile.Load).
	RootCAs *x509.CertPool
	// Endpoint overrides where requests go: "host:port" or "https://host[:port]". Tokens are
	// still signed for the connection string's HostName, as the service expects.
	Endpoint string
	// Retry is the retry policy; its zero value means DefaultRetryPolicy.
	Retry RetryPolicy
	// UserAgent is sent with every request; empty means DefaultUserAgent.
	UserAgent string
	// Logger receives retries and failures at debug and warn level; nil discards them. Tokens
	// and keys are never logged.
	Logger *slog.Logger
	// TokenLifetime is how long each service token is valid; zero means an hour. A token is
	// reused until less than a tenth of its lifetime (at least a minute) is left.
	TokenLifetime time.Duration
	// MaxResponseBytes bounds response bodies; zero means DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Now returns the current time, for tokens and Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Sleep waits between attempts and returns early with ctx's error; nil means a timer.
	// Tests inject one so that Retry-After is honoured without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client calls one DPS instance's service API. It is safe for concurrent use.
type Client struct {
	cs        sas.ConnectionString
	base      *url.URL
	http      *http.Client
	retry     RetryPolicy
	userAgent string
	log       *slog.Logger
	maxBody   int64
	now       func() time.Time
	sleep     func(ctx context.Context, d time.Duration) error

	tokenLifetime time.Duration
	mu            sync.Mutex
	token         string
	tokenExpiry   time.Time
}

// New returns a client for the service named by cs.
func New(cs sas.ConnectionString, opts Options) (*Client, error) {
	if cs.HostName == "" || cs.KeyName == "" || cs.Key.IsZero() {
		return nil, errors.New("dps: the connection string is incomplete: parse it with sas.ParseConnectionString")
	}
	base, err := endpointURL(cs.HostName, opts.Endpoint)
	if err != nil {
		return nil, err
	}
	hc, err := httpClient(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cs:            cs,
		base:          base,
		http:          hc,
		retry:         opts.Retry.WithDefaults(),
		userAgent:     opts.UserAgent,
		log:           opts.Logger,
		maxBody:       opts.MaxResponseBytes,
		now:           opts.Now,
		sleep:         opts.Sleep,
		tokenLifetime: opts.TokenLifetime,
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = retry.Sleep
	}
	if c.tokenLifetime <= 0 {
		c.tokenLifetime = time.Hour
	}
	return c, nil
}

// HostName returns the service host name from the connection string.
func (c *Client) HostName() string { return c.cs.HostName }

// Endpoint returns the base URL requests are sent to.
func (c *Client) Endpoint() string { return c.base.String() }

// endpointURL resolves the endpoint override. Plain HTTP is refused: the requests carry
// credentials and the enrollments carry device keys.
func endpointURL(host, endpoint string) (*url.URL, error) {
	if endpoint == "" {
		endpoint = "https://" + host
	} else if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("dps: endpoint %q is not a host:port or an https URL", endpoint)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("dps: endpoint %q is not https: DPS is only reached over TLS", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("dps: endpoint %q has a query, fragment or user: give only scheme, host, port and path", endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// httpClient returns the caller's client after checking it verifies TLS, or one trusting RootCAs.
func httpClient(opts Options) (*http.Client, error) {
	if opts.HTTPClient != nil {
		if t, ok := opts.HTTPClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
			return nil, errors.New("dps: the HTTP client skips TLS verification; trust the server's CA with Options.RootCAs instead")
		}
		return opts.HTTPClient, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opts.RootCAs}
	// A client talks to one host: keep as many idle connections to it as requests run at once,
	// not the default two, so that concurrent callers (the portal's activations) reuse their
	// connections rather than each paying a new TLS handshake.
	t.MaxIdleConnsPerHost = t.MaxIdleConns
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}, nil
}
