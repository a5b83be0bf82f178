package emulator

import (
	"bytes"
	"context"
	"strings"

	"github.com/oobtpm/oob/pkg/sas"
)

// longestExpiry is the largest se that sas.ParseToken reads (twelve digits).
const longestExpiry = "999999999999"

// millisecondExpiry lets pkg/sas verify the one token form DPS accepts that sas.ParseToken
// refuses: an expiry (se) of more than twelve digits. Microsoft's Node service client
// (azure-iot-provisioning-service 1.11.2) signs Date.now(), in milliseconds, as se: a date tens of
// thousands of years away, which the service takes as it is. For such a token it returns the
// token with se replaced by longestExpiry and a signer that signs over the se that was sent, so
// sas still checks the key name, the resource and the signature of the token the client made.
// Any other token comes back unchanged, with key. Once pkg/sas reads long expiries this goes.
func millisecondExpiry(token string, key sas.Key) (string, sas.Signer) {
	if len(token) > sas.MaxTokenLen || len(token) < len(sas.Prefix) || !strings.EqualFold(token[:len(sas.Prefix)], sas.Prefix) {
		return token, key
	}
	fields := strings.Split(token[len(sas.Prefix):], "&")
	for i, f := range fields {
		se, ok := strings.CutPrefix(f, "se=")
		if !ok || len(se) <= len(longestExpiry) || strings.Trim(se, "0123456789") != "" {
			continue
		}
		fields[i] = "se=" + longestExpiry
		return token[:len(sas.Prefix)] + strings.Join(fields, "&"), sentExpirySigner{key: key, sent: se}
	}
	return token, key
}

// sentExpirySigner signs what sas asks it to, with the expiry longestExpiry put back to the one
// the client sent.
type sentExpirySigner struct {
	key  sas.Key
	sent string
}

func (s sentExpirySigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if rawResource, ok := bytes.CutSuffix(data, []byte("\n"+longestExpiry)); ok {
		data = sas.StringToSign(string(rawResource), s.sent)
	}
	return s.key.Sign(ctx, data)
}
