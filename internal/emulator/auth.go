package emulator

import (
	"errors"
	"net/http"

	"github.com/oobtpm/oob/pkg/sas"
)

// authenticate checks the request's service SAS token with pkg/sas, as the clients sign it: the
// policy name (skn), the resource (sr: this service's host name, or a path of it the request is
// under), the signature over sr and se as sent, and the expiry, with no allowance for clock skew.
// Every failure is a 401 with the same error code; the message says which part failed, never the
// expected values.
func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return errorf(CodeUnauthorized, "The Authorization header is missing: send a SharedAccessSignature token for policy %s.", s.identity.PolicyName)
	}
	v := sas.Verifier{
		Key:      s.policyKey,
		KeyName:  s.identity.PolicyName,
		Resource: s.hostName + r.URL.Path,
		Skew:     -1,
		Now:      s.now,
	}
	return s.verifyToken(r, &v, map[error]*apiError{
		sas.ErrMalformed: errorf(CodeUnauthorized, "The Authorization header is not a well-formed SharedAccessSignature token."),
		sas.ErrKeyName:   errorf(CodeUnauthorized, "The token's policy (skn) is not an access policy of this service."),
		sas.ErrResource:  errorf(CodeUnauthorized, "The token's resource (sr) is not this service's host name."),
		sas.ErrSignature: errorf(CodeUnauthorized, "The token's signature does not match: check the connection string's key."),
		sas.ErrExpired:   errorf(CodeUnauthorized, "The token has expired; create a new one."),
	})
}

// verifyToken checks the request's Authorization with v and returns nil, the refusal for the kind
// of failure (each of pkg/sas's token error kinds has one), or an internal error.
func (s *Server) verifyToken(r *http.Request, v *sas.Verifier, refusals map[error]*apiError) *apiError {
	_, err := v.Verify(r.Context(), r.Header.Get("Authorization"))
	if err == nil {
		return nil
	}
	for _, kind := range []error{sas.ErrMalformed, sas.ErrKeyName, sas.ErrResource, sas.ErrSignature, sas.ErrExpired} {
		if errors.Is(err, kind) {
			return refusals[kind]
		}
	}
	s.log.Error("token verification failed", "err", err)
	return errorf(CodeInternal, "The service could not check the token; retry later.")
}
