package provision_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/tpm"
)

// timedTPM measures the time spent inside the TPM: importing DPS's keys and signing.
type timedTPM struct {
	*tpm.Attestation
	mu    sync.Mutex
	spent time.Duration
}

func (t *timedTPM) ImportKey(ctx context.Context, blob []byte) error {
	defer t.since(time.Now())
	return t.Attestation.ImportKey(ctx, blob)
}

func (t *timedTPM) Sign(ctx context.Context, data []byte) ([]byte, error) {
	defer t.since(time.Now())
	return t.Attestation.Sign(ctx, data)
}

func (t *timedTPM) since(start time.Time) {
	t.mu.Lock()
	t.spent += time.Since(start)
	t.mu.Unlock()
}

// BenchmarkRegisterTPMSwtpm is a full TPM registration (challenge, key import, signed register,
// polls, hub key import) of a swtpm device with the emulator over TLS on loopback, split into the
// time inside the TPM and the rest (round trips and the emulator's work). DPS's waits
// (Retry-After, the assignment delay) pass on a fake clock and cost nothing here.
func BenchmarkRegisterTPMSwtpm(b *testing.B) {
	spec, _ := swtpmtest.Start(b)
	dev, err := tpm.Open(b.Context(), tpm.Config{Path: spec})
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	a, err := dev.Attestation(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	timed := &timedTPM{Attestation: a}
	e := start(b, emulatortest.Options{})
	id := identity.DeriveRegistrationID(a.EndorsementKey())
	e.enroll(b, ektest.Enrollment(id, a.EndorsementKey()))
	cfg := e.config()
	cfg.TPM = timed

	for b.Loop() {
		res, err := provision.Register(b.Context(), cfg)
		if err != nil || !res.Assigned() {
			b.Fatalf("register: %v %+v", err, res)
		}
	}
	perRun := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(b.N) }
	b.ReportMetric(perRun(b.Elapsed()), "ms/registration")
	b.ReportMetric(perRun(timed.spent), "tpm-ms/registration")
	b.ReportMetric(perRun(b.Elapsed()-timed.spent), "other-ms/registration")
	b.ReportMetric(0, "ns/op")
}
