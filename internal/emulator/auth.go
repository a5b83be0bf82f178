package emulator

import (
	"net/http"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// authenticate checks the request's service SAS token with pkg/sas, as the clients sign it: the
// policy name (skn), the resource (sr: this service's host name, or a path of it the request is
// under), the signature over sr and se as sent, and the expiry, with no allowance for clock skew.
// Every failure is a 401 with the same error code; the message says which part failed, never the
// expected values.
func (s *Server) authenticate(r *http.Request) *httpapi.Error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return httpapi.Errorf(httpapi.CodeUnauthorized, "The Authorization header is missing: send a SharedAccessSignature token for policy %s.", s.identity.PolicyName)
	}
	v := sas.Verifier{
		Key:      s.policyKey,
		KeyName:  s.identity.PolicyName,
		Resource: s.hostName + r.URL.Path,
		Skew:     -1,
		Now:      s.now,
	}
	return httpapi.VerifyToken(s.log, r, &v, map[error]*httpapi.Error{
		sas.ErrMalformed: httpapi.Errorf(httpapi.CodeUnauthorized, "The Authorization header is not a well-formed SharedAccessSignature token."),
		sas.ErrKeyName:   httpapi.Errorf(httpapi.CodeUnauthorized, "The token's policy (skn) is not an access policy of this service."),
		sas.ErrResource:  httpapi.Errorf(httpapi.CodeUnauthorized, "The token's resource (sr) is not this service's host name."),
		sas.ErrSignature: httpapi.Errorf(httpapi.CodeUnauthorized, "The token's signature does not match: check the connection string's key."),
		sas.ErrExpired:   httpapi.Errorf(httpapi.CodeUnauthorized, "The token has expired; create a new one."),
	})
}
