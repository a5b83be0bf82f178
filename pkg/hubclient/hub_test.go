package hubclient_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/sas"
)

var seeded = hubserver.InitialTwin{
	Tags:    json.RawMessage(`{"site":"plant-7"}`),
	Desired: json.RawMessage(`{"telemetryInterval":30,"mode":{"name":"eco"}}`),
}

// TestSymmetricKey is the agent's path with a key in memory: connect, read the seeded twin,
// report provisioning, see it on the hub and in the next GET, send a message the hub records.
func TestSymmetricKey(t *testing.T) {
	h := startHub(t)
	key := h.addKeyDevice(t, deviceID, seeded)
	cfg := h.config(deviceID)
	cfg.Key = key
	conn := connect(t, cfg)
	ctx := testContext(t)

	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	before, v, err := hubclient.ReportProvisioning(ctx, conn, hubclient.ProvisioningInfo{RegistrationID: "reg-1", At: at})
	if err != nil {
		t.Fatal(err)
	}
	if before.Desired["telemetryInterval"] != float64(30) || before.DesiredVersion != 1 {
		t.Errorf("seeded desired = %v (version %d), want telemetryInterval 30 at version 1", before.Desired, before.DesiredVersion)
	}
	if len(before.Reported) != 0 || before.ReportedVersion != 1 {
		t.Errorf("reported before = %v (version %d), want empty at version 1", before.Reported, before.ReportedVersion)
	}
	if v != 2 {
		t.Errorf("reported version after the report = %d, want 2", v)
	}

	after, err := conn.Twin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prov, _ := after.Reported["provisioning"].(map[string]any)
	if prov["status"] != "provisioned" || prov["registrationId"] != "reg-1" || prov["at"] != "2025-03-01T12:00:00Z" {
		t.Errorf("reported provisioning = %v", after.Reported["provisioning"])
	}
	if after.ReportedVersion != 2 {
		t.Errorf("GET reported version = %d, want 2", after.ReportedVersion)
	}
	onHub, ok := h.srv.Twin(hubHost, deviceID)
	if !ok || onHub.ReportedVersion != 2 || onHub.Tags["site"] != "plant-7" {
		t.Errorf("hub's twin = %+v, %v", onHub, ok)
	}

	// A second report merges: the earlier property stays, null removes one.
	if v, err := conn.ReportProperties(ctx, map[string]any{"fw": "1.2.3"}); err != nil || v != 3 {
		t.Fatalf("ReportProperties = %d, %v; want 3", v, err)
	}
	if v, err := conn.ReportProperties(ctx, json.RawMessage(`{"fw":null,"boot":{"count":1}}`)); err != nil || v != 4 {
		t.Fatalf("ReportProperties = %d, %v; want 4", v, err)
	}
	final, err := conn.Twin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := final.Reported["fw"]; has || final.Reported["provisioning"] == nil || final.Reported["boot"] == nil {
		t.Errorf("reported after merge = %v", final.Reported)
	}

	if err := conn.Send(ctx, []byte(`{"temp":21.5}`), map[string]string{"kind": "boot report", "a+b": "c&d"}); err != nil {
		t.Fatal(err)
	}
	msgs := waitMessages(t, h, deviceID, 1)
	m := msgs[0]
	if string(m.Payload) != `{"temp":21.5}` || m.Properties["kind"] != "boot report" || m.Properties["a+b"] != "c&d" {
		t.Errorf("recorded message = %q %v", m.Payload, m.Properties)
	}
}

// countingSigner stands for a TPM: the key stays inside it and every signature is counted.
type countingSigner struct {
	key   sas.Key
	calls atomic.Int32
}

func (s *countingSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	s.calls.Add(1)
	return s.key.Sign(ctx, data)
}

func TestSigner(t *testing.T) {
	h := startHub(t)
	signer := &countingSigner{key: h.addKeyDevice(t, deviceID, seeded)}
	cfg := h.config(deviceID)
	cfg.Signer = signer
	conn := connect(t, cfg)
	ctx := testContext(t)
	if signer.calls.Load() == 0 {
		t.Fatal("connected without signing with the Signer")
	}
	if _, v, err := hubclient.ReportProvisioning(ctx, conn, hubclient.ProvisioningInfo{RegistrationID: deviceID}); err != nil || v != 2 {
		t.Fatalf("ReportProvisioning = %d, %v", v, err)
	}
	tw, _ := h.srv.Twin(hubHost, deviceID)
	if p, _ := tw.Reported["provisioning"].(map[string]any); p["status"] != hubclient.ProvisioningStatus {
		t.Errorf("hub's reported = %v", tw.Reported)
	}
}

// failingSigner is a TPM that cannot sign.
type failingSigner struct{}

var errTPM = errors.New("tpm: key not loaded")

func (failingSigner) Sign(context.Context, []byte) ([]byte, error) { return nil, errTPM }

func TestSignerFailure(t *testing.T) {
	h := startHub(t)
	h.addKeyDevice(t, deviceID, seeded)
	cfg := h.config(deviceID)
	cfg.Signer = failingSigner{}
	_, err := hubclient.Connect(testContext(t), cfg)
	if !errors.Is(err, errTPM) {
		t.Fatalf("Connect = %v, want the signer's error", err)
	}
}

func TestX509(t *testing.T) {
	h := startHub(t)
	cert, thumb := selfSigned(t, deviceID)
	h.reg.Put(hubHost, hubserver.Device{ID: deviceID, Auth: hubserver.Auth{SecondaryThumbprint: thumb}, InitialTwin: seeded})
	cfg := h.config(deviceID)
	cfg.Certificate = cert
	conn := connect(t, cfg)
	ctx := testContext(t)
	tw, err := conn.Twin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mode, _ := tw.Desired["mode"].(map[string]any); mode["name"] != "eco" {
		t.Errorf("desired = %v", tw.Desired)
	}
	if err := conn.Send(ctx, []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	if m := waitMessages(t, h, deviceID, 1)[0]; string(m.Payload) != "hello" || len(m.Properties) != 0 {
		t.Errorf("recorded %q %v", m.Payload, m.Properties)
	}
}

// TestRefused: each way a connection fails is reported as its kind, with the cause underneath.
func TestRefused(t *testing.T) {
	h := startHub(t)
	key := h.addKeyDevice(t, deviceID, seeded)
	cert, _ := selfSigned(t, deviceID)
	_, otherThumb := selfSigned(t, deviceID)
	h.reg.Put(hubHost, hubserver.Device{ID: "x509-device", Auth: hubserver.Auth{PrimaryThumbprint: otherThumb}})
	h.reg.Put(hubHost, hubserver.Device{ID: "disabled", Disabled: true, Auth: hubserver.Auth{PrimaryKey: key}})

	otherCA, err := tlsca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name   string
		modify func(*hubclient.Config)
		kind   error
	}{
		{"wrong key", func(c *hubclient.Config) { c.Key = newKey(t) }, hubclient.ErrNotAuthorized},
		{"expired token", func(c *hubclient.Config) {
			c.Key, c.TokenLifetime = key, time.Minute
			c.Now = func() time.Time { return time.Now().Add(-time.Hour) }
		}, hubclient.ErrNotAuthorized},
		{"unknown device", func(c *hubclient.Config) { c.DeviceID, c.Key = "no-such-device", key }, hubclient.ErrNotAuthorized},
		{"disabled device", func(c *hubclient.Config) { c.DeviceID, c.Key = "disabled", key }, hubclient.ErrNotAuthorized},
		{"another hub", func(c *hubclient.Config) { c.HubHost, c.Key = otherHub, key }, hubclient.ErrNotAuthorized},
		{"certificate not registered", func(c *hubclient.Config) { c.DeviceID, c.Certificate = "x509-device", cert }, hubclient.ErrNotAuthorized},
		{"key device with a certificate", func(c *hubclient.Config) { c.Certificate = cert }, hubclient.ErrNotAuthorized},
		{"bad CA", func(c *hubclient.Config) { c.Key, c.RootCAs = key, otherCA.CertPool() }, hubclient.ErrTLS},
		{"system roots", func(c *hubclient.Config) { c.Key, c.RootCAs = key, nil }, hubclient.ErrTLS},
		{"name not in certificate", func(c *hubclient.Config) { c.Key, c.HubHost = key, "elsewhere.azure-devices.net" }, hubclient.ErrTLS},
		{"nothing listening", func(c *hubclient.Config) { c.Key, c.Address = key, closedAddr }, hubclient.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := h.config(deviceID)
			tt.modify(&cfg)
			conn, err := hubclient.Connect(testContext(t), cfg)
			if err == nil {
				conn.Close()
				t.Fatal("connected")
			}
			t.Log(err)
			var ce *hubclient.ConnectError
			if !errors.As(err, &ce) || !errors.Is(err, tt.kind) {
				t.Fatalf("Connect = %v, want a ConnectError of kind %v", err, tt.kind)
			}
			if ce.Hint == "" || ce.Err == nil {
				t.Errorf("error without its cause or hint: %v", err)
			}
			if tt.kind == hubclient.ErrTLS {
				var unknownCA x509.UnknownAuthorityError
				var hostErr x509.HostnameError
				if !errors.As(err, &unknownCA) && !errors.As(err, &hostErr) {
					t.Errorf("TLS error does not carry the x509 cause: %v", err)
				}
			}
		})
	}
	if h.srv.Connected(hubHost, deviceID) {
		t.Error("a refused device is counted connected")
	}
}

func TestConfigChecked(t *testing.T) {
	key := sas.NewKey(make([]byte, 32))
	cert, _ := selfSigned(t, deviceID)
	for name, cfg := range map[string]hubclient.Config{
		"no credentials":  {HubHost: hubHost, DeviceID: deviceID},
		"two credentials": {HubHost: hubHost, DeviceID: deviceID, Key: key, Certificate: cert},
		"no device":       {HubHost: hubHost, Key: key},
		"port in host":    {HubHost: hubHost + ":8883", DeviceID: deviceID, Key: key},
	} {
		if _, err := hubclient.Connect(context.Background(), cfg); err == nil || errors.Is(err, hubclient.ErrUnreachable) {
			t.Errorf("%s: Connect = %v, want a configuration error", name, err)
		}
	}
}

// TestConcurrentDevices: devices connecting and reporting at once each get their own twin.
func TestConcurrentDevices(t *testing.T) {
	h := startHub(t)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		id := "dev-" + string(rune('a'+i))
		cfg := h.config(id)
		cfg.Key = h.addKeyDevice(t, id, seeded)
		go func() {
			ctx := testContext(t)
			conn, err := hubclient.Connect(ctx, cfg)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			_, _, err = hubclient.ReportProvisioning(ctx, conn, hubclient.ProvisioningInfo{RegistrationID: id})
			if err == nil {
				err = conn.Send(ctx, []byte(id), nil)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		id := "dev-" + string(rune('a'+i))
		tw, _ := h.srv.Twin(hubHost, id)
		p, _ := tw.Reported["provisioning"].(map[string]any)
		if p["registrationId"] != id || tw.ReportedVersion != 2 {
			t.Errorf("%s: reported %v at version %d", id, tw.Reported, tw.ReportedVersion)
		}
		if msgs := h.srv.Messages(hubHost, id); len(msgs) != 1 || string(msgs[0].Payload) != id {
			t.Errorf("%s: messages %v", id, msgs)
		}
	}
}

func waitMessages(t *testing.T, h *testHub, id string, n int) []hubserver.Message {
	t.Helper()
	if err := h.srv.Wait(testContext(t), func() bool { return len(h.srv.Messages(hubHost, id)) >= n }); err != nil {
		t.Fatalf("waiting for %d messages from %s: %v (have %d)", n, id, err, len(h.srv.Messages(hubHost, id)))
	}
	return h.srv.Messages(hubHost, id)
}
