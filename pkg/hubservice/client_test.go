package hubservice_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/hubservice"
	"github.com/oobtpm/oob/pkg/sas"
)

const (
	hubA      = "line-a.azure-devices.net"
	hubB      = "line-b.azure-devices.net"
	waitLimit = 20 * time.Second
)

// env is the emulator with its hub's MQTT endpoint and service API.
type env struct{ emu *emulatortest.Emulator }

func startEmulator(t *testing.T) *env { return &env{emu: emulatortest.StartWithHubs(t)} }

// client reads the hubs of connStrings at the emulator's service API, trusting its CA only.
func (e *env) client(t *testing.T, connStrings ...sas.ConnectionString) *hubservice.Client {
	t.Helper()
	c, err := hubservice.New(connStrings, hubservice.Options{RootCAs: e.emu.RootCAs, Address: e.emu.HubServiceAddr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestDeviceConnectionState follows a device DPS assigned to hub A through its MQTT connection:
// disconnected before, connected while its connection is open, disconnected after it closes.
func TestDeviceConnectionState(t *testing.T) {
	e := startEmulator(t)
	dev := e.emu.RegisterSymmetricKey(t, "board-1", hubA)
	c := e.client(t, e.emu.HubConnectionString(t, hubA), e.emu.HubConnectionString(t, hubB))
	ctx := t.Context()

	d, err := c.Device(ctx, hubA, dev.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Connected || !d.StateUpdated.IsZero() || !d.Enabled {
		t.Fatalf("before any connection: %+v", d)
	}

	before := time.Now()
	conn := e.emu.ConnectHub(t, dev)
	wait(t, e, dev, true)
	d, err = c.Device(ctx, strings.ToUpper(hubA), dev.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Connected || d.StateUpdated.Before(before) || d.LastActivity.Before(before) || d.ID != dev.DeviceID {
		t.Fatalf("while connected (since after %v): %+v", before, d)
	}

	connectedAt := d.StateUpdated
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	wait(t, e, dev, false)
	d, err = c.Device(ctx, hubA, dev.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Connected || d.StateUpdated.Before(connectedAt) {
		t.Fatalf("after closing: %+v", d)
	}

	// The same device ID in another hub, where DPS did not put it, is not found.
	if _, err := c.Device(ctx, hubB, dev.DeviceID); !errors.Is(err, hubservice.ErrDeviceNotFound) {
		t.Fatalf("device in hub B: %v, want ErrDeviceNotFound", err)
	}
}

// wait returns once the emulated hub counts dev connected (or not): the broker counts a session
// just after it acknowledges the CONNECT.
func wait(t *testing.T, e *env, dev emulatortest.AssignedDevice, connected bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if err := e.emu.Hub.Wait(ctx, func() bool { return e.emu.Hub.Connected(dev.HubHost, dev.DeviceID) == connected }); err != nil {
		t.Fatalf("waiting for connected=%v: %v", connected, err)
	}
}

func TestDeviceErrors(t *testing.T) {
	e := startEmulator(t)
	good := e.emu.HubConnectionString(t, hubA)
	wrongKey := good
	wrongKey.Key = sas.NewKey([]byte(strings.Repeat("not the key ", 3)))
	wrongPolicy := good
	wrongPolicy.KeyName = "registryRead"
	ctx := t.Context()

	tests := []struct {
		name string
		cs   sas.ConnectionString
		hub  string
		want error
	}{
		{"unknown device", good, hubA, hubservice.ErrDeviceNotFound},
		{"hub without a connection string", good, hubB, hubservice.ErrUnknownHub},
		{"wrong key", wrongKey, hubA, hubservice.ErrUnauthorized},
		{"wrong policy", wrongPolicy, hubA, hubservice.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client(t, tt.cs).Device(ctx, tt.hub, "nobody")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var he *hubservice.Error
			if !errors.As(err, &he) || he.DeviceID != "nobody" {
				t.Fatalf("not a *hubservice.Error naming the device: %v", err)
			}
			if strings.Contains(err.Error(), tt.cs.Key.Base64()) || strings.Contains(err.Error(), "SharedAccessSignature") {
				t.Fatalf("error shows a secret: %v", err)
			}
		})
	}

	t.Run("expired clock", func(t *testing.T) {
		c, err := hubservice.New([]sas.ConnectionString{good}, hubservice.Options{
			RootCAs: e.emu.RootCAs, Address: e.emu.HubServiceAddr,
			Now: func() time.Time { return time.Now().Add(-24 * time.Hour) },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Device(ctx, hubA, "nobody"); !errors.Is(err, hubservice.ErrUnauthorized) {
			t.Fatalf("token signed a day ago: %v, want ErrUnauthorized", err)
		}
	})

	t.Run("untrusted CA", func(t *testing.T) {
		c, err := hubservice.New([]sas.ConnectionString{good}, hubservice.Options{Address: e.emu.HubServiceAddr})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Device(ctx, hubA, "nobody"); !errors.Is(err, hubservice.ErrUnreachable) {
			t.Fatalf("with the system's roots: %v, want ErrUnreachable (TLS refused)", err)
		}
	})
}
