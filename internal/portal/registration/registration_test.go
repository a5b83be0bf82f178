package registration_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/pgtest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/portal/registration"
	"github.com/oobtpm/oob/pkg/dps"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// activate enables b's enrollment for hub in the emulator and records the activation, as the
// portal's form does.
func activate(t *testing.T, s *records.Store, c *dps.Client, b portaltest.Board, hub string) {
	t.Helper()
	req := activation.Request{GUID: b.GUID, Hub: hub, Customer: "acme", Values: map[string]string{"location": "Hall 1", "chassisNumber": "CH-1"}}
	if _, err := activation.Activate(t.Context(), c, req); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Activate(t.Context(), records.Activation{GUID: b.GUID, Customer: "acme", CodeSHA256: label.CodeHash(b.Code), Hub: hub, Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
}

// A board that registered through the emulator's device API (X.509, as at its first boot) is
// found registered, with the hub DPS assigned; one that has not is read and left activated;
// neither is read again within Every.
func TestRefreshFindsRegisteredBoards(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		emu := emulatortest.Start(t)
		c := emu.Client(t, dps.Options{})
		booted := portaltest.ShipBoard(t, s, emu, "acme")
		waiting := portaltest.ShipBoard(t, s, emu, "acme")
		activate(t, s, c, booted, "hub-7.azure-devices.net")
		activate(t, s, c, waiting, "hub-7.azure-devices.net")
		hub := portaltest.Register(t, emu, booted)

		now := time.Now()
		r := &registration.Refresher{Store: s, DPS: c, Every: time.Minute, Batch: 10, Now: func() time.Time { return now }}
		read, registered, err := r.Round(context.Background())
		if err != nil || read != 2 || registered != 1 {
			t.Fatalf("round: read %d, registered %d, %v", read, registered, err)
		}
		b, _ := s.CustomerBoard(t.Context(), "acme", booted.GUID)
		if b.FleetState != records.FleetRegistered || b.RegisteredHub != hub || hub != "hub-7.azure-devices.net" || b.RegisteredAt.IsZero() {
			t.Errorf("booted board: %s at %q (DPS said %q) %s", b.FleetState, b.RegisteredHub, hub, b.RegisteredAt)
		}
		w, _ := s.CustomerBoard(t.Context(), "acme", waiting.GUID)
		if w.FleetState != records.FleetActivated {
			t.Errorf("board never booted: %s", w.FleetState)
		}
		// Within Every nothing is due; after it, only the board still waiting.
		if read, _, _ := r.Round(context.Background()); read != 0 {
			t.Errorf("read %d boards again within a minute", read)
		}
		now = now.Add(2 * time.Minute)
		if read, registered, _ := r.Round(context.Background()); read != 1 || registered != 0 {
			t.Errorf("a minute later: read %d, registered %d", read, registered)
		}
	})
}
