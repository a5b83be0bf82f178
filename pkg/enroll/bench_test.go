package enroll_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
)

// BenchmarkEnrollNewDevice is `companion enroll` for a new device, against the emulator over
// TLS: check (404), create-only bulk, read back.
func BenchmarkEnrollNewDevice(b *testing.B) {
	c := emulatortest.Start(b).Client(b, dps.Options{})
	ctx := context.Background()
	base := newIdentity(b)
	for i := 0; b.Loop(); i++ {
		id := base
		id.RegistrationID = fmt.Sprintf("bench-%08d", i)
		res, err := enroll.Enroll(ctx, c, id, enroll.Settings{}, enroll.Options{})
		if err != nil || res.Outcome != enroll.Created {
			b.Fatalf("enroll: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "devices/s")
}
