package dps_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// benchEnrollment returns a TPM enrollment for id; every one shares an EK, which DPS allows.
func benchEnrollment(b *testing.B, id string) dpsapi.IndividualEnrollment {
	return *tpmEnrollment(b, id)
}

// BenchmarkEnrollOneAtATime creates enrollments one request at a time through the client, over
// TLS to the emulator on loopback, as `companion enroll` does for each device.
func BenchmarkEnrollOneAtATime(b *testing.B) {
	c := emulatortest.Start(b).Client(b, dps.Options{})
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		e := benchEnrollment(b, fmt.Sprintf("one-%08d", i))
		if _, err := c.CreateOrUpdateEnrollment(ctx, &e, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enrollments/s")
}

// BenchmarkEnrollBulk creates 100 enrollments per operation with Bulk (ten requests of ten).
func BenchmarkEnrollBulk(b *testing.B) {
	const batch = 100
	c := emulatortest.Start(b).Client(b, dps.Options{})
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		es := make([]dpsapi.IndividualEnrollment, batch)
		for j := range es {
			es[j] = benchEnrollment(b, fmt.Sprintf("bulk-%06d-%03d", i, j))
		}
		res, err := c.Bulk(ctx, dpsapi.BulkCreate, es)
		if err != nil || !res.IsSuccessful {
			b.Fatalf("bulk: %v %+v", err, res)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "enrollments/s")
}
