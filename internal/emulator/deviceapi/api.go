// Package deviceapi is the emulated DPS's device registration API (2019-03-31, 2021-06-01):
// devices register, poll their operations and look up their registration's status, proving themselves by TPM (a challenge sealed with
// pkg/dpsblob), by a SAS token signed with an enrollment's symmetric key, or by their TLS client
// certificate, through an individual enrollment or an enrollment group; the decision assigns them
// to an IoT hub from the enrollment as it is then and records their registration state.
package deviceapi

import (
	"log/slog"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/internal/emulator/store"
)

// Defaults of the device registration API.
const (
	DefaultRetryAfter  = time.Second
	DefaultHubHostName = "localhost"
	// PollAtOnce, as Config.RetryAfter, answers Retry-After: 0: the device polls again at once.
	PollAtOnce time.Duration = -1
)

// Config configures an API. Store, IDScope, Logger, Now and MaxBodyBytes are required (the
// server routing to the API passes its own); the zero value of every other field is a sensible
// default.
type Config struct {
	// Store holds the enrollments devices register against, and their operations.
	Store *store.Store
	// IDScope is the scope devices register under.
	IDScope string
	// Logger receives a line per registration step.
	Logger *slog.Logger
	// Now is the clock operations are timed and tokens checked by.
	Now func() time.Time
	// MaxBodyBytes limits request bodies.
	MaxBodyBytes int64
	// AssignDelay is how long a device registration stays "assigning" before DPS decides it (at the
	// device's first poll from then on); zero decides it at the first poll.
	AssignDelay time.Duration
	// RetryAfter is the Retry-After (rounded up to whole seconds) of answers the device is to poll
	// again after; zero means DefaultRetryAfter, PollAtOnce (any negative) Retry-After: 0.
	RetryAfter time.Duration
	// HubHostName is the IoT hub devices are assigned to when their enrollment names none; empty
	// means DefaultHubHostName.
	HubHostName string
}

// API is DPS's device registration API: its operations, for a server to route to once it has
// checked the request's api-version and, with CheckIDScope, its ID scope.
type API struct {
	store       *store.Store
	idScope     string
	log         *slog.Logger
	now         func() time.Time
	maxBody     int64
	assignDelay time.Duration
	retryAfter  time.Duration
	hubHostName string
}

// New returns the API for c.
func New(c Config) *API {
	s := &API{
		store:       c.Store,
		idScope:     c.IDScope,
		log:         c.Logger,
		now:         c.Now,
		maxBody:     c.MaxBodyBytes,
		assignDelay: max(c.AssignDelay, 0),
		retryAfter:  c.RetryAfter,
		hubHostName: c.HubHostName,
	}
	switch {
	case s.retryAfter == 0:
		s.retryAfter = DefaultRetryAfter
	case s.retryAfter < 0:
		s.retryAfter = 0
	}
	if s.hubHostName == "" {
		s.hubHostName = DefaultHubHostName
	}
	return s
}

// Path is what a device API path names: /{IDScope}/registrations/{RegistrationID}/register, or
// …/operations/{OperationID} for a poll. The values are unescaped.
type Path struct {
	IDScope        string
	RegistrationID string
	OperationID    string
}

// storeError maps a store failure to the error the service reports.
func (s *API) storeError(err error, notFound *httpapi.Error) *httpapi.Error {
	return httpapi.StoreError(s.log, err, notFound)
}

// CheckIDScope refuses a device request under another DPS instance's ID scope. The service
// answers it as it answers a device it does not know: 401, so that a device learns nothing about
// other instances.
func (s *API) CheckIDScope(scope string) *httpapi.Error {
	if !strings.EqualFold(scope, s.idScope) {
		return httpapi.Errorf(httpapi.CodeUnauthorized, "Unauthorized: ID scope %q is not this service's; copy the ID scope from the DPS instance's overview.", quote.Short(scope))
	}
	return nil
}
