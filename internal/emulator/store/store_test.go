package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// testRecord returns a valid symmetric-key enrollment for id, as the service API hands it to the
// store: validated, with fresh keys and the service's defaults.
func testRecord(id string) *dpsapi.IndividualEnrollment {
	key := func() string {
		var b [64]byte
		_, _ = rand.Read(b[:])
		return base64.StdEncoding.EncodeToString(b[:])
	}
	return &dpsapi.IndividualEnrollment{
		RegistrationID: id,
		Attestation: &dpsapi.Attestation{
			Type:         dpsapi.AttestationSymmetricKey,
			SymmetricKey: &dpsapi.SymmetricKeyAttestation{PrimaryKey: key(), SecondaryKey: key()},
		},
		ProvisioningStatus: dpsapi.StatusEnabled,
		Capabilities:       &dpsapi.Capabilities{},
		ReprovisionPolicy:  &dpsapi.ReprovisionPolicy{UpdateHubAssignment: true, MigrateDeviceData: true},
	}
}

func TestStoreReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "emulator.db")
	ctx := context.Background()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := s.Identity(ctx)
	put, err := s.PutEnrollment(ctx, testRecord("keep-me"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRegistrationState(ctx, dpsapi.DeviceRegistrationState{RegistrationID: "keep-me", Status: "assigned"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id2, _ := s.Identity(ctx)
	if id1 != id2 {
		t.Fatalf("identity changed across reopen: %+v → %+v", id1, id2)
	}
	got, err := s.GetEnrollment(ctx, "keep-me")
	if err != nil || got.ETag != put.ETag || got.Attestation.SymmetricKey.PrimaryKey != put.Attestation.SymmetricKey.PrimaryKey {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if got.RegistrationState == nil || got.RegistrationState.Status != "assigned" {
		t.Fatalf("registration state lost: %+v", got.RegistrationState)
	}
	if _, err := s.PutEnrollment(ctx, testRecord("keep-me"), "wrong"); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale etag: %v", err)
	}
}

// TestStoreSurvivesKill writes through the store in a child process that then kills itself with
// SIGKILL, never closing the store, and checks that every write it acknowledged is there.
func TestStoreSurvivesKill(t *testing.T) {
	if path := os.Getenv("EMULATOR_CRASH_STORE"); path != "" {
		crashWriter(path)
		return
	}
	path := filepath.Join(t.TempDir(), "emulator.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreSurvivesKill$")
	cmd.Env = append(os.Environ(), "EMULATOR_CRASH_STORE="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	page, next, err := s.QueryEnrollments(context.Background(), "", 1000)
	if err != nil || next != "" || len(page) != 50 {
		t.Fatalf("after kill: %d enrollments, next %q, %v", len(page), next, err)
	}
}

// crashWriter is the child of TestStoreSurvivesKill.
func crashWriter(path string) {
	s, err := Open(path, Options{})
	if err != nil {
		os.Exit(3)
	}
	for i := range 50 {
		if _, err := s.PutEnrollment(context.Background(), testRecord(fmt.Sprintf("crash-%02d", i)), ""); err != nil {
			os.Exit(4)
		}
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
