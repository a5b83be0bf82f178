// Package retry holds what the project's HTTP clients of Azure services share about retrying:
// which answers are transient, how long a server asks to be left alone (Retry-After), and a
// bounded, jittered backoff when it does not say.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy bounds retries. Zero fields take Default's values.
type Policy struct {
	// MaxAttempts counts the first attempt; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the first backoff; each later one doubles, up to MaxDelay, with jitter.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter caps a server's Retry-After, so a broken header cannot park the client.
	MaxRetryAfter time.Duration
}

// Default is five attempts, backing off from half a second to 30 s, honouring a Retry-After of
// up to five minutes (Microsoft's own clients clamp to the same range).
var Default = Policy{
	MaxAttempts:   5,
	BaseDelay:     500 * time.Millisecond,
	MaxDelay:      30 * time.Second,
	MaxRetryAfter: 5 * time.Minute,
}

// WithDefaults returns p with its zero fields set from Default.
func (p Policy) WithDefaults() Policy {
	d := Default
	if p.MaxAttempts > 0 {
		d.MaxAttempts = p.MaxAttempts
	}
	if p.BaseDelay > 0 {
		d.BaseDelay = p.BaseDelay
	}
	if p.MaxDelay > 0 {
		d.MaxDelay = p.MaxDelay
	}
	if p.MaxRetryAfter > 0 {
		d.MaxRetryAfter = p.MaxRetryAfter
	}
	return d
}

// Backoff returns the wait before attempt n+1 (n ≥ 1): exponential, capped, with "equal jitter"
// (half fixed, half random) so that many clients throttled together do not retry together.
func (p Policy) Backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + rand.N(half+1)
}

// Wait returns how long to wait before attempt n+1 after a transient answer with header h: the
// server's Retry-After (capped) when it gave one, else the backoff.
func (p Policy) Wait(n int, h http.Header, now time.Time) time.Duration {
	if d, ok := After(h, now); ok {
		return min(d, p.MaxRetryAfter)
	}
	return p.Backoff(n)
}

// Transient reports whether a response status is worth retrying: throttled or a server error.
func Transient(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// After reads a Retry-After header: delay-seconds or an HTTP date. ok is false when the header is
// absent or unreadable, and the caller falls back to its own backoff.
func After(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Sleep waits for d or until ctx is done, and returns ctx's error in that case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// CertificateError reports whether err is a TLS certificate verification failure: never worth
// retrying, and the user needs to hear about it (a private CA not passed, a wrong host name).
func CertificateError(err error) bool {
	var v *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &v) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}
