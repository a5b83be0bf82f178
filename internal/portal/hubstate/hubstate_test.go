package hubstate_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/hubstate"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/hubservice"
	"github.com/oobtpm/oob/pkg/sas"
)

const (
	hubA = "line-a.azure-devices.net"
	hubB = "line-b.azure-devices.net" // no connection string is given for it
	// Board GUIDs: registered to hub A, never registered, registered to hub B.
	gA    = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"
	gNone = "1b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"
	gB    = "2b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"
	// gShipped is shipped but not activated: never read.
	gShipped = "3b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"
)

// clock is the refresher's clock, moved on by the test between rounds.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// activatedBoards records four boards shipped to acme, the first three activated.
func activatedBoards(t *testing.T) *records.Store {
	t.Helper()
	s := portaltest.SQLite(t)
	portaltest.RecordBoards(t, s, "acme", 3, gA, gNone, gB, gShipped)
	return s
}

// TestRoundFollowsTheDevice runs rounds against the emulator's DPS and hub, with a board's
// device really connecting over MQTT and closing again.
func TestRoundFollowsTheDevice(t *testing.T) {
	emu := emulatortest.StartWithHubs(t)
	devA := emu.RegisterSymmetricKey(t, gA, hubA)
	emu.RegisterSymmetricKey(t, gB, hubB)
	hubs, err := hubservice.New(
		[]sas.ConnectionString{emu.HubConnectionString(t, hubA)},
		hubservice.Options{RootCAs: emu.RootCAs, Address: emu.HubServiceAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer hubs.Close()

	store := activatedBoards(t)
	clk := &clock{now: time.Now()}
	r, err := hubstate.New(hubstate.Config{Store: store, DPS: emu.Client(t, dps.Options{}), Hubs: hubs, Interval: time.Minute, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	round := func(want int) map[string]records.Connection {
		t.Helper()
		n, err := r.Round(ctx)
		if err != nil || n != want {
			t.Fatalf("round: %d boards, %v; want %d", n, err, want)
		}
		got, err := store.Connections(ctx, []string{gA, gNone, gB, gShipped})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	got := round(3)
	if c := got[gA]; c.State != records.ConnDisconnected || c.Hub != hubA || c.DeviceID != devA.DeviceID || !c.Since.IsZero() {
		t.Errorf("board on hub A, never connected: %+v", c)
	}
	if c := got[gNone]; c.State != records.ConnNotProvisioned || c.Hub != "" {
		t.Errorf("board never registered: %+v", c)
	}
	if c := got[gB]; c.State != records.ConnUnknown || c.Hub != hubB || !strings.Contains(c.Error, "no connection string was given for this hub") {
		t.Errorf("board on a hub without a connection string: %+v", c)
	}
	if _, ok := got[gShipped]; ok {
		t.Error("a board not activated was read")
	}
	// The same DPS reads brought the boards' registrations up to date for the board list.
	for guid, hub := range map[string]string{gA: hubA, gB: hubB, gNone: ""} {
		b, err := store.CustomerBoard(ctx, "acme", guid)
		if err != nil {
			t.Fatal(err)
		}
		if registered := b.FleetState == records.FleetRegistered; registered != (hub != "") || b.RegisteredHub != hub {
			t.Errorf("board %s after a round: %s at %q, want registered at %q", guid, b.FleetState, b.RegisteredHub, hub)
		}
	}
	// Read a moment ago: nothing is due again before the interval has passed.
	if n, err := r.Round(ctx); n != 0 || err != nil {
		t.Fatalf("round within the interval read %d boards (%v)", n, err)
	}

	conn := emu.ConnectHub(t, devA)
	waitConnected(t, emu, devA, true)
	clk.Add(2 * time.Minute)
	got = round(3)
	if c := got[gA]; c.State != records.ConnConnected || c.Since.IsZero() || c.LastActivity.IsZero() {
		t.Fatalf("board on hub A while connected: %+v", c)
	}
	connectedSince := got[gA].Since

	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, emu, devA, false)
	clk.Add(2 * time.Minute)
	got = round(3)
	if c := got[gA]; c.State != records.ConnDisconnected || c.Since.Before(connectedSince) {
		t.Fatalf("board on hub A after closing: %+v", c)
	}
}

func waitConnected(t *testing.T, emu *emulatortest.Emulator, d emulatortest.AssignedDevice, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := emu.Hub.Wait(ctx, func() bool { return emu.Hub.Connected(d.HubHost, d.DeviceID) == want }); err != nil {
		t.Fatalf("waiting for connected=%v: %v", want, err)
	}
}

// TestRoundIsBounded: a round reads at most Batch boards, the ones read longest ago first.
func TestRoundIsBounded(t *testing.T) {
	emu := emulatortest.Start(t)
	store := activatedBoards(t)
	clk := &clock{now: time.Now()}
	// No hub is known: the hub is never asked, since DPS has no registrations.
	hubs, err := hubservice.New([]sas.ConnectionString{mustHub(t)}, hubservice.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := hubstate.New(hubstate.Config{Store: store, DPS: emu.Client(t, dps.Options{}), Hubs: hubs, Batch: 2, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{2, 1, 0} {
		if n, err := r.Round(t.Context()); err != nil || n != want {
			t.Fatalf("round %d: %d boards (%v), want %d", i, n, err, want)
		}
	}
}

func mustHub(t *testing.T) sas.ConnectionString {
	t.Helper()
	cs, err := sas.ParseHubConnectionString("HostName=" + hubA + ";SharedAccessKeyName=iothubowner;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
