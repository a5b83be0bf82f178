package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/esttest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/devicecert"
	"github.com/oobtpm/oob/pkg/est"
	"github.com/oobtpm/oob/pkg/keyfile"
	"github.com/oobtpm/oob/pkg/tpm"
)

const boardGUID = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

func TestCertifyFlags(t *testing.T) {
	const factory = "https://factory.local:8443"
	for _, tc := range []struct {
		name    string
		args    []string
		token   bool // OOB_STATION_TOKEN set
		wantErr string
		check   func(*testing.T, *CertifyOptions)
	}{
		{name: "defaults", args: []string{"--factory", factory}, token: true, check: func(t *testing.T, o *CertifyOptions) {
			if o.Key != devicecert.KeyAuto || o.HardwareIDFile != devicecert.DefaultHardwareIDFile || o.HardwareID != "" ||
				o.StateDir != "/var/lib/oob" || o.TPM.Spec != "/dev/tpmrm0" || o.Format.Value != cli.FormatText {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{name: "GUID lower-cased", args: []string{"--factory", factory, "--token-file", "t", "--hardware-id", strings.ToUpper(boardGUID), "--key", "file", "--format", "json"},
			check: func(t *testing.T, o *CertifyOptions) {
				if o.HardwareID != boardGUID || o.Key != devicecert.KeyFile || o.TokenFile != "t" || o.Format.Value != cli.FormatJSON {
					t.Errorf("options: %+v", o)
				}
			}},
		{name: "no factory", token: true, wantErr: "--factory https://HOST[:PORT]"},
		{name: "plain HTTP", args: []string{"--factory", "http://factory.local"}, token: true, wantErr: "EST needs TLS"},
		{name: "wrong GUID form", args: []string{"--factory", factory, "--hardware-id", "0b7e2c1a3f4d4e5f8a9b0c1d2e3f4a5b"}, token: true, wantErr: "8-4-4-4-12"},
		{name: "two GUID sources", args: []string{"--factory", factory, "--hardware-id", boardGUID, "--hardware-id-file", "f"}, token: true, wantErr: "not both"},
		{name: "no token", args: []string{"--factory", factory}, wantErr: "--token-file FILE (mode 0600) or OOB_STATION_TOKEN"},
		{name: "unknown key", args: []string{"--factory", factory, "--key", "hsm"}, token: true, wantErr: `--key "hsm"`},
		{name: "tpm with a key file", args: []string{"--factory", factory, "--key", "file", "--tpm", "tcp://127.0.0.1:1"}, token: true, wantErr: "--tpm applies to a key in the TPM"},
		{name: "token on argv", args: []string{"--factory", factory, "--token", "secret"}, token: true, wantErr: "--token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setToken(t, tc.token)
			if got := parseFlags(t, NewCmdCertify, tc.args, tc.wantErr); got != nil {
				tc.check(t, got)
			}
		})
	}
}

// setToken sets OOB_STATION_TOKEN for the test, or makes sure it is unset.
func setToken(t *testing.T, set bool) {
	t.Helper()
	t.Setenv(envStationToken, "from-env")
	if !set {
		os.Unsetenv(envStationToken)
	}
}

// certifyCmd runs `oob-agent certify` through the agent's own command tree, as the program does,
// and returns the exit code, standard output and standard error.
func certifyCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := cli.Test(strings.NewReader(""), &out, &errOut)
	root := NewRootCmd(ios, "test")
	root.SetArgs(append([]string{"certify"}, args...))
	code := cli.ExitCode(root.ExecuteContext(context.Background()), &errOut)
	return code, out.String(), errOut.String()
}

// board is a board's files for the end-to-end tests: a DMI stand-in holding its GUID as
// firmware writes it (upper case), and a state directory.
type board struct {
	idFile, state string
}

func newBoard(t *testing.T, guid string) board {
	t.Helper()
	dir := t.TempDir()
	b := board{idFile: filepath.Join(dir, "product_uuid"), state: filepath.Join(dir, "state")}
	if err := os.WriteFile(b.idFile, []byte(strings.ToUpper(guid)+"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b board) args(srv *esttest.Server, extra ...string) []string {
	return append([]string{"--factory", srv.URL, "--ca-file", srv.CAFile, "--token-file", srv.TokenFile,
		"--hardware-id-file", b.idFile, "--state-dir", b.state, "--format", "json"}, extra...)
}

// certified runs certify expecting success and returns its JSON answer.
func certified(t *testing.T, args ...string) certifyJSON {
	t.Helper()
	setToken(t, false)
	code, out, errOut := certifyCmd(t, args...)
	if code != cli.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got certifyJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	return got
}

// storedLeafKey returns the public key the stored chain certifies, checking its name.
func storedLeafKey(t *testing.T, b board) *ecdsa.PublicKey {
	t.Helper()
	pemChain, err := os.ReadFile(devicecert.ChainPath(b.state))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := est.ParsePEM(pemChain)
	if err != nil || len(chain) != 3 || chain[0].Subject.CommonName != boardGUID {
		t.Fatalf("stored chain: %d certificates, %v", len(chain), err)
	}
	return chain[0].PublicKey.(*ecdsa.PublicKey)
}

func TestCertifyFileKeyEndToEnd(t *testing.T) {
	srv := esttest.Start(t)
	b := newBoard(t, boardGUID)
	first := certified(t, b.args(srv, "--key", "file")...)
	if first.HardwareID != boardGUID || first.Key != "file" || !first.KeyCreated || first.Unchanged ||
		first.ChainFile != devicecert.ChainPath(b.state) || first.KeyFile != devicecert.KeyPath(b.state) {
		t.Fatalf("first run: %+v", first)
	}
	info, err := os.Stat(first.KeyFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	key, err := keyfile.Read(first.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !storedLeafKey(t, b).Equal(key.Public()) {
		t.Error("the stored certificate is not the key file's")
	}

	again := certified(t, b.args(srv)...) // auto: the key file exists, so it is the key
	if again.KeyCreated || again.Key != "file" || !again.Unchanged || again.Serial != first.Serial {
		t.Errorf("second run: %+v; want the same key and certificate", again)
	}

	// The text form says where the chain is.
	code, out, errOut := certifyCmd(t, b.args(srv, "--format", "text")...)
	if code != cli.ExitOK || !strings.Contains(out, "Chain stored in:  "+first.ChainFile) || !strings.Contains(out, boardGUID) {
		t.Errorf("text output: exit %d\n%s%s", code, out, errOut)
	}
}

// TestCertifyWithoutTPM checks that a board without a TPM gets a key file by default, and that
// asking for the TPM there says what to do instead.
func TestCertifyWithoutTPM(t *testing.T) {
	srv := esttest.Start(t)
	b := newBoard(t, boardGUID)
	noTPM := filepath.Join(t.TempDir(), "tpmrm0")
	setToken(t, false)
	code, out, errOut := certifyCmd(t, b.args(srv, "--key", "tpm", "--tpm", noTPM)...)
	if code != cli.ExitError || out != "" || !strings.Contains(errOut, "--key file") {
		t.Errorf("--key tpm without a TPM: exit %d, stdout %q, stderr %q; want exit 1 suggesting --key file", code, out, errOut)
	}
	got := certified(t, b.args(srv, "--tpm", noTPM)...)
	if got.Key != "file" || !got.KeyCreated || got.KeyFile != devicecert.KeyPath(b.state) {
		t.Errorf("auto without a TPM: %+v; want a new key file", got)
	}
}

func TestCertifyTPMKeyEndToEnd(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	srv := esttest.Start(t)
	b := newBoard(t, boardGUID)
	first := certified(t, b.args(srv, "--tpm", spec)...) // auto: no key file, a TPM: the TPM
	if first.Key != "tpm" || first.KeyHandle != "0x81000101" || !first.KeyCreated || first.KeyFile != "" {
		t.Fatalf("first run: %+v", first)
	}
	if _, err := os.Stat(devicecert.KeyPath(b.state)); !os.IsNotExist(err) {
		t.Errorf("a key file was written for a TPM key: %v", err)
	}
	again := certified(t, b.args(srv, "--tpm", spec, "--key", "tpm")...)
	if again.KeyCreated || !again.Unchanged || again.Serial != first.Serial {
		t.Errorf("second run: %+v; want the TPM's key and the same certificate", again)
	}
	dev, err := tpm.Open(context.Background(), tpm.Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	dk, err := dev.DeviceKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !storedLeafKey(t, b).Equal(dk.Public()) {
		t.Error("the stored certificate is not the TPM key's")
	}
}

func TestCertifyFailures(t *testing.T) {
	srv := esttest.Start(t)
	b := newBoard(t, boardGUID)
	certified(t, b.args(srv, "--key", "file")...)

	openToken := filepath.Join(t.TempDir(), "open.token")
	if err := os.WriteFile(openToken, []byte(srv.Token), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openToken, 0o644); err != nil {
		t.Fatal(err)
	}
	wrongToken := filepath.Join(t.TempDir(), "wrong.token")
	if err := os.WriteFile(wrongToken, []byte("not-a-station"), 0o600); err != nil {
		t.Fatal(err)
	}
	badID := newBoard(t, boardGUID)
	if err := os.WriteFile(badID.idFile, []byte("Not Settable\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A board whose key file was lost: the chain is there, the key is new.
	replaced := newBoard(t, boardGUID)
	if err := os.MkdirAll(filepath.Dir(devicecert.ChainPath(replaced.state)), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(devicecert.ChainPath(replaced.state), mustRead(t, devicecert.ChainPath(b.state)), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		saying []string
	}{
		{"token file readable by others", b.args(srv, "--token-file", openToken), cli.ExitError, []string{"run `chmod 600 " + openToken + "`"}},
		{"token the factory does not know", b.args(srv, "--token-file", wrongToken), cli.ExitError, []string{"401", "does not know the station token in " + wrongToken}},
		{"factory's CA not given", withoutCAFile(b.args(srv)), cli.ExitError, []string{"--ca-file"}},
		{"hardware ID file without a GUID", badID.args(srv), cli.ExitError, []string{"8-4-4-4-12", badID.idFile}},
		{"another key for a certified board", newBoard(t, boardGUID).args(srv, "--key", "file"), cli.ExitConflict, []string{"409", "oob-factory board reissue " + boardGUID}},
		{"stored chain for another key", replaced.args(srv, "--key", "file"), cli.ExitConflict, []string{devicecert.ChainPath(replaced.state), "another key", "move it away"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setToken(t, false)
			code, out, errOut := certifyCmd(t, tc.args...)
			t.Log(strings.TrimSpace(errOut))
			if code != tc.code || out != "" {
				t.Fatalf("exit %d, stdout %q; want exit %d and nothing printed", code, out, tc.code)
			}
			for _, s := range tc.saying {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr does not say %q", s)
				}
			}
		})
	}
	if boards, _ := srv.Store.Boards(context.Background()); len(boards) != 1 {
		t.Errorf("the factory holds %d boards, want 1", len(boards))
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withoutCAFile drops --ca-file and its value.
func withoutCAFile(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--ca-file" {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}
