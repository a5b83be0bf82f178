package tpm

import (
	"testing"

	"github.com/oobtpm/oob/internal/swtpmtest"
)

func TestSwtpmDeviceKey(t *testing.T) {
	dev, _ := openSwtpm(t)
	testDeviceKey(t, dev)
}

// TestSwtpmDeviceKeyReused checks that a second connection finds the key the first one created,
// and that tpm2-tools sees it where the docs say it is.
func TestSwtpmDeviceKeyReused(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	open := func() *TPM {
		dev, err := Open(ctxT(t), Config{Path: spec})
		if err != nil {
			t.Fatal(err)
		}
		return dev
	}
	dev := open()
	first, err := dev.DeviceKey(ctxT(t))
	_ = dev.Close() // swtpm serves one client at a time
	if err != nil {
		t.Fatal(err)
	}
	if got := string(tool(t, tcti, "tpm2_readpublic", "tpm2-tools", "-c", "0x81000101")); !containsAll(got, "ecc", "NIST p256") {
		t.Errorf("tpm2_readpublic 0x81000101 does not show a P-256 key:\n%s", got)
	}
	dev = open()
	defer dev.Close()
	again, err := dev.DeviceKey(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created() || again.Created() || !samePublic(first, again) {
		t.Errorf("created %v then %v, same key %v; want one key created once", first.Created(), again.Created(), samePublic(first, again))
	}
}
