package dps

import "github.com/oobtpm/oob/pkg/retry"

// RetryPolicy bounds retries of throttled (429) and failed (5xx) requests, and of network errors
// for requests that are safe to repeat. Zero fields take DefaultRetryPolicy's values.
type RetryPolicy = retry.Policy

// DefaultRetryPolicy is five attempts, backing off from half a second to 30 s, honouring a
// Retry-After of up to five minutes (DPS's own clients clamp to the same range).
var DefaultRetryPolicy = retry.Default
