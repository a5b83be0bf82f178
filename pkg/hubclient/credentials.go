package hubclient

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"time"

	"github.com/amenzhinsky/iothub/common"

	"github.com/oobtpm/oob/pkg/sas"
)

// signTimeout bounds one token signature made during a reconnect, when no caller's context is
// there to bound it (a TPM answers in well under a second).
const signTimeout = 30 * time.Second

// credentials implements amenzhinsky/iothub's transport.Credentials with a Signer (a TPM key, or
// a key in memory) or a certificate. Tokens are signed for "{hubHost}/devices/{deviceId}", as
// Microsoft's SDKs sign them, and reused until half their lifetime has passed.
type credentials struct {
	hubHost, deviceID string
	signer            Signer
	cert              *tls.Certificate
	lifetime          time.Duration
	now               func() time.Time

	mu      sync.Mutex
	token   string
	renewAt time.Time
	err     error // the last signing failure, for Connect to report
}

// sign makes a new token now, with ctx bounding the signer.
func (c *credentials) sign(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	tok, err := sas.NewToken(ctx, c.signer, c.hubHost+"/devices/"+c.deviceID, "", now.Add(c.lifetime))
	if err != nil {
		c.err = err
		return "", err
	}
	c.token, c.renewAt, c.err = tok, now.Add(c.lifetime/2), nil
	return tok, nil
}

// current returns the cached token, signing a new one when it is due.
func (c *credentials) current() (string, error) {
	c.mu.Lock()
	tok, due := c.token, !c.now().Before(c.renewAt)
	c.mu.Unlock()
	if tok != "" && !due {
		return tok, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	return c.sign(ctx)
}

func (c *credentials) signErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *credentials) GetDeviceID() string              { return c.deviceID }
func (c *credentials) GetHostName() string              { return c.hubHost }
func (c *credentials) GetCertificate() *tls.Certificate { return c.cert }
func (c *credentials) GetSAK() string                   { return "" }
func (c *credentials) GetModuleID() string              { return "" }
func (c *credentials) GetGenerationID() string          { return "" }
func (c *credentials) GetGateway() string               { return "" }
func (c *credentials) GetBroker() string                { return "" }
func (c *credentials) GetWorkloadURI() string           { return "" }
func (c *credentials) UseEdgeGateway() bool             { return false }

// Token is not used: the MQTT transport's password comes from the credentials provider Connect
// installs, which returns pkg/sas's token verbatim.
func (c *credentials) Token(string, time.Duration) (*common.SharedAccessSignature, error) {
	return nil, errors.New("hub: tokens are made by the credentials provider")
}

// TokenFromEdge is for IoT Edge modules, which this package does not support.
func (c *credentials) TokenFromEdge(string, string, string, string, time.Duration) (*common.SharedAccessSignature, error) {
	return nil, errors.New("hub: IoT Edge modules are not supported")
}
