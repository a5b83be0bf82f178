package dps_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/identity"
)

// benchEnrollment returns a TPM enrollment for id; every one shares an EK, which DPS allows.
func benchEnrollment(b *testing.B, id string) dps.IndividualEnrollment {
	benchEKOnce(b)
	return dps.IndividualEnrollment{
		RegistrationID: id,
		Attestation:    &dps.Attestation{Type: dps.AttestationTPM, TPM: &dps.TPMAttestation{EndorsementKey: benchEK}},
	}
}

var benchEK string

func benchEKOnce(b *testing.B) {
	if benchEK != "" {
		return
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	benchEK = base64.StdEncoding.EncodeToString(identity.StandardEK(k.N.FillBytes(make([]byte, 256))))
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
		es := make([]dps.IndividualEnrollment, batch)
		for j := range es {
			es[j] = benchEnrollment(b, fmt.Sprintf("bulk-%06d-%03d", i, j))
		}
		res, err := c.Bulk(ctx, dps.BulkCreate, es)
		if err != nil || !res.IsSuccessful {
			b.Fatalf("bulk: %v %+v", err, res)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "enrollments/s")
}
