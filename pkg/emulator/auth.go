package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// authenticate checks the request's service SAS token against the emulator's access policy: the
// policy name (skn), the resource (sr, the service host name), the expiry (se) and the signature
// (sig, HMAC-SHA256 under the policy key over sr as sent, a newline, and se). Every failure is a
// 401 with the same error code; the message says which part failed, never the expected values.
func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return errorf(CodeUnauthorized, "The Authorization header is missing: send a SharedAccessSignature token for policy %s.", PolicyName)
	}
	tok, ok := parseSAS(h)
	if !ok {
		return errorf(CodeUnauthorized, "The Authorization header is not a well-formed SharedAccessSignature token.")
	}
	if !strings.EqualFold(tok.skn, s.identity.PolicyName) {
		return errorf(CodeUnauthorized, "The token's policy (skn) is not an access policy of this service.")
	}
	sr, err := url.QueryUnescape(tok.sr)
	if err != nil || !s.resourceMatches(sr) {
		return errorf(CodeUnauthorized, "The token's resource (sr) is not this service's host name.")
	}
	se, err := strconv.ParseInt(tok.se, 10, 64)
	if err != nil {
		return errorf(CodeUnauthorized, "The token's expiry (se) is not a number of seconds.")
	}
	if se <= s.now().Unix() {
		return errorf(CodeUnauthorized, "The token has expired; create a new one.")
	}
	sig, err := url.QueryUnescape(tok.sig)
	if err != nil {
		return errorf(CodeUnauthorized, "The token's signature (sig) is malformed.")
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errorf(CodeUnauthorized, "The token's signature (sig) is malformed.")
	}
	key, err := base64.StdEncoding.DecodeString(s.identity.PolicyKey)
	if err != nil {
		return errorf(CodeInternal, "The service's policy key is unusable.")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(tok.sr + "\n" + tok.se))
	if !hmac.Equal(mac.Sum(nil), got) {
		return errorf(CodeUnauthorized, "The token's signature does not match: check the connection string's key.")
	}
	return nil
}

// resourceMatches reports whether a token's resource names this service: its host name, or a
// path under it, compared without regard to case as host names are.
func (s *Server) resourceMatches(sr string) bool {
	host := strings.ToLower(s.hostName)
	sr = strings.ToLower(strings.TrimSuffix(sr, "/"))
	return sr == host || strings.HasPrefix(sr, host+"/")
}

// sasToken is a parsed SharedAccessSignature, its values as sent (still URL-encoded).
type sasToken struct{ sr, sig, se, skn string }

// parseSAS reads "SharedAccessSignature sr=…&sig=…&se=…&skn=…" with its fields in any order.
func parseSAS(h string) (sasToken, bool) {
	const prefix = "SharedAccessSignature "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return sasToken{}, false
	}
	var t sasToken
	seen := map[string]bool{}
	for _, part := range strings.Split(strings.TrimSpace(h[len(prefix):]), "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" || seen[k] {
			return sasToken{}, false
		}
		seen[k] = true
		switch k {
		case "sr":
			t.sr = v
		case "sig":
			t.sig = v
		case "se":
			t.se = v
		case "skn":
			t.skn = v
		default:
			return sasToken{}, false
		}
	}
	if t.sr == "" || t.sig == "" || t.se == "" || t.skn == "" {
		return sasToken{}, false
	}
	return t, true
}
