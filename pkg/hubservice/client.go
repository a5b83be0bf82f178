package hubservice

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/sas"
)

// APIVersion is the service API version requests ask for.
const APIVersion = "2021-04-12"

// Defaults for Options' zero values.
const (
	DefaultTimeout       = 30 * time.Second
	DefaultTokenLifetime = 10 * time.Minute
)

// Options adjust a Client; the zero value uses the system's roots and each hub's own address.
type Options struct {
	// RootCAs verifies the hubs' certificates; nil means the system's roots.
	RootCAs *x509.CertPool
	// Address, when set, is the host:port every request is sent to instead of the hub's host
	// name on port 443 (an emulator serving every hub on one port). The hub is still named in TLS
	// and Host, and its certificate still checked for that name.
	Address string
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
	// TokenLifetime is how long each request's token is valid; zero means DefaultTokenLifetime.
	TokenLifetime time.Duration
	// Now returns the current time for token expiries; nil means time.Now.
	Now func() time.Time
}

// Client reads devices from the hubs it holds connection strings for. It is safe for
// concurrent use.
type Client struct {
	hubs map[string]sas.ConnectionString
	http *http.Client
	opts Options
}

// New returns a Client for the hubs of connStrings (one per host name).
func New(connStrings []sas.ConnectionString, opts Options) (*Client, error) {
	if len(connStrings) == 0 {
		return nil, errors.New("hubservice: no hub connection strings")
	}
	hubs := map[string]sas.ConnectionString{}
	for _, cs := range connStrings {
		host := strings.ToLower(cs.HostName)
		if cs.KeyName == "" || cs.Key.IsZero() {
			return nil, fmt.Errorf("hubservice: the connection string for %s is incomplete: parse it with sas.ParseHubConnectionString", host)
		}
		if _, dup := hubs[host]; dup {
			return nil, fmt.Errorf("hubservice: two connection strings for %s: keep one", host)
		}
		hubs[host] = cs
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: opts.Timeout,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	if addr := opts.Address; addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("hubservice: endpoint %q is not HOST:PORT", addr)
		}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	return &Client{hubs: hubs, http: &http.Client{Transport: tr, Timeout: opts.Timeout}, opts: opts}, nil
}

// Hubs returns the host names the Client holds connection strings for, sorted.
func (c *Client) Hubs() []string {
	out := make([]string, 0, len(c.hubs))
	for h := range c.hubs {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Device reads deviceID from the hub hubHost (compared without regard to case). A failure is
// an *Error, or ctx's error when ctx ended first.
func (c *Client) Device(ctx context.Context, hubHost, deviceID string) (*Device, error) {
	hubHost = strings.ToLower(hubHost)
	fail := func(kind error, status int, code string, err error) error {
		return &Error{Hub: hubHost, DeviceID: deviceID, Kind: kind, Status: status, Code: code, Err: err}
	}
	cs, ok := c.hubs[hubHost]
	if !ok {
		return nil, fail(ErrUnknownHub, 0, "", nil)
	}
	if deviceID == "" {
		return nil, fail(ErrDeviceNotFound, 0, "", errors.New("the device ID is empty"))
	}
	tok, err := cs.Token(ctx, c.opts.Now().Add(c.opts.TokenLifetime))
	if err != nil {
		return nil, fmt.Errorf("hubservice: signing the token for %s: %w", hubHost, err)
	}
	u := "https://" + cs.HostName + "/devices/" + url.PathEscape(deviceID) + "?api-version=" + APIVersion
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fail(ErrBadResponse, 0, "", err)
	}
	req.Header.Set("Authorization", tok)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fail(ErrUnreachable, 0, "", scrub(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDeviceBytes+1))
	if err != nil {
		return nil, fail(ErrUnreachable, resp.StatusCode, "", scrub(err))
	}
	code := ""
	if resp.StatusCode != http.StatusOK {
		code = parseErrorCode(resp.Header.Get("iothub-errorcode"), body)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		d, err := ParseDevice(body)
		if err != nil {
			return nil, fail(ErrBadResponse, resp.StatusCode, "", err)
		}
		if d.ID != deviceID {
			return nil, fail(ErrBadResponse, resp.StatusCode, "", fmt.Errorf("the answer is for device %q", short(d.ID)))
		}
		return d, nil
	case resp.StatusCode == http.StatusNotFound && code == "DeviceNotFound":
		return nil, fail(ErrDeviceNotFound, resp.StatusCode, code, nil)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fail(ErrUnauthorized, resp.StatusCode, code, nil)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, fail(ErrUnavailable, resp.StatusCode, code, nil)
	}
	return nil, fail(ErrBadResponse, resp.StatusCode, code, nil)
}

// scrub drops the request URL from a transport error (it holds nothing secret, but the error
// already names the hub and device), keeping the cause.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
