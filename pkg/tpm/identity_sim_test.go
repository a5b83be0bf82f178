//go:build cgo

package tpm

import (
	"bytes"
	"testing"
)

func TestSimulatorDeviceIdentity(t *testing.T) {
	s := newSim(t)
	ctx := ctxT(t)
	dev := s.open(Config{})
	derived, err := dev.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := dev.DeviceIdentity(ctx, "", "LINE 3")
	if err != nil || id.RegistrationID != derived.RegistrationID || id.Label != "LINE 3" || !bytes.Equal(id.EndorsementKey, derived.EndorsementKey) || !id.Derived() {
		t.Fatalf("without an OEM ID: %+v %v; want the derived ID and the label", id, err)
	}
	id, err = dev.DeviceIdentity(ctx, "sensor-7", "")
	if err != nil || id.RegistrationID != "sensor-7" || id.Derived() || !bytes.Equal(id.StorageRootKey, derived.StorageRootKey) {
		t.Fatalf("with an OEM ID: %+v %v; want sensor-7 in place of the derived ID", id, err)
	}
	if _, err := dev.DeviceIdentity(ctx, "not a registration id!", ""); err == nil {
		t.Fatal("an invalid registration ID was accepted")
	}
}
