package emulator

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/emulator/deviceapi"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// APIVersion is the service API version the emulator's JSON shapes follow: pkg/dps's.
const APIVersion = dpsapi.ServiceAPIVersion

// supportedAPIVersions are the stable API versions DPS answers; their enrollment shapes differ from
// 2021-10-01 only by fields a client may leave out, and the device API's shapes are the same in
// all of them (devices send 2019-03-31 or 2021-06-01).
var supportedAPIVersions = map[string]bool{
	"2017-11-15": true,
	"2018-04-01": true,
	"2019-03-31": true,
	"2021-06-01": true,
	"2021-10-01": true,
}

// Options configure a Server. Store and Identity are required; the zero value of every other
// field is a sensible default.
type Options struct {
	// Store holds the service's state.
	Store *store.Store
	// Identity is the service's access policy and ID scope.
	Identity store.ServiceIdentity
	// HostName is the service host name clients sign SAS tokens for (the connection string's
	// HostName, port included when it is not 443). Empty means "localhost".
	HostName string
	// Logger receives one line per request and start-up notes; nil discards them.
	Logger *slog.Logger
	// Faults, when set, injects throttling, unavailability and latency into the service API.
	Faults *Faults
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// MaxBodyBytes and MaxBulkBodyBytes limit request bodies; zero uses the defaults.
	MaxBodyBytes, MaxBulkBodyBytes int64

	// AssignDelay is how long a device registration stays "assigning" before DPS decides it (at the
	// device's first poll from then on); zero decides it at the first poll.
	AssignDelay time.Duration
	// RetryAfter is the Retry-After (rounded up to whole seconds) of device answers the device is
	// to poll again after; zero means deviceapi.DefaultRetryAfter, deviceapi.PollAtOnce Retry-After: 0.
	RetryAfter time.Duration
	// HubHostName is the IoT hub devices are assigned to when their enrollment names none; empty
	// means deviceapi.DefaultHubHostName.
	HubHostName string
}

// Server is the emulated service as an http.Handler. Serve it over TLS (tlsca.TLSConfig) for
// clients that insist on HTTPS, which all of Microsoft's do.
type Server struct {
	store     *store.Store
	identity  store.ServiceIdentity
	policyKey sas.Key
	hostName  string
	log       *slog.Logger
	faults    *Faults
	now       func() time.Time
	maxBody   int64
	maxBulk   int64

	// device is the device registration API the device routes lead to.
	device *deviceapi.API
	mux    *http.ServeMux
	// statusMux serves the device's status look-up, POST /{scope}/registrations/{id}, whose
	// pattern mux cannot hold beside /registrations/{id}/query (both match
	// /registrations/registrations/query).
	statusMux *http.ServeMux
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("emulator: Options.Store is required")
	}
	if opts.Identity.PolicyKey == "" {
		return nil, errors.New("emulator: Options.Identity is required (Store.Identity returns it)")
	}
	key, err := sas.ParseKey(opts.Identity.PolicyKey)
	if err != nil {
		return nil, fmt.Errorf("emulator: Options.Identity.PolicyKey: %w", err)
	}
	s := &Server{
		store:     opts.Store,
		identity:  opts.Identity,
		policyKey: key,
		hostName:  opts.HostName,
		log:       opts.Logger,
		faults:    opts.Faults,
		now:       opts.Now,
		maxBody:   opts.MaxBodyBytes,
		maxBulk:   opts.MaxBulkBodyBytes,
	}
	if s.hostName == "" {
		s.hostName = "localhost"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = httpapi.DefaultMaxBodyBytes
	}
	if s.maxBulk <= 0 {
		s.maxBulk = httpapi.DefaultMaxBulkBodyBytes
	}
	s.device = deviceapi.New(deviceapi.Config{
		Store: s.store, IDScope: s.identity.IDScope, Logger: s.log, Now: s.now, MaxBodyBytes: s.maxBody,
		AssignDelay: opts.AssignDelay, RetryAfter: opts.RetryAfter, HubHostName: opts.HubHostName,
	})
	s.mux = s.routes()
	s.statusMux = http.NewServeMux()
	s.handle(s.statusMux, "/{scope}/registrations/{id}", op{http.MethodPost, "device.status", nil, s.device.StatusLookup})
	return s, nil
}

// handlerFunc serves one service API operation on the record id.
type handlerFunc = func(w http.ResponseWriter, r *http.Request, id string) *httpapi.Error

// deviceFunc serves one device API operation on the device path.
type deviceFunc = func(w http.ResponseWriter, r *http.Request, p deviceapi.Path) *httpapi.Error

// op is one operation of the service API (handler) or of the device API (device) at a path.
type op struct {
	method  string
	name    string
	handler handlerFunc
	device  deviceFunc
}

// routes builds the API's mux. Each path registers its operations by method and a method-less
// pattern that answers DPS's 405 for the others; "/" answers DPS's 404 for unknown paths. The
// path values are the unescaped segments: id (a record or registration ID), scope (the ID scope)
// and op (the operation ID).
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteError(w, s.now(), errNotFound())
	})
	s.handle(mux, "/enrollments", op{http.MethodPost, "enrollments.bulk", s.handleBulk, nil})
	// POST /enrollments/query is the query; every other method there is the enrollment "query".
	s.handleOp(mux, "/enrollments/query", op{http.MethodPost, "enrollments.query", s.handleQuery, nil}, nil)
	s.handle(mux, "/enrollments/{id}",
		op{http.MethodGet, "enrollments.get", s.handleGetEnrollment, nil},
		op{http.MethodPut, "enrollments.put", s.handlePutEnrollment, nil},
		op{http.MethodDelete, "enrollments.delete", s.handleDeleteEnrollment, nil})
	s.handle(mux, "/enrollments/{id}/attestationmechanism",
		op{http.MethodPost, "enrollments.attestation", s.handleAttestationMechanism, nil})
	s.handleOp(mux, "/enrollmentGroups/query", op{http.MethodPost, "enrollmentGroups.query", s.handleGroupQuery, nil}, nil)
	s.handle(mux, "/enrollmentGroups/{id}",
		op{http.MethodGet, "enrollmentGroups.get", s.handleGetGroup, nil},
		op{http.MethodPut, "enrollmentGroups.put", s.handlePutGroup, nil},
		op{http.MethodDelete, "enrollmentGroups.delete", s.handleDeleteGroup, nil})
	s.handle(mux, "/enrollmentGroups/{id}/attestationmechanism",
		op{http.MethodPost, "enrollmentGroups.attestation", s.handleGroupAttestationMechanism, nil})
	s.handle(mux, "/registrations/{id}",
		op{http.MethodGet, "registrations.get", s.handleGetRegistration, nil},
		op{http.MethodDelete, "registrations.delete", s.handleDeleteRegistration, nil})
	s.handle(mux, "/registrations/{id}/query",
		op{http.MethodPost, "registrations.query", s.handleGroupRegistrationQuery, nil})
	s.handle(mux, "/{scope}/registrations/{id}/register",
		op{http.MethodPut, "device.register", nil, s.device.Register})
	s.handle(mux, "/{scope}/registrations/{id}/operations/{op}",
		op{http.MethodGet, "device.operation", nil, s.device.Operation})
	return mux
}

// handle registers ops at path and DPS's 405 for every other method there.
func (s *Server) handle(mux *http.ServeMux, path string, ops ...op) {
	allowed := make([]string, len(ops))
	for i, o := range ops {
		allowed[i] = o.method
	}
	for _, o := range ops {
		s.handleOp(mux, path, o, allowed)
	}
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		writeMethodNotAllowed(w, r, s.now(), allowed)
	})
}

// handleOp registers o at path. allowed lists the methods the path serves (nil: o's method
// only), for the 405 of a HEAD that the mux hands to a GET pattern.
func (s *Server) handleOp(mux *http.ServeMux, path string, o op, allowed []string) {
	if allowed == nil {
		allowed = []string{o.method}
	}
	mux.HandleFunc(o.method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != o.method {
			writeMethodNotAllowed(w, r, s.now(), allowed)
			return
		}
		s.serveOp(w, r, o)
	})
}

// serveOp checks the api-version and authenticates the request, then runs o: service
// operations are authenticated here with the service's policy key; device operations
// authenticate the device themselves, after checking the ID scope. r is the mux's request,
// carrying the path values; the operation sees the request as it arrived.
func (s *Server) serveOp(w http.ResponseWriter, r *http.Request, o op) {
	orig := r
	if rec, ok := w.(*statusRecorder); ok {
		rec.op = o.name
		orig = rec.req
	}
	apiErr := s.checkAPIVersion(orig, o.device != nil)
	switch {
	case apiErr != nil:
	case o.device != nil:
		p := deviceapi.Path{IDScope: r.PathValue("scope"), RegistrationID: r.PathValue("id"), OperationID: r.PathValue("op")}
		if apiErr = s.device.CheckIDScope(p.IDScope); apiErr == nil {
			apiErr = o.device(w, orig, p)
		}
	default:
		if apiErr = s.authenticate(orig); apiErr == nil {
			apiErr = o.handler(w, orig, r.PathValue("id"))
		}
	}
	if apiErr != nil {
		httpapi.WriteError(w, s.now(), apiErr)
	}
}

// ServeHTTP serves the service and device APIs: faults first (a throttled request is refused
// before anything else is looked at), then routing, api-version, authentication and the
// operation itself (serveOp).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, op: "-", req: r}
	defer func() {
		s.log.Info("request",
			"method", r.Method, "path", r.URL.Path, "op", rec.op, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond).String(), "remote", r.RemoteAddr)
	}()
	if apiErr := s.faults.apply(r.Context()); apiErr != nil {
		httpapi.WriteError(rec, s.now(), apiErr)
		return
	}
	mr, ok := routingRequest(r)
	if !ok {
		httpapi.WriteError(rec, s.now(), errNotFound())
		return
	}
	if isStatusLookup(mr) {
		s.statusMux.ServeHTTP(rec, mr)
		return
	}
	s.mux.ServeHTTP(rec, mr)
}

// isStatusLookup reports whether r's path is a device's status look-up,
// /{scope}/registrations/{id}, rather than a service path of three segments.
func isStatusLookup(r *http.Request) bool {
	segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	return len(segs) == 3 && segs[1] == "registrations" && segs[0] != "registrations"
}

// errNotFound is the reply to a path the service does not serve.
func errNotFound() *httpapi.Error {
	return httpapi.Errorf(httpapi.CodeNotFound, "The requested resource does not exist.")
}

// writeMethodNotAllowed is the reply to a method the path does not serve: DPS's error, with an
// Allow header naming the methods it does.
func writeMethodNotAllowed(w http.ResponseWriter, r *http.Request, now time.Time, methods []string) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeMethodNotAllowed, "The requested resource does not support http method '%s'. It supports %s.", r.Method, strings.Join(methods, ", ")))
}

// routingRequest is r as the mux is to see it: the path without leading or trailing slashes'
// effect and with dot segments escaped, so the mux neither redirects nor cleans it and an ID
// may carry any character its client percent-encoded. It is false for a path the service never
// serves: empty, with an empty segment or with a bad escape.
func routingRequest(r *http.Request) (*http.Request, bool) {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	if p == "" {
		return nil, false
	}
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, seg := range raw {
		v, err := url.PathUnescape(seg)
		if err != nil || v == "" {
			return nil, false
		}
		segs[i] = v
		switch seg {
		case ".":
			raw[i] = "%2E"
		case "..":
			raw[i] = "%2E%2E"
		}
	}
	escaped := "/" + strings.Join(raw, "/")
	if escaped == r.URL.EscapedPath() {
		return r, true
	}
	u := *r.URL
	u.Path, u.RawPath = "/"+strings.Join(segs, "/"), escaped
	mr := r.WithContext(r.Context())
	mr.URL = &u
	return mr, true
}

// checkAPIVersion refuses a missing or unknown api-version; the message names the version the
// service's (or, for device, the device API's) current clients send.
func (s *Server) checkAPIVersion(r *http.Request, device bool) *httpapi.Error {
	current := APIVersion
	if device {
		current = dpsapi.DeviceAPIVersion
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return httpapi.Errorf(httpapi.CodeInvalidAPIVersion, "The api-version query parameter is required. Supported: %s.", current)
	}
	if !supportedAPIVersions[v] {
		return httpapi.Errorf(httpapi.CodeInvalidAPIVersion, "The api-version '%s' is invalid. Supported: %s.", quote.Short(v), current)
	}
	return nil
}

// setETag sends the record's etag as an HTTP entity tag as well as in the body.
func setETag(w http.ResponseWriter, etag string) {
	if etag != "" {
		w.Header().Set("ETag", `"`+etag+`"`)
	}
}

// storeError maps a store failure to the error the service reports.
func (s *Server) storeError(err error, notFound *httpapi.Error) *httpapi.Error {
	return httpapi.StoreError(s.log, err, notFound)
}

// statusRecorder remembers the status a handler sent, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	// op names the operation the request was routed to ("-" for none), for the log; req is the
	// request as it arrived, for the operation.
	op  string
	req *http.Request
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
