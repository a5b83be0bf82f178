//go:build cgo

package tpm

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

func TestSimulatorDPSKey(t *testing.T) {
	testDPSKey(t, newSim(t).open(Config{}))
}

// TestSimulatorDPSKeySurvivesReboot checks the key is persisted, not merely loaded.
func TestSimulatorDPSKeySurvivesReboot(t *testing.T) {
	s := newSim(t)
	dev := s.open(Config{})
	id, err := dev.Identity(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	key := newHMACKey(t)
	if err := dev.ImportDPSKey(ctxT(t), buildBlob(t, id.EndorsementKey, id.StorageRootKey, key)); err != nil {
		t.Fatal(err)
	}
	s.reboot()
	checkSigns(t, s.open(Config{}), key)
}

// TestSimulatorDPSKeyPasswords checks that the hierarchy passwords are asked for where they are
// needed: the endorsement hierarchy's to use the EK, the owner's to persist the key.
func TestSimulatorDPSKeyPasswords(t *testing.T) {
	s := newSim(t)
	ctx := ctxT(t)
	id, err := s.open(Config{}).Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.setAuth(tpm2.TPMRHEndorsement, "endorse-pw")
	s.setAuth(tpm2.TPMRHOwner, "owner-pw")
	blob := buildBlob(t, id.EndorsementKey, id.StorageRootKey, newHMACKey(t))

	err = s.open(Config{OwnerAuth: []byte("owner-pw")}).ImportDPSKey(ctx, blob)
	wantAuthError(t, err, HierarchyEndorsement, "authorizing use of the endorsement key: the endorsement hierarchy has a password")
	err = s.open(Config{EndorsementAuth: []byte("endorse-pw")}).ImportDPSKey(ctx, blob)
	wantAuthError(t, err, HierarchyOwner, "persisting the DPS key at 0x81000100: the owner hierarchy has a password")
	dev := s.open(Config{EndorsementAuth: []byte("endorse-pw"), OwnerAuth: []byte("owner-pw")})
	if hs := persistentHandles(t, dev); len(hs) != 2 {
		t.Errorf("persistent handles %x after refused imports, want only the EK and SRK", hs)
	}
	checkNothingLoaded(t, dev)
	if err := dev.ImportDPSKey(ctx, blob); err != nil {
		t.Fatalf("with both passwords: %v", err)
	}
}

// TestSimulatorDPSHandleTaken checks that an object someone else persisted at DPSKeyHandle is
// neither used to sign nor evicted.
func TestSimulatorDPSHandleTaken(t *testing.T) {
	s := newSim(t)
	s.persist(tpm2.TPMRHOwner, srkTemplate(), DPSKeyHandle)
	before := s.readPublic(DPSKeyHandle)
	dev := s.open(Config{})
	id, err := dev.Identity(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.SignHMAC(ctxT(t), []byte("sr\nse")); !errors.Is(err, ErrDPSHandleTaken) {
		t.Errorf("SignHMAC: got %v, want ErrDPSHandleTaken", err)
	}
	err = dev.ImportDPSKey(ctxT(t), buildBlob(t, id.EndorsementKey, id.StorageRootKey, newHMACKey(t)))
	t.Log(err)
	if !errors.Is(err, ErrDPSHandleTaken) {
		t.Fatalf("ImportDPSKey: got %v, want ErrDPSHandleTaken", err)
	}
	if got := s.readPublic(DPSKeyHandle); string(got) != string(before) {
		t.Errorf("the object at 0x81000100 was replaced")
	}
	checkNothingLoaded(t, dev)
}

// failingTransport is the simulator answering TPM2_ActivateCredential with TPM_RC_FAILURE, as
// libtpms does when the blob's seed does not decrypt, and TPM2_GetRandom too when failureMode is
// set, as a TPM really in failure mode does.
type failingTransport struct {
	simTransport
	failureMode bool
}

func (f failingTransport) Send(cmd []byte) ([]byte, error) {
	cc := tpm2.TPMCC(binary.BigEndian.Uint32(cmd[6:10]))
	if cc == tpm2.TPMCCActivateCredential || (f.failureMode && cc == tpm2.TPMCCGetRandom) {
		return rc(tpm2.TPMRCFailure), nil
	}
	return f.simTransport.Send(cmd)
}

// TestSimulatorDPSKeyFailureMode checks that TPM_RC_FAILURE is blamed on the blob only when the
// TPM still works: telling the user of a broken TPM to register again would send them in circles.
func TestSimulatorDPSKeyFailureMode(t *testing.T) {
	for _, tc := range []struct {
		name        string
		failureMode bool
		blob        bool
	}{
		{name: "TPM still working", blob: true},
		{name: "TPM in failure mode", failureMode: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t)
			id, err := s.open(Config{}).Identity(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			dev, err := Open(ctxT(t), Config{Transport: failingTransport{simTransport{s}, tc.failureMode}})
			if err != nil {
				t.Fatal(err)
			}
			err = dev.ImportDPSKey(ctxT(t), buildBlob(t, id.EndorsementKey, id.StorageRootKey, newHMACKey(t)))
			t.Log(err)
			if !errors.Is(err, tpm2.TPMRCFailure) || errors.Is(err, ErrBlobNotForThisTPM) != tc.blob {
				t.Errorf("got %v; want TPM_RC_FAILURE, blamed on the blob: %v", err, tc.blob)
			}
			checkNothingLoaded(t, dev)
		})
	}
}
