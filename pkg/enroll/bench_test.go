package enroll_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
)

// BenchmarkEnrollNewDevice is `companion enroll` for a new device, against the emulator over
// TLS: check (404), create-only bulk, read back.
func BenchmarkEnrollNewDevice(b *testing.B) {
	c := emulatortest.Start(b).Client(b, dps.Options{})
	ctx := context.Background()
	ek := ektest.New(b)
	for i := 0; b.Loop(); i++ {
		id := ektest.Verify(b, identity.Identity{RegistrationID: fmt.Sprintf("bench-%08d", i), EndorsementKey: ek})
		res, err := enroll.Enroll(ctx, c, id, enroll.Settings{}, enroll.Options{})
		if err != nil || res.Outcome != enroll.Created {
			b.Fatalf("enroll: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "devices/s")
}
