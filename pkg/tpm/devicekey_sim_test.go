//go:build cgo

package tpm

import (
	"errors"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

func TestSimulatorDeviceKey(t *testing.T) {
	testDeviceKey(t, newSim(t).open(Config{}))
}

// TestSimulatorDeviceKeyReused checks the key is created once, persisted, and the same one found
// after a reboot.
func TestSimulatorDeviceKeyReused(t *testing.T) {
	s := newSim(t)
	first, err := s.open(Config{}).DeviceKey(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created() {
		t.Error("a blank TPM's device key was not reported created")
	}
	s.reboot()
	again, err := s.open(Config{}).DeviceKey(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if again.Created() || !samePublic(first, again) {
		t.Errorf("after a reboot: created %v, same key %v; want the persisted key", again.Created(), samePublic(first, again))
	}
}

// TestSimulatorDeviceKeyOwnerPassword checks that creating the key asks for the owner password,
// and that using it afterwards does not.
func TestSimulatorDeviceKeyOwnerPassword(t *testing.T) {
	s := newSim(t)
	s.setAuth(tpm2.TPMRHOwner, "owner-pw")
	_, err := s.open(Config{}).DeviceKey(ctxT(t))
	wantAuthError(t, err, HierarchyOwner, "creating the device key: the owner hierarchy has a password")
	if _, err := s.open(Config{OwnerAuth: []byte("owner-pw")}).DeviceKey(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	testDeviceKey(t, s.open(Config{}))
}

// TestSimulatorDeviceKeyHandleTaken checks that another object at DeviceKeyHandle is neither used
// nor replaced.
func TestSimulatorDeviceKeyHandleTaken(t *testing.T) {
	s := newSim(t)
	s.persist(tpm2.TPMRHOwner, srkTemplate(), DeviceKeyHandle)
	before := s.readPublic(DeviceKeyHandle)
	_, err := s.open(Config{}).DeviceKey(ctxT(t))
	t.Log(err)
	if !errors.Is(err, ErrDeviceKeyHandleTaken) {
		t.Fatalf("got %v, want ErrDeviceKeyHandleTaken", err)
	}
	if string(s.readPublic(DeviceKeyHandle)) != string(before) {
		t.Error("the object at the device key handle was replaced")
	}
}
