package tpm

import (
	"errors"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/swtpmtest"
)

// TestSwtpmInspect reads swtpm's properties and persistent objects as the doctor does, and
// checks that nothing was created by looking.
func TestSwtpmInspect(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	ctx := ctxT(t)
	dev, err := Open(ctx, Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	info, err := dev.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// tpm2_getcap properties-fixed prints the same values; swtpm is IBM's reference TPM.
	if info.Family != "2.0" || info.Manufacturer != "IBM" || info.Revision < 100 ||
		!info.OwnerEnabled || !info.EndorsementEnabled || info.OwnerAuthSet || info.InLockout {
		t.Errorf("info %+v", info)
	}
	ek, err := dev.PersistedEK(ctx)
	if err != nil || len(ek) == 0 {
		t.Fatalf("PersistedEK: %d bytes, %v", len(ek), err)
	}
	srk, _, err := dev.PersistedSRK(ctx)
	if err != nil || srk != nil {
		t.Fatalf("PersistedSRK on a fresh swtpm: %d bytes, %v", len(srk), err)
	}
	if err := dev.CheckDPSKey(ctx); !errors.Is(err, ErrNoDPSKey) {
		t.Fatalf("CheckDPSKey on a fresh swtpm: %v", err)
	}
	if has, err := dev.HasDeviceKey(ctx); err != nil || has {
		t.Fatalf("HasDeviceKey on a fresh swtpm: %v, %v", has, err)
	}
	if _, err := dev.StorageRootKey(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.DeviceKey(ctx); err != nil {
		t.Fatal(err)
	}
	if has, err := dev.HasDeviceKey(ctx); err != nil || !has {
		t.Fatalf("HasDeviceKey after DeviceKey: %v, %v", has, err)
	}
	srk, standard, err := dev.PersistedSRK(ctx)
	if err != nil || srk == nil || !standard {
		t.Fatalf("PersistedSRK after creating it: %d bytes, standard %v, %v", len(srk), standard, err)
	}
	dev.Close()

	// A storage key of another template at the SRK's handle: still a storage key, not the standard one.
	tool(t, tcti, "tpm2_evictcontrol", "tpm2-tools", "-C", "o", "-c", "0x81000001")
	ctxFile := t.TempDir() + "/srk.ctx"
	tool(t, tcti, "tpm2_createprimary", "tpm2-tools", "-C", "o", "-G", "rsa2048:aes256cfb", "-c", ctxFile)
	tool(t, tcti, "tpm2_evictcontrol", "tpm2-tools", "-C", "o", "-c", ctxFile, "0x81000001")
	// swtpm has no resource manager: the transient copy stays loaded until flushed.
	tool(t, tcti, "tpm2_flushcontext", "tpm2-tools", "-t")
	// An RSA signing key where the DPS key belongs.
	sign := t.TempDir() + "/sign.ctx"
	tool(t, tcti, "tpm2_createprimary", "tpm2-tools", "-C", "o", "-G", "rsa2048", "-a",
		"fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign", "-c", sign)
	tool(t, tcti, "tpm2_evictcontrol", "tpm2-tools", "-C", "o", "-c", sign, "0x81000100")

	dev, err = Open(ctx, Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	srk, standard, err = dev.PersistedSRK(ctx)
	if err != nil || srk == nil || standard {
		t.Errorf("PersistedSRK of an AES-256 SRK: %d bytes, standard %v, %v", len(srk), standard, err)
	}
	if err := dev.CheckDPSKey(ctx); !errors.Is(err, ErrDPSHandleTaken) || !strings.Contains(err.Error(), "tpm2_evictcontrol") {
		t.Errorf("CheckDPSKey with a signing key there: %v", err)
	}
}
