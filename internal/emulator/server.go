package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// Default request body limits. The service accepts individual enrollments of a few kilobytes
// (certificates included) and bulk operations of at most ten of them.
const (
	DefaultMaxBodyBytes     = 64 << 10
	DefaultMaxBulkBodyBytes = 1 << 20
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
	Store *Store
	// Identity is the service's access policy and ID scope.
	Identity ServiceIdentity
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
	// to poll again after; zero means DefaultRetryAfter.
	RetryAfter time.Duration
	// HubHostName is the IoT hub devices are assigned to when their enrollment names none; empty
	// means DefaultHubHostName.
	HubHostName string
}

// Defaults of the device registration API.
const (
	DefaultRetryAfter  = time.Second
	DefaultHubHostName = "localhost"
)

// Server is the emulated service as an http.Handler. Serve it over TLS (NewTLSConfig) for
// clients that insist on HTTPS, which all of Microsoft's do.
type Server struct {
	store     *Store
	identity  ServiceIdentity
	policyKey sas.Key
	hostName  string
	log       *slog.Logger
	faults    *Faults
	now       func() time.Time
	maxBody   int64
	maxBulk   int64

	assignDelay time.Duration
	retryAfter  time.Duration
	hubHostName string
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

		assignDelay: max(opts.AssignDelay, 0),
		retryAfter:  opts.RetryAfter,
		hubHostName: opts.HubHostName,
	}
	if s.retryAfter <= 0 {
		s.retryAfter = DefaultRetryAfter
	}
	if s.hubHostName == "" {
		s.hubHostName = DefaultHubHostName
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
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxBulk <= 0 {
		s.maxBulk = DefaultMaxBulkBodyBytes
	}
	return s, nil
}

// route is one operation of the service API (handler) or of the device API (device).
type route struct {
	name    string
	handler func(w http.ResponseWriter, r *http.Request, id string) *apiError
	id      string
	device  func(w http.ResponseWriter, r *http.Request, p devicePath) *apiError
	dev     devicePath
}

// ServeHTTP serves the service and device APIs: faults first (a throttled request is refused
// before anything else is looked at), then routing, api-version, authentication and the
// operation itself. Service operations are authenticated here with the service's policy key;
// device operations authenticate the device themselves, after checking the ID scope.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	name := "-"
	defer func() {
		s.log.Info("request",
			"method", r.Method, "path", r.URL.Path, "op", name, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond).String(), "remote", r.RemoteAddr)
	}()
	if apiErr := s.faults.apply(r.Context()); apiErr != nil {
		writeError(rec, s.now(), apiErr)
		return
	}
	rt, apiErr := s.match(r)
	if apiErr == nil {
		name = rt.name
		apiErr = s.checkAPIVersion(r, rt.device != nil)
	}
	switch {
	case apiErr != nil:
	case rt.device != nil:
		if apiErr = s.checkIDScope(rt.dev.idScope); apiErr == nil {
			apiErr = rt.device(rec, r, rt.dev)
		}
	default:
		if apiErr = s.authenticate(r); apiErr == nil {
			apiErr = rt.handler(rec, r, rt.id)
		}
	}
	if apiErr != nil {
		writeError(rec, s.now(), apiErr)
	}
}

// match finds the operation for the request's path and method.
func (s *Server) match(r *http.Request) (route, *apiError) {
	segs, ok := pathSegments(r.URL)
	if !ok {
		return route{}, errorf(CodeNotFound, "The requested resource does not exist.")
	}
	allow := func(methods ...string) *apiError { return methodNotAllowed(r, methods...) }
	switch {
	case len(segs) == 1 && segs[0] == "enrollments":
		if r.Method == http.MethodPost {
			return route{name: "enrollments.bulk", handler: s.handleBulk}, nil
		}
		return route{}, allow(http.MethodPost)
	case len(segs) == 2 && segs[0] == "enrollments" && segs[1] == "query" && r.Method == http.MethodPost:
		return route{name: "enrollments.query", handler: s.handleQuery}, nil
	case len(segs) == 2 && segs[0] == "enrollments":
		return recordRoute(r, "enrollments", segs[1], s.handleGetEnrollment, s.handlePutEnrollment, s.handleDeleteEnrollment)
	case len(segs) == 3 && segs[0] == "enrollments" && segs[2] == "attestationmechanism":
		if r.Method == http.MethodPost {
			return route{name: "enrollments.attestation", handler: s.handleAttestationMechanism, id: segs[1]}, nil
		}
		return route{}, allow(http.MethodPost)
	case len(segs) == 3 && segs[0] == "registrations" && segs[2] == "query":
		if r.Method == http.MethodPost {
			return route{name: "registrations.query", handler: s.handleGroupRegistrationQuery, id: segs[1]}, nil
		}
		return route{}, allow(http.MethodPost)
	case len(segs) == 2 && segs[0] == "registrations":
		switch r.Method {
		case http.MethodGet:
			return route{name: "registrations.get", handler: s.handleGetRegistration, id: segs[1]}, nil
		case http.MethodDelete:
			return route{name: "registrations.delete", handler: s.handleDeleteRegistration, id: segs[1]}, nil
		}
		return route{}, allow(http.MethodGet, http.MethodDelete)
	case len(segs) == 4 && segs[1] == "registrations" && segs[3] == "register":
		if r.Method == http.MethodPut {
			return route{name: "device.register", device: s.handleRegister, dev: devicePath{idScope: segs[0], registrationID: segs[2]}}, nil
		}
		return route{}, allow(http.MethodPut)
	case len(segs) == 5 && segs[1] == "registrations" && segs[3] == "operations":
		if r.Method == http.MethodGet {
			return route{name: "device.operation", device: s.handleOperation, dev: devicePath{idScope: segs[0], registrationID: segs[2], operationID: segs[4]}}, nil
		}
		return route{}, allow(http.MethodGet)
	case len(segs) >= 2 && segs[0] == "enrollmentGroups":
		return s.matchGroup(r, segs[1:])
	}
	return route{}, errorf(CodeNotFound, "The requested resource does not exist.")
}

// handlerFunc serves one service API operation on the record id.
type handlerFunc = func(w http.ResponseWriter, r *http.Request, id string) *apiError

// recordRoute routes GET, PUT and DELETE of the record id in a collection (enrollments,
// enrollmentGroups) to its handlers.
func recordRoute(r *http.Request, collection, id string, get, put, del handlerFunc) (route, *apiError) {
	switch r.Method {
	case http.MethodGet:
		return route{name: collection + ".get", handler: get, id: id}, nil
	case http.MethodPut:
		return route{name: collection + ".put", handler: put, id: id}, nil
	case http.MethodDelete:
		return route{name: collection + ".delete", handler: del, id: id}, nil
	}
	return route{}, methodNotAllowed(r, http.MethodGet, http.MethodPut, http.MethodDelete)
}

// methodNotAllowed is the reply to a method the path does not serve.
func methodNotAllowed(r *http.Request, methods ...string) *apiError {
	return errorf(CodeMethodNotAllowed, "The requested resource does not support http method '%s'. It supports %s.", r.Method, strings.Join(methods, ", "))
}

// pathSegments splits the escaped path and unescapes each segment, so an ID may carry any
// character its client percent-encoded.
func pathSegments(u *url.URL) ([]string, bool) {
	p := strings.Trim(u.EscapedPath(), "/")
	if p == "" {
		return nil, false
	}
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}

// checkAPIVersion refuses a missing or unknown api-version; the message names the version the
// service's (or, for device, the device API's) current clients send.
func (s *Server) checkAPIVersion(r *http.Request, device bool) *apiError {
	current := APIVersion
	if device {
		current = dpsapi.DeviceAPIVersion
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return errorf(CodeInvalidAPIVersion, "The api-version query parameter is required. Supported: %s.", current)
	}
	if !supportedAPIVersions[v] {
		return errorf(CodeInvalidAPIVersion, "The api-version '%s' is invalid. Supported: %s.", truncate(v), current)
	}
	return nil
}

// readBody reads a JSON request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errorf(CodeUnsupportedMediaType, "Content-Type %q is not supported: send application/json.", truncate(ct))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(CodeBodyTooLarge, "The request body is larger than %d bytes.", limit)
		}
		return nil, errorf(CodeMalformedBody, "The request body could not be read.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, errorf(CodeMalformedBody, "The request body is empty.")
	}
	return body, nil
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setETag sends the record's etag as an HTTP entity tag as well as in the body.
func setETag(w http.ResponseWriter, etag string) {
	if etag != "" {
		w.Header().Set("ETag", `"`+etag+`"`)
	}
}

// storeError maps a store failure to the error the service reports.
func (s *Server) storeError(err error, notFound *apiError) *apiError {
	switch {
	case errors.Is(err, ErrNotFound):
		return notFound
	case errors.Is(err, ErrPreconditionFailed):
		return errorf(CodePreconditionFailed, "The ETag in the If-Match header does not match the record's current ETag; read the record again and retry.")
	case errors.Is(err, ErrExists):
		return errorf(CodeConflict, "The record already exists.")
	}
	s.log.Error("store failure", "err", err)
	return errorf(CodeInternal, "The service could not complete the request; retry later.")
}

// statusRecorder remembers the status a handler sent, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
