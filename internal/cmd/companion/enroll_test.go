package companion

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/pkg/identity"
)

func enrollCmd(ios *cli.IOStreams) command { return quiet(NewCmdEnroll(ios, nil)) }

// goodEK and goodRegID are pkg/identity's standard-ek vector: a standard-template RSA-2048 EK
// and the registration ID derived from it.
const (
	goodEK    = "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEA0ZZXPR1bj9qjfWtYZWHWwo3SfIuioZ4a6t3eph3rUEkyjVzPPxhbJAZbYrmUVB0JMuSHHUTzx2PZEKVSW0ZtY1puIWf8E0u1Cs9Z595PASa/hE4GJ71I5zjIrKpaNNLYXoKBMXzrSizRSDgmvQ70VVi7TCktBImZOyAQ+tTUaHxQfryd/0DTZKl9UI46V5Rg0EUU8M6JUIo3Nrrnti/U+Om0GCw3ozUO8ct9BZuOihfLaWw1HSx5sgtoHSzLhTsBDSjrIdTSA3ruxf/KG8uHwujWuruVYd1Htyr2+26K/CkChSj/Edu0E11qXFNcHC1sOAiqKEGEZfJBc/K44MnpKQ=="
	goodRegID = "2kl6y7cxaquk6vicrl3r4hmptd4zkstp65finor4bsgbwoeb266a"
)

// A bad identity is refused before DPS is contacted (there is no connection string, so reaching
// the service would fail differently), with the message the identity's check gives: the
// technician reads the same words whichever way the identity came.
func TestEnrollRefusesBadIdentityBeforeDPS(t *testing.T) {
	t.Setenv(dpsflags.EnvConnectionString, "")
	raw, err := base64.StdEncoding.DecodeString(goodEK)
	if err != nil {
		t.Fatal(err)
	}
	noPrefix := base64.StdEncoding.EncodeToString(raw[2:])
	const noPrefixSays = "identity: invalid endorsement key: it is a raw TPMT_PUBLIC without the 2-byte size prefix of a TPM2B_PUBLIC; " +
		"export it with `tpm2_readpublic -c 0x81010001 -o ek.pub` (tss format, the default) and base64 it"
	for _, tc := range []struct {
		name string
		args []string
		is   error
		want string
	}{
		{"truncated code", []string{"--payload", "OOB1:"}, identity.ErrMalformed,
			`identity: malformed identity code: nothing after "OOB1:": the code is truncated`},
		{"damaged code", []string{"--payload", "OOB1:M12345"}, identity.ErrMalformed,
			"identity: malformed identity code: 2-byte modulus, an RSA-2048 EK has 256"},
		{"newer format", []string{"--payload", "OOB2:M1"}, identity.ErrUnsupportedVersion,
			"identity: unsupported identity code version: format 2 was made by a newer version of the agent; update the companion"},
		{"foreign code", []string{"--payload", "WIFI:S:plant;T:WPA;P:x;;"}, identity.ErrNotIdentity,
			"identity: not a device identity code (it holds Wi-Fi network settings); scan the code on the device's screen"},
		{"tampered code", []string{"--payload", `{"regid":"dev-1","ek":"` + goodEK + `"}`}, identity.ErrTampered,
			`identity: registration ID does not match the endorsement key (corrupted or tampered code): it says "dev-1", the EK yields "` + goodRegID + `"`},
		{"code with an EK without size prefix", []string{"--payload", `{"regid":"dev-1","ek":"` + noPrefix + `"}`}, identity.ErrBadEK,
			noPrefixSays},
		{"EK without size prefix", []string{"--registration-id", "dev-1", "--endorsement-key", noPrefix}, identity.ErrBadEK,
			noPrefixSays},
		{"EK with trailing data", []string{"--registration-id", "dev-1", "--endorsement-key", "AAAA"}, identity.ErrBadEK,
			"identity: invalid endorsement key: 1 bytes follow a size prefix that announces 0: trailing data after the key"},
		{"registration ID DPS refuses", []string{"--registration-id", "Dev 1", "--endorsement-key", goodEK}, identity.ErrBadRegistrationID,
			`identity: invalid registration ID: "Dev 1" has 'D' at position 1; DPS allows lowercase letters, digits, '-', '.', '_' and ':'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, nil, enrollCmd, tc.args...)
			if !errors.Is(err, tc.is) {
				t.Errorf("enroll %s: %v, want an error wrapping %v", strings.Join(tc.args, " "), err, tc.is)
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("enroll %s:\n got %v\nwant %s", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}

// A valid identity with settings DPS would refuse is refused before DPS too.
func TestEnrollRefusesBadSettingsBeforeDPS(t *testing.T) {
	t.Setenv(dpsflags.EnvConnectionString, "")
	_, _, err := runCmd(t, nil, enrollCmd, "--payload", `{"regid":"`+goodRegID+`","ek":"`+goodEK+`"}`, "--device-id", "a/b")
	if err == nil || !strings.Contains(err.Error(), `device ID "a/b"`) {
		t.Fatalf("enroll --device-id a/b: %v, want an error about the device ID", err)
	}
	// The identity and settings are good: what is missing now is the service.
	_, _, err = runCmd(t, nil, enrollCmd, "--registration-id", "dev-1", "--endorsement-key", goodEK)
	if err == nil || !strings.Contains(err.Error(), "connection string") {
		t.Fatalf("enroll of a good identity without a connection string: %v, want the connection string's error", err)
	}
}
