package dps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/retry"
)

// call describes one API request.
type call struct {
	op, id  string // for messages: "get enrollment", "reg-1"
	method  string
	path    string // under the endpoint, unescaped segments already escaped
	body    []byte // nil: no body
	ifMatch string
	header  map[string]string
	// idempotent requests are also retried after network errors, which may have happened after
	// the service acted.
	idempotent bool
}

// response is a successful (2xx) answer with its body read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends c.call, retrying transient failures, and returns the first 2xx response or an error:
// an *Error for error statuses, ErrBadResponse for bodies too large to be DPS's, or the network
// or context error.
func (c *Client) do(ctx context.Context, k call) (*response, error) {
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, k)
		var wait time.Duration
		switch {
		case err == nil && resp.status >= 200 && resp.status < 300:
			return resp, nil
		case err == nil:
			apiErr := decodeError(resp.status, resp.header, resp.body)
			apiErr.Op, apiErr.ID = k.op, k.id
			if !retry.Transient(resp.status) {
				return nil, apiErr
			}
			lastErr = apiErr
			wait = c.retry.Wait(attempt, resp.header, c.now())
		case ctx.Err() != nil:
			return nil, fmt.Errorf("dps: %s: %w", k.op, ctx.Err())
		case errors.Is(err, ErrBadResponse) || !k.idempotent || retry.CertificateError(err):
			return nil, err
		default:
			lastErr = err
			wait = c.retry.Backoff(attempt)
		}
		if attempt >= c.retry.MaxAttempts {
			c.log.Warn("dps: giving up", "op", k.op, "attempts", attempt, "err", lastErr)
			return nil, lastErr
		}
		if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
			// Waiting would outlive the caller; the last error says more than a deadline would.
			return nil, fmt.Errorf("%w (not retried: the next attempt would come after the deadline)", lastErr)
		}
		c.log.Debug("dps: retrying", "op", k.op, "attempt", attempt, "wait", wait, "err", lastErr)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w (retry cancelled: %w)", lastErr, err)
		}
	}
}

// once sends one attempt. The body is rebuilt from k.body each time, so a retry sends it whole.
func (c *Client) once(ctx context.Context, k call) (*response, error) {
	u := *c.base
	u.Path = c.base.Path + k.path
	u.RawPath = ""
	u.RawQuery = url.Values{"api-version": {dpsapi.ServiceAPIVersion}}.Encode()
	var body io.Reader
	if k.body != nil {
		body = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("dps: %s: %w", k.op, err)
	}
	tok, err := c.authorization(ctx)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", tok)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if k.body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if k.ifMatch != "" {
		req.Header.Set("If-Match", k.ifMatch)
	}
	for name, v := range k.header {
		req.Header.Set(name, v)
	}
	res, err := c.http.Do(req)
	if err != nil && retry.CertificateError(err) {
		return nil, fmt.Errorf("dps: %s: the server at %s presented a certificate this client does not trust "+
			"(for the emulator, trust its CA file; behind a TLS-inspecting proxy, trust the proxy's CA): %w", k.op, c.base.Host, err)
	}
	if err != nil {
		// url.Error quotes the URL, which holds nothing secret; the token is in a header.
		return nil, fmt.Errorf("dps: %s: cannot reach %s: %w", k.op, c.base.Host, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("dps: %s: reading the response: %w", k.op, err)
	}
	if int64(len(b)) > c.maxBody {
		return nil, fmt.Errorf("%w: %s: the response is larger than %d bytes", ErrBadResponse, k.op, c.maxBody)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// decodeJSON reads a success body into v: exactly one JSON value of the expected shape and
// nothing after it, so an HTML page or a truncated body is caught here, not later.
func decodeJSON(op string, body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("%w: %s: the response is empty where DPS sends JSON; check the endpoint", ErrBadResponse, op)
	}
	// A bare null, number or string decodes into a struct without error; DPS never sends one.
	if t := bytes.TrimSpace(body); t[0] != '{' && t[0] != '[' {
		return fmt.Errorf("%w: %s: the response is not a JSON object or array; check the endpoint", ErrBadResponse, op)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: the response is not the JSON DPS sends (%v); check the endpoint", ErrBadResponse, op, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: %s: the response has data after its JSON value; check the endpoint", ErrBadResponse, op)
	}
	return nil
}

// marshal encodes a request body.
func marshal(op string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("dps: %s: encoding the request: %w", op, err)
	}
	return b, nil
}
