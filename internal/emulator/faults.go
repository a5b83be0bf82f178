package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
)

// FaultConfig is the misbehaviour the emulator injects into the service API, for tests and demos
// of a client's resilience. Each rule is off at its zero value. A request is first delayed (Latency
// plus up to LatencyJitter), then refused with 503 if an unavailability rule fires, else with 429
// if a throttling rule fires; both refusals carry a Retry-After header of RetryAfter.
type FaultConfig struct {
	// ThrottleEvery refuses every Nth request with 429.
	ThrottleEvery int `json:"throttleEvery,omitempty"`
	// ThrottleProbability refuses each request with 429 with this probability (0 to 1).
	ThrottleProbability float64 `json:"throttleProbability,omitempty"`
	// ThrottleFor refuses every request with 429 for this long after the configuration is set.
	ThrottleFor Duration `json:"throttleFor,omitempty"`
	// UnavailableEvery refuses every Nth request with 503.
	UnavailableEvery int `json:"unavailableEvery,omitempty"`
	// UnavailableProbability refuses each request with 503 with this probability (0 to 1).
	UnavailableProbability float64 `json:"unavailableProbability,omitempty"`
	// UnavailableFor refuses every request with 503 for this long after the configuration is set.
	UnavailableFor Duration `json:"unavailableFor,omitempty"`
	// RetryAfter is the wait refusals ask for, rounded up to whole seconds; zero means one second.
	RetryAfter Duration `json:"retryAfter,omitempty"`
	// Latency delays every request by this much.
	Latency Duration `json:"latency,omitempty"`
	// LatencyJitter adds up to this much more delay, uniformly distributed.
	LatencyJitter Duration `json:"latencyJitter,omitempty"`
}

// Validate reports a configuration that cannot be applied.
func (c FaultConfig) Validate() error {
	switch {
	case c.ThrottleEvery < 0 || c.UnavailableEvery < 0:
		return errors.New("emulator: fault counts must not be negative")
	case c.ThrottleProbability < 0 || c.ThrottleProbability > 1 || c.UnavailableProbability < 0 || c.UnavailableProbability > 1:
		return errors.New("emulator: fault probabilities must be between 0 and 1")
	case c.ThrottleFor < 0 || c.UnavailableFor < 0 || c.RetryAfter < 0 || c.Latency < 0 || c.LatencyJitter < 0:
		return errors.New("emulator: fault durations must not be negative")
	}
	return nil
}

// FaultStatus is the fault configuration in force and when its timed rules end.
type FaultStatus struct {
	Config           FaultConfig `json:"config"`
	ThrottleUntil    string      `json:"throttleUntil,omitempty"`
	UnavailableUntil string      `json:"unavailableUntil,omitempty"`
	// Requests is how many requests the rules have seen since the configuration was set.
	Requests int64 `json:"requests"`
}

// Faults holds the fault configuration in force; it is safe for concurrent use and may be
// changed while the server runs (the admin endpoint does). A nil *Faults injects nothing.
type Faults struct {
	mu               sync.Mutex
	cfg              FaultConfig
	throttleUntil    time.Time
	unavailableUntil time.Time
	count            int64
	rng              *rand.Rand
	now              func() time.Time
}

// NewFaults returns Faults with cfg in force.
func NewFaults(cfg FaultConfig) (*Faults, error) {
	f := &Faults{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), now: time.Now}
	if err := f.Set(cfg); err != nil {
		return nil, err
	}
	return f, nil
}

// Set replaces the configuration; timed rules start now and the request count restarts.
func (f *Faults) Set(cfg FaultConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	f.cfg = cfg
	f.count = 0
	f.throttleUntil, f.unavailableUntil = time.Time{}, time.Time{}
	if cfg.ThrottleFor > 0 {
		f.throttleUntil = now.Add(time.Duration(cfg.ThrottleFor))
	}
	if cfg.UnavailableFor > 0 {
		f.unavailableUntil = now.Add(time.Duration(cfg.UnavailableFor))
	}
	return nil
}

// Status returns the configuration in force.
func (f *Faults) Status() FaultStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := FaultStatus{Config: f.cfg, Requests: f.count}
	if !f.throttleUntil.IsZero() {
		st.ThrottleUntil = httpapi.FormatTime(f.throttleUntil)
	}
	if !f.unavailableUntil.IsZero() {
		st.UnavailableUntil = httpapi.FormatTime(f.unavailableUntil)
	}
	return st
}

// apply decides this request's fate, sleeps its latency (or until ctx ends) and returns the
// refusal to send, if any.
func (f *Faults) apply(ctx context.Context) *httpapi.Error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	f.count++
	n, c, now := f.count, f.cfg, f.now()
	delay := time.Duration(c.Latency)
	if c.LatencyJitter > 0 {
		delay += time.Duration(f.rng.Int64N(int64(c.LatencyJitter) + 1))
	}
	unavailable := now.Before(f.unavailableUntil) ||
		(c.UnavailableEvery > 0 && n%int64(c.UnavailableEvery) == 0) ||
		(c.UnavailableProbability > 0 && f.rng.Float64() < c.UnavailableProbability)
	throttled := now.Before(f.throttleUntil) ||
		(c.ThrottleEvery > 0 && n%int64(c.ThrottleEvery) == 0) ||
		(c.ThrottleProbability > 0 && f.rng.Float64() < c.ThrottleProbability)
	f.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	retry := time.Duration(c.RetryAfter)
	if retry <= 0 {
		retry = time.Second
	}
	switch {
	case unavailable:
		e := httpapi.Errorf(httpapi.CodeUnavailable, "The service is temporarily unavailable; retry after the Retry-After interval.")
		e.RetryAfter = retry
		return e
	case throttled:
		e := httpapi.Errorf(httpapi.CodeThrottled, "The request was throttled; retry after the Retry-After interval.")
		e.RetryAfter = retry
		return e
	}
	return nil
}

// Duration is a time.Duration written in JSON as Go duration text ("1.5s", "250ms").
type Duration time.Duration

// MarshalJSON writes d as duration text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads duration text, or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("emulator: duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("emulator: duration must be text like \"1.5s\" or a number of seconds")
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}
