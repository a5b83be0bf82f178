package sas

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Prefix starts every token; services compare it without regard to case.
const Prefix = "SharedAccessSignature "

// MaxTokenLen bounds the tokens ParseToken reads: real ones are a few hundred bytes, and an
// Authorization header is outside input.
const MaxTokenLen = 4096

// Token is a parsed SharedAccessSignature. The raw fields keep sr and se exactly as sent, because
// the signature covers those bytes and clients differ in how they encode sr.
type Token struct {
	// Resource is sr with its URL encoding undone: what the token grants access to.
	Resource string
	// RawResource is sr as it appeared in the token.
	RawResource string
	// Expiry is se as a time.
	Expiry time.Time
	// RawExpiry is se as it appeared in the token.
	RawExpiry string
	// KeyName is skn, empty when the token has none (device tokens may omit it).
	KeyName string

	// sig is unexported so the signature never appears when a Token is printed.
	sig []byte
}

// String describes the token without its signature.
func (t *Token) String() string {
	return fmt.Sprintf("SharedAccessSignature sr=%s&se=%s&skn=%s (signature redacted)", t.RawResource, t.RawExpiry, t.KeyName)
}

// StringToSign returns the bytes a token's signature covers: sr and se as they appear in the
// token, joined by a newline.
func StringToSign(rawResource, rawExpiry string) []byte {
	return []byte(rawResource + "\n" + rawExpiry)
}

// NewToken signs a token for resource (unencoded; NewToken encodes it) that expires at expiry.
// keyName becomes skn and is left out when empty.
func NewToken(ctx context.Context, s Signer, resource, keyName string, expiry time.Time) (string, error) {
	if resource == "" {
		return "", fmt.Errorf("sas: cannot sign a token for an empty resource")
	}
	sr := Escape(resource)
	se := strconv.FormatInt(expiry.Unix(), 10)
	mac, err := s.Sign(ctx, StringToSign(sr, se))
	if err != nil {
		return "", fmt.Errorf("sas: signing token: %w", err)
	}
	var b strings.Builder
	b.WriteString(Prefix)
	b.WriteString("sr=" + sr)
	b.WriteString("&sig=" + Escape(base64.StdEncoding.EncodeToString(mac)))
	b.WriteString("&se=" + se)
	if keyName != "" {
		b.WriteString("&skn=" + Escape(keyName))
	}
	return b.String(), nil
}

// Escape percent-encodes every byte outside RFC 3986's unreserved set, with upper-case hex, as
// JavaScript's encodeURIComponent and .NET's WebUtility.UrlEncode do for the characters resources
// and signatures contain ('/' → %2F, '+' → %2B, '=' → %3D).
func Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ParseToken reads a token: the prefix, then sr, sig, se and optionally skn in any order. It
// checks form only (see Verifier for the signature, resource and expiry). Unknown or repeated
// fields are refused, since a verifier and a service could otherwise read different values.
func ParseToken(s string) (*Token, error) {
	if len(s) > MaxTokenLen {
		return nil, tokenErr(ErrMalformed, fmt.Sprintf("longer than %d bytes", MaxTokenLen))
	}
	if len(s) < len(Prefix) || !strings.EqualFold(s[:len(Prefix)], Prefix) {
		return nil, tokenErr(ErrMalformed, `does not start with "SharedAccessSignature "`)
	}
	var t Token
	var rawSig string
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.TrimSpace(s[len(Prefix):]), "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return nil, tokenErr(ErrMalformed, "a field is not name=value")
		}
		switch k {
		case "sr", "sig", "se", "skn":
		default:
			return nil, tokenErr(ErrMalformed, "unknown field; a token has only sr, sig, se and skn")
		}
		if seen[k] {
			return nil, tokenErr(ErrMalformed, "field "+k+" appears more than once")
		}
		seen[k] = true
		switch k {
		case "sr":
			t.RawResource = v
		case "sig":
			rawSig = v
		case "se":
			t.RawExpiry = v
		case "skn":
			t.KeyName = v
		}
	}
	for _, k := range []string{"sr", "sig", "se"} {
		if !seen[k] {
			return nil, tokenErr(ErrMalformed, "field "+k+" is missing")
		}
	}
	// PathUnescape, not QueryUnescape: a '+' sent raw in sr or sig is a plus, not a space.
	res, err := url.PathUnescape(t.RawResource)
	if err != nil {
		return nil, tokenErr(ErrMalformed, "sr has a bad percent-encoding")
	}
	t.Resource = res
	if t.KeyName != "" {
		kn, err := url.PathUnescape(t.KeyName)
		if err != nil {
			return nil, tokenErr(ErrMalformed, "skn has a bad percent-encoding")
		}
		t.KeyName = kn
	}
	sig, err := url.PathUnescape(rawSig)
	if err != nil {
		return nil, tokenErr(ErrMalformed, "sig has a bad percent-encoding")
	}
	if t.sig, err = base64.StdEncoding.DecodeString(sig); err != nil || len(t.sig) == 0 {
		return nil, tokenErr(ErrMalformed, "sig is not base64")
	}
	se, err := parseSeconds(t.RawExpiry)
	if err != nil {
		return nil, tokenErr(ErrMalformed, "se is not a number of seconds since 1970")
	}
	t.Expiry = time.Unix(min(se, maxExpiry), 0)
	return &t, nil
}

// maxExpiry (the last second of year 9999) is where a token's expiry is capped. Microsoft's Node
// service client signs Date.now(), in milliseconds, as se: a date tens of thousands of years
// away, which DPS takes as it is, so such a token is read as valid until the cap.
const maxExpiry = 253402300799

// parseSeconds accepts only decimal digits: strconv alone would also take a sign, which no client
// sends and which would let two spellings share one meaning. Sixteen digits hold a millisecond
// clock with room to spare.
func parseSeconds(s string) (int64, error) {
	if s == "" || len(s) > 16 {
		return 0, fmt.Errorf("bad length")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("not a digit")
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
