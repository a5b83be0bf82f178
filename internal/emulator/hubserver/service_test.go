package hubserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/pkg/sas"
)

// serviceFixture is a hub with its service API on a second loopback port, over TLS.
type serviceFixture struct {
	*fixture
	policy hubserver.ServicePolicy
	url    string
	client *http.Client
}

func startService(t *testing.T) *serviceFixture {
	t.Helper()
	f := start(t, nil)
	policy := hubserver.ServicePolicy{Name: "iothubowner", Key: sas.NewKey([]byte(strings.Repeat("policy-key", 4)))}
	h, err := f.srv.ServiceHandler(policy)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: f.srvTLS}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	client := &http.Client{Timeout: waitLimit, Transport: &http.Transport{
		TLSClientConfig: f.tls.Clone(),
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	return &serviceFixture{fixture: f, policy: policy, url: "https://" + hubHost, client: client}
}

// serviceToken signs a token of key for the hub, as policy name.
func serviceToken(t *testing.T, key sas.Key, name string, expiry time.Time) string {
	t.Helper()
	tok, err := sas.NewToken(context.Background(), key, hubHost, name, expiry)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// get reads a device with the authorization given; it returns the status, the iothub-errorcode
// header and the body.
func (f *serviceFixture) get(t *testing.T, deviceID, authorization string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url+"/devices/"+deviceID+"?api-version=2021-04-12", nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("iothub-errorcode"), body
}

func (f *serviceFixture) device(t *testing.T, id string) hubserver.ServiceDevice {
	t.Helper()
	status, code, body := f.get(t, id, serviceToken(t, f.policy.Key, f.policy.Name, time.Now().Add(time.Hour)))
	if status != http.StatusOK {
		t.Fatalf("GET /devices/%s = %d %s %s", id, status, code, body)
	}
	var d hubserver.ServiceDevice
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("device body %s: %v", body, err)
	}
	return d
}

// TestServiceConnectionState follows a device really connected over MQTT: never connected,
// connected, and disconnected after it closes its connection.
func TestServiceConnectionState(t *testing.T) {
	f := startService(t)
	d := f.device(t, "dev-a")
	if d.DeviceID != "dev-a" || d.ConnectionState != "Disconnected" || d.ConnectionStateUpdatedTime != "0001-01-01T00:00:00Z" || d.Status != "enabled" {
		t.Fatalf("before any connection: %+v", d)
	}

	before := time.Now()
	c, _ := f.connect(t, "dev-a")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	// The broker counts a session once it has sent CONNACK: wait for it, as a reader of the
	// real service waits for the registry to catch up.
	if err := f.srv.Wait(ctx, func() bool { return f.srv.Connected(hubHost, "dev-a") }); err != nil {
		t.Fatal(err)
	}
	d = f.device(t, "dev-a")
	if d.ConnectionState != "Connected" {
		t.Fatalf("while connected: %+v", d)
	}
	connectedAt, err := time.Parse(time.RFC3339Nano, d.ConnectionStateUpdatedTime)
	if err != nil || connectedAt.Before(before) {
		t.Fatalf("connectionStateUpdatedTime %q is not a time after the connection began (%v)", d.ConnectionStateUpdatedTime, err)
	}
	if d.LastActivityTime != d.ConnectionStateUpdatedTime {
		t.Errorf("lastActivityTime %q, want the connection's time %q", d.LastActivityTime, d.ConnectionStateUpdatedTime)
	}
	if other := f.device(t, "dev-b"); other.ConnectionState != "Disconnected" {
		t.Errorf("another device shows %s", other.ConnectionState)
	}

	c.Disconnect(0)
	if err := f.srv.Wait(ctx, func() bool { return !f.srv.Connected(hubHost, "dev-a") }); err != nil {
		t.Fatal(err)
	}
	d = f.device(t, "dev-a")
	if d.ConnectionState != "Disconnected" {
		t.Fatalf("after disconnecting: %+v", d)
	}
	if got, _ := time.Parse(time.RFC3339Nano, d.ConnectionStateUpdatedTime); got.Before(connectedAt) {
		t.Errorf("connectionStateUpdatedTime %q is before the connection's %v", d.ConnectionStateUpdatedTime, connectedAt)
	}
}

func TestServiceRefusals(t *testing.T) {
	f := startService(t)
	hour := time.Now().Add(time.Hour)
	tests := []struct {
		name, device, auth string
		status             int
		code               string
	}{
		{"unknown device", "nobody", serviceToken(t, f.policy.Key, "iothubowner", hour), 404, "DeviceNotFound"},
		{"no token", "dev-a", "", 401, "IotHubUnauthorizedAccess"},
		{"expired", "dev-a", serviceToken(t, f.policy.Key, "iothubowner", time.Now().Add(-time.Hour)), 401, "IotHubUnauthorizedAccess"},
		{"wrong key", "dev-a", serviceToken(t, f.keys["dev-a"], "iothubowner", hour), 401, "IotHubUnauthorizedAccess"},
		{"wrong policy", "dev-a", serviceToken(t, f.policy.Key, "registryRead", hour), 401, "IotHubUnauthorizedAccess"},
		{"not a token", "dev-a", "Bearer abc", 401, "IotHubUnauthorizedAccess"},
		{"device token", "dev-a", f.token(t, "dev-a", hubHost+"/devices/dev-a", hour), 401, "IotHubUnauthorizedAccess"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, body := f.get(t, tt.device, tt.auth)
			if status != tt.status || code != tt.code {
				t.Fatalf("= %d %q, want %d %q (%s)", status, code, tt.status, tt.code, body)
			}
			var e struct{ Message, ExceptionMessage string }
			if err := json.Unmarshal(body, &e); err != nil || !strings.HasPrefix(e.Message, "ErrorCode:"+tt.code+";") || !strings.HasPrefix(e.ExceptionMessage, "Tracking ID:") {
				t.Errorf("error body %s is not IoT Hub's (%v)", body, err)
			}
		})
	}
}
