package provision

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/retry"
	"github.com/oobtpm/oob/pkg/sas"
)

// maxResponseBytes bounds a DPS answer; real ones are a few kilobytes.
const maxResponseBytes = 1 << 20

// Register registers the device with DPS and waits until DPS has decided: assigned, disabled or
// failed. With a TPM it answers DPS's challenge and, once assigned, imports the hub key. The
// context bounds the whole exchange, waits included.
func Register(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	r, err := newRegistration(cfg)
	if err != nil {
		return nil, err
	}
	defer r.http.CloseIdleConnections()
	op, err := r.submit(ctx)
	if err != nil {
		return nil, err
	}
	if op, err = r.poll(ctx, op); err != nil {
		return nil, err
	}
	res := resultOf(op, cfg.RegistrationID)
	if res.Assigned() && cfg.TPM != nil {
		if err := r.importHubKey(ctx, op); err != nil {
			return nil, err
		}
		res.HubKeyImported = true
	}
	return res, nil
}

// registration is one device's exchange with DPS.
type registration struct {
	cfg    Config
	base   *url.URL
	http   *http.Client
	body   []byte
	signer sas.Signer // signs tokens: the symmetric key, or the TPM once it holds DPS's key
	skn    string
	// polls are the times of recent status calls, for DPS's limit of 5 per 10 s.
	polls []time.Time
	// wait is what the last answer asked (Retry-After); negative when it asked nothing.
	wait time.Duration
}

func newRegistration(cfg Config) (*registration, error) {
	base, err := baseURL(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	if cfg.Certificate != nil {
		tlsConf.Certificates = []tls.Certificate{*cfg.Certificate}
	}
	r := &registration{
		cfg:  cfg,
		base: base,
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment}, Timeout: time.Minute},
		skn:  "registration",
	}
	req := dpsapi.DeviceRegistration{RegistrationID: cfg.RegistrationID, Payload: cfg.Payload}
	if cfg.TPM != nil {
		req.TPM = &dpsapi.TPMAttestation{
			EndorsementKey: base64.StdEncoding.EncodeToString(cfg.TPM.EndorsementKey()),
			StorageRootKey: base64.StdEncoding.EncodeToString(cfg.TPM.StorageRootKey()),
		}
	}
	if cfg.SymmetricKey != nil {
		r.signer = *cfg.SymmetricKey
	}
	if r.body, err = json.Marshal(req); err != nil {
		return nil, err
	}
	return r, nil
}

// submit sends the register request, answering a TPM challenge, and returns the operation.
func (r *registration) submit(ctx context.Context) (*dpsapi.RegistrationOperationStatus, error) {
	const op = "register"
	path := "/" + url.PathEscape(r.cfg.IDScope) + "/registrations/" + url.PathEscape(r.cfg.RegistrationID) + "/register"
	res, err := r.send(ctx, op, http.MethodPut, path)
	if err != nil {
		return nil, err
	}
	if res.status == http.StatusUnauthorized && r.cfg.TPM != nil && r.signer == nil {
		if err := r.answerChallenge(ctx, res); err != nil {
			return nil, err
		}
		if res, err = r.send(ctx, op, http.MethodPut, path); err != nil {
			return nil, err
		}
	}
	return r.operation(op, res)
}

// answerChallenge imports DPS's key into the TPM, which then signs the device's tokens.
func (r *registration) answerChallenge(ctx context.Context, res *response) error {
	var ch dpsapi.TPMChallenge
	if err := json.Unmarshal(res.body, &ch); err != nil || ch.AuthenticationKey == "" {
		// A 401 without a challenge: DPS will not talk to this TPM under this ID.
		return notEnrolled(r.cfg.RegistrationID, newError("register", res.status, res.body))
	}
	blob, err := base64.StdEncoding.DecodeString(ch.AuthenticationKey)
	if err != nil {
		return fmt.Errorf("%w: DPS's authenticationKey is not base64", ErrBadResponse)
	}
	r.cfg.Logger.Debug("provision: importing DPS's challenge key into the TPM", "bytes", len(blob))
	if err := r.cfg.TPM.ImportKey(ctx, blob); err != nil {
		return fmt.Errorf("%w: %w", ErrBadChallenge, err)
	}
	r.signer = r.cfg.TPM
	if ch.KeyName != "" {
		r.skn = ch.KeyName
	}
	return nil
}

// operation reads a register or poll answer.
func (r *registration) operation(op string, res *response) (*dpsapi.RegistrationOperationStatus, error) {
	switch {
	case res.status == http.StatusOK || res.status == http.StatusAccepted:
	case res.status == http.StatusUnauthorized || res.status == http.StatusNotFound:
		return nil, notEnrolled(r.cfg.RegistrationID, newError(op, res.status, res.body))
	default:
		return nil, newError(op, res.status, res.body)
	}
	var s dpsapi.RegistrationOperationStatus
	if err := json.Unmarshal(res.body, &s); err != nil {
		return nil, fmt.Errorf("%w: %s answer is not a registration operation: %v", ErrBadResponse, op, err)
	}
	if s.Status == "" {
		return nil, fmt.Errorf("%w: %s answer has no status", ErrBadResponse, op)
	}
	return &s, nil
}

// importHubKey imports the IoT Hub key DPS delivers with a TPM device's assignment.
func (r *registration) importHubKey(ctx context.Context, op *dpsapi.RegistrationOperationStatus) error {
	s := op.RegistrationState
	if s == nil || s.TPM == nil || s.TPM.AuthenticationKey == "" {
		return fmt.Errorf("%w: DPS assigned the device but sent no hub key for its TPM", ErrBadResponse)
	}
	blob, err := base64.StdEncoding.DecodeString(s.TPM.AuthenticationKey)
	if err != nil {
		return fmt.Errorf("%w: the hub key is not base64", ErrBadResponse)
	}
	if err := r.cfg.TPM.ImportKey(ctx, blob); err != nil {
		return fmt.Errorf("%w (hub key): %w", ErrBadChallenge, err)
	}
	return nil
}

// response is one answer, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send sends one request, retrying throttled and failed answers and network errors as the
// retry policy allows, and returns the first answer that is not transient.
func (r *registration) send(ctx context.Context, op, method, path string) (*response, error) {
	var last error
	for attempt := 1; ; attempt++ {
		res, err := r.once(ctx, method, path)
		var wait time.Duration
		switch {
		case err == nil && !retry.Transient(res.status):
			r.wait = -1
			if d, ok := retry.After(res.header, r.cfg.Now()); ok {
				r.wait = min(d, r.cfg.Retry.MaxRetryAfter)
			}
			return res, nil
		case err == nil:
			last = newError(op, res.status, res.body)
			wait = r.cfg.Retry.Wait(attempt, res.header, r.cfg.Now())
		case ctx.Err() != nil:
			return nil, fmt.Errorf("provision: %s: %w", op, ctx.Err())
		case retry.CertificateError(err):
			return nil, fmt.Errorf("provision: %s: DPS's TLS certificate is not trusted (pass its CA if it is a private one): %w", op, err)
		default:
			last = fmt.Errorf("provision: %s: %w", op, err)
			wait = r.cfg.Retry.Backoff(attempt)
		}
		if attempt >= r.cfg.Retry.MaxAttempts {
			return nil, fmt.Errorf("%w after %d attempts: %w", ErrUnavailable, attempt, last)
		}
		if dl, ok := ctx.Deadline(); ok && r.cfg.Now().Add(wait).After(dl) {
			return nil, fmt.Errorf("%w: %w (the next attempt would come after the deadline)", ErrUnavailable, last)
		}
		r.cfg.Logger.Info("provision: retrying", "op", op, "attempt", attempt, "wait", wait, "err", last)
		if err := r.cfg.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w: %w (retry cancelled: %w)", ErrUnavailable, last, err)
		}
	}
}

// once sends one attempt, with a fresh token when the device signs one.
func (r *registration) once(ctx context.Context, method, path string) (*response, error) {
	// path is escaped segment by segment; Path gets it unescaped and RawPath keeps the escaping,
	// so that an escaped '/' in an operation ID stays one segment.
	u := *r.base
	u.RawPath = r.base.EscapedPath() + path
	var err error
	if u.Path, err = url.PathUnescape(u.RawPath); err != nil {
		return nil, err
	}
	u.RawQuery = url.Values{"api-version": {dpsapi.DeviceAPIVersion}}.Encode()
	var body io.Reader
	if method == http.MethodPut || method == http.MethodPost {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if r.signer != nil {
		tok, err := sas.NewToken(ctx, r.signer, r.cfg.IDScope+"/registrations/"+r.cfg.RegistrationID, r.skn, r.cfg.Now().Add(r.cfg.TokenLifetime))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", tok)
	}
	res, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("%w: answer larger than %d bytes", ErrBadResponse, maxResponseBytes)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}
