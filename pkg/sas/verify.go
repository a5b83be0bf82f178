package sas

import (
	"context"
	"crypto/hmac"
	"fmt"
	"strings"
	"time"
)

// DefaultSkew is the clock skew a Verifier allows when Skew is zero: devices without a real-time
// clock, or with a drifting one, are routinely a few minutes off.
const DefaultSkew = 5 * time.Minute

// Verifier checks tokens against one key. Its zero value is not usable: set Key and Resource.
type Verifier struct {
	// Key is the key tokens must be signed with.
	Key Signer
	// KeyName, when set, is the skn tokens must carry (compared without regard to case, as Azure
	// compares policy names). When empty, skn is not checked.
	KeyName string
	// Resource is what the request accesses, unencoded: a service host name, or
	// "{idScope}/registrations/{registrationId}". A token is accepted when its resource is this one
	// or an ancestor of it (whole path segments), so a token for a host grants everything under it.
	Resource string
	// Skew is how far the verifier's clock may be behind the signer's; zero means DefaultSkew and a
	// negative value allows none.
	Skew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verify parses token and checks, in this order, its key name, its resource, its signature and its
// expiry. It returns the parsed token, or a *TokenError whose Kind says what failed.
// The signature is checked before the expiry so that someone without the key learns nothing
// beyond the token's form.
func (v *Verifier) Verify(ctx context.Context, token string) (*Token, error) {
	t, err := ParseToken(token)
	if err != nil {
		return nil, err
	}
	if v.KeyName != "" && !strings.EqualFold(t.KeyName, v.KeyName) {
		if t.KeyName == "" {
			return nil, tokenErr(ErrKeyName, "the token has no skn; expected policy "+v.KeyName)
		}
		return nil, tokenErr(ErrKeyName, "expected policy "+v.KeyName)
	}
	if !ResourceCovers(t.Resource, v.Resource) {
		return nil, tokenErr(ErrResource, "the token's sr does not name "+v.Resource)
	}
	want, err := v.Key.Sign(ctx, StringToSign(t.RawResource, t.RawExpiry))
	if err != nil {
		return nil, fmt.Errorf("sas: computing the expected signature: %w", err)
	}
	if !hmac.Equal(want, t.sig) {
		return nil, tokenErr(ErrSignature, "the token was not signed with this key; check the key")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.Skew
	if skew == 0 {
		skew = DefaultSkew
	} else if skew < 0 {
		skew = 0
	}
	if n := now(); !t.Expiry.Add(skew).After(n) {
		return nil, tokenErr(ErrExpired, fmt.Sprintf("expired at %s, now %s; create a new token (and check the clock)",
			t.Expiry.UTC().Format(time.RFC3339), n.UTC().Format(time.RFC3339)))
	}
	return t, nil
}

// ResourceCovers reports whether a token for granted (unencoded) gives access to requested:
// they are equal, or granted is requested's ancestor at a '/' boundary. The first segment (a host
// name or an ID scope) is compared without regard to case; the rest exactly. A trailing '/' is
// ignored. An empty granted covers nothing.
func ResourceCovers(granted, requested string) bool {
	granted = strings.TrimSuffix(granted, "/")
	requested = strings.TrimSuffix(requested, "/")
	if granted == "" || requested == "" {
		return false
	}
	gh, gp, gHasPath := strings.Cut(granted, "/")
	rh, rp, rHasPath := strings.Cut(requested, "/")
	if !strings.EqualFold(gh, rh) {
		return false
	}
	switch {
	case !gHasPath:
		return true
	case !rHasPath:
		return false
	}
	return gp == rp || strings.HasPrefix(rp, gp+"/")
}
