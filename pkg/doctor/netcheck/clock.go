package netcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/oobtpm/oob/pkg/doctor"
)

// Clock skew limits. A SAS token is signed with an expiry taken from this machine's clock and
// checked against the service's. DPS and IoT Hub allow a fixed five minutes of skew ("The
// service does use a constant 5 mins to handle clock skews": Azure IoT SDK maintainers,
// github.com/Azure/azure-iot-sdk-csharp/issues/97), and pkg/sas's verifier allows the same
// (sas.DefaultSkew). Past MaxSkew tokens are refused or expire early; past WarnSkew the clock
// is plainly not synchronised and drifts towards that.
const (
	WarnSkew = time.Minute
	MaxSkew  = 5 * time.Minute
)

// Clock returns a check, named "dps.clock", of this machine's clock against the Date header of
// an HTTPS answer from t (any answer: a 404 carries the service's time too), over TLS verified
// as the TLS check does. It warns when the clocks differ by more than WarnSkew and fails past
// MaxSkew, saying whether this machine is ahead or behind and by how much. When the service
// cannot be reached the check is skipped: the TLS check says why. Callers may rename it.
func Clock(t Target) doctor.Check {
	return doctor.Check{
		Name:  "dps.clock",
		Title: "Clock against " + t.service(),
		Run: func(ctx context.Context) doctor.Finding {
			conf, _, f, ok := t.tlsConfig()
			if !ok {
				return doctor.Skipf("the CA file is unusable, so %s's time was not asked: %s", t.service(), f.Detail)
			}
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+t.Addr()+"/", nil)
			if err != nil {
				return doctor.Failf("check "+t.hostFrom(), "cannot make a request to %s: %v", t.Addr(), err)
			}
			sent := time.Now()
			resp, err := hc.Do(req)
			if err != nil {
				return doctor.Skipf("%s's time was not asked: %s could not be reached (see the TLS check)", t.service(), t.Addr())
			}
			got := time.Now()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			date, err := http.ParseTime(resp.Header.Get("Date"))
			if err != nil {
				return doctor.Warnf("compare this machine's clock with a time server (timedatectl timesync-status)",
					"%s's answer carries no usable Date header (%q), so the clocks were not compared", t.Addr(), resp.Header.Get("Date"))
			}
			// Date is truncated to the second: its middle is the best guess of the service's time
			// when it answered, and the middle of the request is this machine's.
			local := sent.Add(got.Sub(sent) / 2)
			return skewFinding(date.Add(500*time.Millisecond).Sub(local), t.service(), date)
		},
	}
}

// skewFinding judges skew, the service's time minus this machine's.
func skewFinding(skew time.Duration, service string, date time.Time) doctor.Finding {
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	if abs < 2*time.Second {
		return doctor.Okf("this machine's clock agrees with %s's to within a second or two", service)
	}
	dir := "behind"
	if skew < 0 {
		dir = "ahead of"
	}
	what := fmt.Sprintf("this machine's clock is %s %s %s (%s says %s)",
		abs.Round(time.Second), dir, service, service, date.UTC().Format(time.RFC3339))
	const fix = "synchronise the clock: timedatectl set-ntp true (or set it with timedatectl set-time), then run the doctor again"
	switch {
	case abs > MaxSkew:
		return doctor.Failf(fix, "%s: past the %s SAS tokens allow, so requests are refused", what, MaxSkew)
	case abs > WarnSkew:
		return doctor.Warnf(fix, "%s: within the %s SAS tokens allow, but the clock is not synchronised", what, MaxSkew)
	}
	return doctor.Okf("%s: well within the %s SAS tokens allow", what, MaxSkew)
}

func (t Target) service() string {
	if t.Service == "" {
		return "the service"
	}
	return t.Service
}
