// First boot by X.509, in process: a board certified by the factory's CA (its key in a file
// here; the TPM-held key is the agent command's to open), pre-enrolled disabled as the factory
// does, against the emulator and its hub over real TLS.
package firstboot_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"image/png"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

const boardGUID = "5d6c1e7a-2b3c-4d5e-9f01-23456789abcd"

type board struct {
	emu      *emulatortest.Emulator
	client   *dps.Client
	ca       *boardca.CA
	key      *ecdsa.PrivateKey
	dir      string
	cfg      *firstboot.Config
	png      string
	activate string // the label's activation URL
	fin      *recorder
}

func newBoard(t *testing.T) *board {
	t.Helper()
	hub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{HubListener: hub, HubHostName: "hub-1.localhost"})
	ca, err := boardca.Init(t.TempDir(), "Board Maker", boardca.ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b := &board{emu: emu, client: emu.Client(t, dps.Options{}), ca: ca, key: key, dir: t.TempDir(), fin: &recorder{},
		activate: "https://activate.example.com/a?code=ABCDEFGH-JKLMNPQR&guid=" + boardGUID}
	b.png = filepath.Join(b.dir, "screen.png")
	leaf := b.certify(t, key.Public())
	write(t, filepath.Join(b.dir, "device-chain.pem"), boardca.PEM(append([]*x509.Certificate{leaf}, ca.Chain()...)...))
	write(t, filepath.Join(b.dir, "activation-url"), []byte(b.activate+"\n"))
	b.cfg, err = firstboot.ParseConfig(fmt.Appendf(nil, `{
		"version": 1,
		"dps": {"idScope": %q, "endpoint": %q, "caFile": %q},
		"hub": {"address": %q},
		"display": {"outputs": ["png"], "png": %q},
		"retry": {"initial": "500ms", "max": "500ms"},
		"stateDir": %q,
		"x509": {"certificateFile": %q, "key": %q, "activationFile": %q}
	}`, emu.IDScope, emu.Endpoint, filepath.Join(emu.Dir, "ca.pem"), hub.Addr().String(), b.png, filepath.Join(b.dir, "state"),
		filepath.Join(b.dir, "device-chain.pem"), filepath.Join(b.dir, "device.key"), filepath.Join(b.dir, "activation-url")))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *board) certify(t *testing.T, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	leaf, err := b.ca.IssueBoard(boardGUID, pub, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// preEnroll makes the board's disabled enrollment as the factory's outbox does, with desired
// properties standing in for the machine maker's metadata.
func (b *board) preEnroll(t *testing.T, leafPEM []byte) {
	t.Helper()
	e := &dpsapi.IndividualEnrollment{RegistrationID: boardGUID, DeviceID: boardGUID, ProvisioningStatus: dpsapi.StatusDisabled,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: string(leafPEM)}}}},
		InitialTwin: &dpsapi.InitialTwin{Properties: &dpsapi.InitialTwinProperties{Desired: json.RawMessage(`{"machine":{"model":"press-7","site":"Lyon"}}`)}}}
	if _, err := b.client.CreateOrUpdateEnrollment(t.Context(), e, ""); err != nil {
		t.Fatal(err)
	}
}

func (b *board) run(ctx context.Context) (firstboot.State, error) {
	return firstboot.Run(ctx, b.cfg, firstboot.Options{
		Finalizer: b.fin,
		PollSleep: noWait,
		OpenX509Key: func(_ context.Context, cfg *firstboot.X509Config) (crypto.Signer, func() error, error) {
			if cfg.Key != filepath.Join(b.dir, "device.key") {
				return nil, nil, fmt.Errorf("asked for key %q", cfg.Key)
			}
			return b.key, func() error { return nil }, nil
		},
	})
}

// The factory's flow from the board's side: not enrolled yet, then pre-enrolled disabled (the
// screen shows the label's activation code), then enabled: it registers by its certificate,
// connects, keeps the desired properties for its software, reports and finalizes.
func TestRunByCertificateWaitsForActivation(t *testing.T) {
	b := newBoard(t)
	done := make(chan error, 1)
	go func() {
		_, err := b.run(t.Context())
		done <- err
	}()
	waitStatus(t, b.cfg.StateDir, done, "Not enrolled in DPS")
	chain, _ := os.ReadFile(b.cfg.X509.CertificateFile)
	leaf, _ := boardca.ParseCertificate(chain)
	b.preEnroll(t, boardca.PEM(leaf))
	waitStatus(t, b.cfg.StateDir, done, "Enrollment disabled: waiting for activation")
	if got := decodeScreen(t, b.png); got != b.activate {
		t.Errorf("the screen's code reads %q, want the label's activation URL %q", got, b.activate)
	}
	if _, err := b.client.SetEnrollmentStatus(t.Context(), boardGUID, true); err != nil {
		t.Fatal(err)
	}
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		case <-time.After(100 * time.Millisecond):
			_, _ = firstboot.Nudge(t.Context(), b.cfg.StateDir)
		}
	}
	st, err := firstboot.LoadState(b.cfg.StateDir)
	if err != nil || st.Stage != firstboot.StageFinalized || st.RegistrationID != boardGUID || st.DeviceID != boardGUID {
		t.Fatalf("state %+v, %v", st, err)
	}
	var desired map[string]any
	raw, err := os.ReadFile(filepath.Join(b.cfg.StateDir, firstboot.DesiredFile))
	if err != nil || json.Unmarshal(raw, &desired) != nil || fmt.Sprint(desired["machine"]) != "map[model:press-7 site:Lyon]" {
		t.Errorf("desired properties kept for the device's software: %s (%v)", raw, err)
	}
	twin, ok := b.emu.Hub.Twin("hub-1.localhost", boardGUID)
	if !ok {
		t.Fatal("the hub has no twin for the board: it never connected")
	}
	rep, _ := json.Marshal(twin.Reported)
	if !strings.Contains(string(rep), `"registrationId":"`+boardGUID+`"`) || !strings.Contains(string(rep), `"desiredVersion":`) {
		t.Errorf("reported properties %s lack the provisioning report", rep)
	}
	if b.fin.finalized != 1 {
		t.Errorf("finalized %d times", b.fin.finalized)
	}
}

// What the board cannot fix by waiting stops the run at once, saying what to do.
func TestRunByCertificateRefusesABadIdentity(t *testing.T) {
	b := newBoard(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name  string
		chain []byte
		say   string
	}{
		{"a certificate for another key", boardca.PEM(b.certify(t, other.Public())), "run `oob-agent certify` again"},
		{"a key in the chain file", append(boardca.PEM(b.certify(t, b.key.Public())), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"...), "keep the key in its own file"},
		{"no certificate", []byte("not PEM\n"), "not a PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(t, b.cfg.X509.CertificateFile, tc.chain)
			_, err := b.run(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("run: %v; want an error saying %q", err, tc.say)
			}
		})
	}
	t.Run("no certificate yet", func(t *testing.T) {
		os.Remove(b.cfg.X509.CertificateFile)
		if _, err := b.run(t.Context()); err == nil || !strings.Contains(err.Error(), "oob-agent certify") {
			t.Errorf("run: %v; want advice to run oob-agent certify", err)
		}
	})
}

// decodeScreen reads the QR code on the screen PNG with our own decoder.
func decodeScreen(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reader.Decode(img)
	if err != nil || len(res) == 0 {
		t.Fatalf("no code on the screen: %v", err)
	}
	return res[0].Text
}
