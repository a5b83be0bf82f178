package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
)

// TestBoardListShowsHubConnection: an activated board whose device was read connected shows
// "connected since …", one read disconnected shows so, and a board never read shows neither.
func TestBoardListShowsHubConnection(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		ann := p.user("ann@acme.example", "acme", records.RoleViewer)
		ctx := context.Background()
		on := portaltest.ShipBoard(t, s, p.emu, "acme")
		off := portaltest.ShipBoard(t, s, p.emu, "acme")
		unread := portaltest.ShipBoard(t, s, p.emu, "acme")
		for _, b := range []portaltest.Board{on, off, unread} {
			if _, err := s.Activate(ctx, records.Activation{GUID: b.GUID, Customer: "acme", CodeSHA256: label.CodeHash(b.Code), Actor: "ann@acme.example", Address: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		}
		since := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
		for guid, state := range map[string]string{on.GUID: records.ConnConnected, off.GUID: records.ConnDisconnected} {
			if err := s.SetConnection(ctx, &records.Connection{GUID: guid, State: state, Hub: "h.azure-devices.net", DeviceID: guid, Since: since, CheckedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		body := ann.get("/boards").body
		row := func(guid string) string {
			_, rest, ok := strings.Cut(body, guid)
			if !ok {
				t.Fatalf("board %s not listed: %s", guid, body)
			}
			r, _, _ := strings.Cut(rest, "</tr>")
			return r
		}
		if r := row(on.GUID); !strings.Contains(r, ", connected since 2026-03-04 05:06 UTC") {
			t.Errorf("connected board's row: %s", r)
		}
		if r := row(off.GUID); !strings.Contains(r, ", disconnected since 2026-03-04 05:06 UTC") {
			t.Errorf("disconnected board's row: %s", r)
		}
		if r := row(unread.GUID); strings.Contains(r, "connected") {
			t.Errorf("board never read shows a connection: %s", r)
		}
	})
}
