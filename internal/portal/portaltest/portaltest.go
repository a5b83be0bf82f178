// Package portaltest sets up what the portal's tests start from, as oob-factory leaves it: a
// factory database (SQLite and PostgreSQL) with customers, boards shipped to them and their
// activation codes, and each board's disabled enrollment in the DPS emulator. It is test
// support: no binary imports it.
package portaltest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/pgtest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/provision"
)

// SQLite returns a fresh SQLite store, closed when the test ends.
func SQLite(t testing.TB) *records.Store {
	t.Helper()
	s, err := records.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Backends runs f as subtests on a fresh store of each database the factory supports.
func Backends(t *testing.T, f func(t *testing.T, s *records.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		s, err := records.OpenPostgres(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
}

// Board is a shipped board and the code on its label.
type Board struct {
	GUID string
	Code string
	// Cert is the board's X.509 certificate and key, as its enrollment names it.
	Cert *tls.Certificate
}

// Register registers b with emu's device API by X.509, as the board does at its first boot,
// and returns the hub DPS assigned it to.
func Register(t testing.TB, emu *emulatortest.Emulator, b Board) string {
	t.Helper()
	res, err := provision.Register(context.Background(), provision.Config{
		IDScope: emu.IDScope, Endpoint: emu.Endpoint, RootCAs: emu.RootCAs, Certificate: b.Cert,
	})
	if err != nil {
		t.Fatalf("register %s: %v", b.GUID, err)
	}
	return res.AssignedHub
}

var n int

// ShipBoard records a new board shipped to customer (recorded first if it is not) with a fresh
// activation code, and its disabled enrollment in emu, as oob-factory's outbox makes it.
func ShipBoard(t testing.TB, s *records.Store, emu *emulatortest.Emulator, customer string) Board {
	t.Helper()
	ctx := context.Background()
	n++
	guid := fmt.Sprintf("0b7e2c1a-3f4d-4e5f-8a9b-%012x", time.Now().UnixNano()&0xffffffff<<8|int64(n&0xff))
	cert := emu.DeviceCertificate(t, guid)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	now := time.Now().UTC()
	if err := s.AddBoard(ctx, &records.Board{GUID: guid, KeySHA256: "k-" + guid, Certificate: certPEM, Chain: "", Serial: guid,
		Station: "line4", Line: "4", Batch: "2026-12", IssuedAt: now, NotAfter: now.AddDate(15, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	_ = s.AddCustomer(ctx, customer) // already recorded is fine
	if err := s.Ship(ctx, customer, []string{guid}, "shipping"); err != nil {
		t.Fatal(err)
	}
	code, err := label.NewCode()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetActivationCode(ctx, guid, label.CodeHash(code), "labels"); err != nil {
		t.Fatal(err)
	}
	tags, _ := json.Marshal(map[string]string{"factory": "f1", "line": "4"})
	c := emu.Client(t, dps.Options{})
	if _, err := c.CreateOrUpdateEnrollment(ctx, &dpsapi.IndividualEnrollment{
		RegistrationID: guid, DeviceID: guid,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: certPEM}},
		}},
		ProvisioningStatus: dpsapi.StatusDisabled,
		InitialTwin:        &dpsapi.InitialTwin{Tags: tags},
	}, ""); err != nil {
		t.Fatalf("pre-enroll %s: %v", guid, err)
	}
	return Board{GUID: guid, Code: code, Cert: cert}
}

// AllowHubs records customer (if it is not yet) and allows it the hubs, as `oob-factory customer
// hub add` does.
func AllowHubs(t testing.TB, s *records.Store, customer string, hubs ...string) {
	t.Helper()
	_ = s.AddCustomer(context.Background(), customer)
	for _, h := range hubs {
		if err := s.AddCustomerHub(context.Background(), customer, h, "factory"); err != nil {
			t.Fatal(err)
		}
	}
}
