package stack

import (
	"net/http"
	"time"
)

// dateHeader sets every answer's Date header from the emulator's clock, which net/http would
// otherwise take from the system's: a client comparing its clock with the service's (a doctor's
// clock check) then sees the emulator's, shifted by Config.ClockOffset when it is set.
func dateHeader(h http.Handler, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", now().UTC().Format(http.TimeFormat))
		h.ServeHTTP(w, r)
	})
}
