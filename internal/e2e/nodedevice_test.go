package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/deviceapi"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/mssim"
	"github.com/oobtpm/oob/internal/nodetest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/tpm"
)

// nodeDevice is what scripts/nodedevice/device.js printed: the SDK's registration state, then
// whether the hub took the message.
type nodeDevice struct {
	Registration struct {
		RegistrationID string `json:"registrationId"`
		AssignedHub    string `json:"assignedHub"`
		DeviceID       string `json:"deviceId"`
		Status         string `json:"status"`
		Substatus      string `json:"substatus"`
	} `json:"registration"`
	Sent bool `json:"sent"`
}

// TestNodeDeviceSDK: Microsoft's Node.js device SDK registers with the emulated DPS by TPM
// attestation (swtpm behind internal/mssim), by X.509 and by symmetric key, over its HTTPS
// transport, then connects to the emulated hub DPS assigned it with azure-iot-device-mqtt (for
// the TPM, SAS tokens signed in the TPM by the key DPS sealed to it) and sends a message. That
// Azure's own client accepts the emulator's TPM challenge and hub key, and that the emulator
// accepts what Azure's client sends, is what makes the emulator a stand-in for Azure that our
// own device (TestRegisterWithTPM) is tested against.
//
// The SDK dials DPS on 443 and the hub on 8883 of host names without ports: both listen on
// 127.0.0.1 as localhost (root is needed, as in CI), under the lock other tests on those ports
// take too.
func TestNodeDeviceSDK(t *testing.T) {
	scriptDir, err := filepath.Abs(filepath.Join("..", "..", "scripts", "nodedevice"))
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Install(t, scriptDir)
	nodetest.LockAzurePorts(t)
	emu := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{
		Listener:    listenFixed(t, "127.0.0.1:443"),
		HubListener: listenFixed(t, "127.0.0.1:8883"),
		// Every registration is polled at least once: the SDK's operation polling is exercised.
		AssignDelay: 500 * time.Millisecond,
		RetryAfter:  time.Second,
	})
	if emu.Endpoint != "localhost" {
		t.Fatalf("on port 443 the provisioning host must be bare, got %q", emu.Endpoint)
	}
	svc := emu.Client(t, dps.Options{})
	const hub = deviceapi.DefaultHubHostName
	node := func(t *testing.T, env []string, args ...string) (nodeDevice, string, error) {
		t.Helper()
		return runNodeDevice(t, scriptDir, append(env, "NODE_EXTRA_CA_CERTS="+filepath.Join(emu.Dir, tlsca.CertFile)),
			append([]string{"--provisioning-host", emu.Endpoint, "--id-scope", emu.IDScope}, args...)...)
	}

	for _, tc := range []struct {
		name, attestation string
		// device enrolls a device and returns its registration ID, the device ID the enrollment
		// assigns, and how to run the script as that device.
		device func(t *testing.T) (registrationID, deviceID string, env, args []string)
	}{
		{"tpm", "tpm", func(t *testing.T) (string, string, []string, []string) {
			spec, _ := swtpmtest.Start(t)
			// The agent reads the TPM first, as on a device, and so creates the SRK with its
			// template; the SDK then finds both keys persisted (internal/mssim's test checks it
			// reads them byte for byte).
			ek := tpmEK(t, spec)
			id := identity.DeriveRegistrationID(ek)
			enroll(t, svc, &dpsapi.IndividualEnrollment{RegistrationID: id, DeviceID: "node-tpm-device",
				Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationTPM, TPM: &dpsapi.TPMAttestation{EndorsementKey: base64.StdEncoding.EncodeToString(ek)}}})
			host, port := simulatorFrontEnd(t, strings.TrimPrefix(spec, "tcp://"))
			return id, "node-tpm-device", nil, []string{"--tpm-host", host, "--tpm-port", port}
		}},
		{"x509", "x509", func(t *testing.T) (string, string, []string, []string) {
			const id = "node-x509"
			cert := emu.DeviceCertificate(t, id)
			enroll(t, svc, &dpsapi.IndividualEnrollment{RegistrationID: id, DeviceID: "node-x509-device",
				Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
					ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: tlsca.CertificatePEM(*cert)}},
				}}})
			keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "device.pem"), filepath.Join(dir, "device-key.pem")
			writeFile(t, certFile, []byte(tlsca.CertificatePEM(*cert)))
			writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
			return id, "node-x509-device", nil, []string{"--registration-id", id, "--cert", certFile, "--key", keyFile}
		}},
		{"factory-x509", "x509", func(t *testing.T) (string, string, []string, []string) {
			// A board certified by oob-factory's CA (leaf, then the issuing intermediate, in the
			// file the SDK presents), its enrollment enabled as its buyer's activation leaves it.
			const guid = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
			ca, err := boardca.Init(t.TempDir(), "Board Maker", boardca.ECDSAP256, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, err := ca.IssueBoard(guid, key.Public(), time.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			enroll(t, svc, &dpsapi.IndividualEnrollment{RegistrationID: guid, DeviceID: guid,
				Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
					ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: string(boardca.PEM(leaf))}},
				}}})
			keyDER, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			certFile, keyFile := filepath.Join(dir, "board-chain.pem"), filepath.Join(dir, "board-key.pem")
			writeFile(t, certFile, boardca.PEM(leaf, ca.Intermediate))
			writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
			return guid, guid, nil, []string{"--registration-id", guid, "--cert", certFile, "--key", keyFile}
		}},
		{"symmetric", "symmetric", func(t *testing.T) (string, string, []string, []string) {
			const id = "node-symmetric"
			// The service generates the keys, as DPS does for an enrollment that names none.
			e := enroll(t, svc, &dpsapi.IndividualEnrollment{RegistrationID: id, DeviceID: "node-symmetric-device",
				Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationSymmetricKey, SymmetricKey: &dpsapi.SymmetricKeyAttestation{}}})
			if e.Attestation.SymmetricKey == nil || e.Attestation.SymmetricKey.PrimaryKey == "" {
				t.Fatalf("the enrollment came back without generated keys: %+v", e.Attestation)
			}
			return id, "node-symmetric-device", []string{"DEVICE_SYMMETRIC_KEY=" + e.Attestation.SymmetricKey.PrimaryKey}, []string{"--registration-id", id}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			regID, deviceID, env, args := tc.device(t)
			got, stderr, err := node(t, env, append([]string{"--attestation", tc.attestation}, args...)...)
			if err != nil {
				t.Fatalf("node device.js --attestation %s: %v\n%s", tc.attestation, err, stderr)
			}
			r := got.Registration
			if r.Status != "assigned" || r.RegistrationID != regID || r.DeviceID != deviceID || r.AssignedHub != hub {
				t.Fatalf("the Node SDK's registration: %+v, want %s assigned to %s as %s", r, regID, hub, deviceID)
			}
			if r.Substatus != "initialAssignment" {
				t.Errorf("substatus %q, want initialAssignment", r.Substatus)
			}
			if !got.Sent {
				t.Fatal("the Node SDK did not report the message sent")
			}

			state, err := svc.GetRegistrationState(t.Context(), regID)
			if err != nil {
				t.Fatal(err)
			}
			if state.Status != dpsapi.RegistrationAssigned || state.AssignedHub != hub || state.DeviceID != deviceID {
				t.Errorf("DPS's registration state %+v disagrees with what the device was told", state)
			}

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := emu.Hub.Wait(ctx, func() bool { return len(emu.Hub.Messages(hub, deviceID)) > 0 }); err != nil {
				t.Fatalf("the hub recorded no message from %s: %v", deviceID, err)
			}
			msgs := emu.Hub.Messages(hub, deviceID)
			if len(msgs) != 1 || msgs[0].Properties["attestation"] != tc.attestation || msgs[0].SystemProperties["messageId"] != "node-"+tc.attestation {
				t.Errorf("the hub recorded %+v, want one message with attestation=%s", msgs, tc.attestation)
			}
		})
	}

	// A device with a wrong key is refused, and the SDK reports it as DPS's refusal: the
	// emulator's 401 is one Microsoft's client understands.
	t.Run("wrong key", func(t *testing.T) {
		wrong := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
		_, stderr, err := node(t, []string{"DEVICE_SYMMETRIC_KEY=" + wrong}, "--attestation", "symmetric", "--registration-id", "node-symmetric", "--no-hub")
		if err == nil || !strings.Contains(stderr, "UnauthorizedError") {
			t.Fatalf("registering with a wrong key: %v, want the SDK's UnauthorizedError\n%s", err, stderr)
		}
	})
}

// listenFixed listens on addr, one of the fixed ports Microsoft's SDK dials; without the
// privilege to (or with the port taken) the test is skipped, or fails under OOB_E2E=1.
func listenFixed(t *testing.T, addr string) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	nodetest.Require(t, "port "+addr, "nothing: run as root with the port free", err == nil)
	return l
}

// tpmEK reads the TPM's EK (creating its SRK, if absent, as the agent does) and closes it: swtpm
// serves one connection at a time.
func tpmEK(t *testing.T, spec string) []byte {
	t.Helper()
	ctx := t.Context()
	dev, err := tpm.Open(ctx, tpm.Config{Path: spec})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ek, err := dev.EndorsementKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.StorageRootKey(ctx); err != nil {
		t.Fatal(err)
	}
	return ek
}

// simulatorFrontEnd serves the Microsoft simulator protocol in front of swtpm's backend address
// until the test ends and returns the host and TPM port tss.js is to dial.
func simulatorFrontEnd(t *testing.T, backend string) (host, port string) {
	t.Helper()
	tl, pl, err := mssim.ListenPair()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&mssim.Server{Backend: backend}).Serve(ctx, tl, pl) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator front-end: %v", err)
		}
	})
	host, port, err = net.SplitHostPort(tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// enroll creates e through the service API and returns it as stored.
func enroll(t *testing.T, svc *dps.Client, e *dpsapi.IndividualEnrollment) *dpsapi.IndividualEnrollment {
	t.Helper()
	got, err := svc.CreateOrUpdateEnrollment(t.Context(), e, "")
	if err != nil {
		t.Fatalf("enrolling %s: %v", e.RegistrationID, err)
	}
	return got
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runNodeDevice runs device.js with args and env added to the test's environment and returns
// what it printed on stdout, its stderr, and how it exited.
func runNodeDevice(t *testing.T, dir string, env []string, args ...string) (nodeDevice, string, error) {
	t.Helper()
	cmd := exec.Command("node", append([]string{"device.js"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nodeDevice{}, fmt.Sprintf("stdout:\n%s\nstderr:\n%s", out, stderr.Bytes()), err
	}
	var res nodeDevice
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			t.Fatalf("device.js printed %q: %v", sc.Text(), err)
		}
	}
	return res, stderr.String(), nil
}
