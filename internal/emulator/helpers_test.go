package emulator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulator/datadir"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// testHost is the service host name test servers answer to and test tokens are signed for.
const testHost = "dps-test.localhost"

// testEnv is an emulator served over TLS by httptest, with a client that trusts its CA.
type testEnv struct {
	t      testing.TB
	srv    *Server
	store  *store.Store
	id     store.ServiceIdentity
	faults *Faults
	ts     *httptest.Server
	client *http.Client
	ca     *tlsca.CA
	// opts built srv; path is the store's file; served is the Server ts passes requests to.
	opts   Options
	path   string
	served atomic.Pointer[Server]
}

// newTestEnv starts an emulator with its own store in a temporary directory. opt, when set,
// adjusts the options before the server is built.
func newTestEnv(t testing.TB, opt func(*Options)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, datadir.StoreFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.Identity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	faults, err := NewFaults(FaultConfig{})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Store: st, Identity: id, HostName: testHost, Faults: faults}
	if opt != nil {
		opt(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := tlsca.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, srv: srv, store: st, id: id, faults: faults, ca: ca, opts: opts, path: filepath.Join(dir, datadir.StoreFile)}
	e.served.Store(srv)
	e.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.served.Load().ServeHTTP(w, r)
	}))
	e.ts.TLS = tlsca.TLSConfig(cert)
	e.ts.StartTLS()
	t.Cleanup(func() {
		e.ts.Close()
		e.store.Close()
	})
	e.client = &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.CertPool(), ServerName: "localhost"}, MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}
	return e
}

// restart closes the store and serves a new Server on the reopened store, as a restarted process
// would, on the same address.
func (e *testEnv) restart() { e.reopen(store.Options{}) }

// reopen closes the store, reopens it with opts and serves a new Server on it.
func (e *testEnv) reopen(opts store.Options) {
	e.t.Helper()
	if err := e.store.Close(); err != nil {
		e.t.Fatal(err)
	}
	st, err := store.Open(e.path, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.opts.Store = st
	srv, err := New(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.store, e.srv = st, srv
	e.served.Store(srv)
}

// token returns a valid service SAS token for the environment.
func (e *testEnv) token() string {
	return makeSAS(testHost, e.id.PolicyName, e.id.PolicyKey, time.Now().Add(time.Hour))
}

// makeSAS builds a SharedAccessSignature the way Microsoft's clients do.
func makeSAS(host, policy, key string, expiry time.Time) string {
	sr := url.QueryEscape(host)
	se := strconv.FormatInt(expiry.Unix(), 10)
	k, _ := base64.StdEncoding.DecodeString(key)
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte(sr + "\n" + se))
	sig := url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return "SharedAccessSignature sr=" + sr + "&sig=" + sig + "&se=" + se + "&skn=" + policy
}

// response is a reply read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errBody decodes the reply as a service error body.
func (r response) errBody(t testing.TB) dpsapi.ErrorDetails {
	t.Helper()
	var b dpsapi.ErrorDetails
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if b.TrackingID == "" || b.TimestampUTC == "" || b.Message == "" {
		t.Fatalf("error body lacks trackingId, timestampUtc or message: %s", r.body)
	}
	return b
}

// do sends a request with a valid token and api-version unless headers say otherwise (an empty
// value removes a header).
func (e *testEnv) do(method, path string, body any, headers map[string]string) response {
	e.t.Helper()
	if _, ok := headers["api-version"]; !ok {
		if bytes.ContainsRune([]byte(path), '?') {
			path += "&api-version=" + APIVersion
		} else {
			path += "?api-version=" + APIVersion
		}
	}
	h := map[string]string{"Authorization": e.token()}
	for k, v := range headers {
		if k != "api-version" {
			h[k] = v
		}
	}
	return e.send(e.client, method, path, body, h)
}

// send sends a request through client to the path (query included) with the given headers (an
// empty value sends none) and reads the reply whole.
func (e *testEnv) send(client *http.Client, method, path string, body any, headers map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// enrollment decodes a reply as an enrollment, failing unless the status is want.
func (e *testEnv) enrollment(r response, want int) dpsapi.IndividualEnrollment {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	var en dpsapi.IndividualEnrollment
	if err := json.Unmarshal(r.body, &en); err != nil {
		e.t.Fatalf("decode %s: %v", r.body, err)
	}
	return en
}

var (
	ekOnce sync.Once
	ek     []byte
)

// testEK returns a well-formed RSA-2048 EK TPM2B_PUBLIC (TCG default template), size prefix
// included, with a real modulus: the same one throughout a test run.
func testEK(t testing.TB) []byte {
	t.Helper()
	ekOnce.Do(func() { ek = ektest.New(t) })
	return ek
}

// tpmEnrollment is a minimal TPM individual enrollment body.
func tpmEnrollment(t testing.TB, id string) map[string]any {
	return map[string]any{
		"registrationId": id,
		"attestation": map[string]any{
			"type": "tpm",
			"tpm":  map[string]any{"endorsementKey": base64.StdEncoding.EncodeToString(testEK(t))},
		},
	}
}

// testClock is a clock that moves only when a test advances it, so timestamps differ exactly
// when the test says time has passed.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// useClock makes the environment's store stamp records by c: the store is reopened on it.
func (e *testEnv) useClock(c *testClock) { e.reopen(store.Options{Now: c.now}) }
