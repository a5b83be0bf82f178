package records

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCodeFailuresAreCountedAndReported: failed attempts counted per organisation, board and
// address; an audit line at the 10th and the 100th; an address guessing across boards reported
// as such; another organisation sees none of it.
func TestCodeFailuresAreCountedAndReported(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		for _, c := range []string{"acme", "globex"} {
			if err := s.AddCustomer(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		const g = "0b7e2c1a-3f4d-4e5f-8a9b-000000000001"
		for i := range 100 {
			// The account's organisation is the board's: counted once.
			if err := s.CodeFailed(ctx, "eve@acme.example", "acme", "acme", g, "192.0.2.7", i < 10, now); err != nil {
				t.Fatal(err)
			}
		}
		lines, _, err := s.CustomerAudit(ctx, "acme", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		var reports []string
		for _, l := range lines {
			if l.Action == "wrong-codes" {
				reports = append(reports, l.Detail)
				if l.GUID != g || l.Address != "192.0.2.7" || l.Actor != "eve@acme.example" {
					t.Errorf("report line: %+v", l)
				}
			}
		}
		if len(reports) != 2 || reports[1] != "10 wrong activation codes for board "+g+" from address 192.0.2.7" ||
			reports[0] != "10 wrong activation codes for board "+g+" from address 192.0.2.7, and 90 more attempts refused as too many" {
			t.Errorf("reports, newest first: %q", reports)
		}
		boards, addrs, err := s.CodeFailures(ctx, "acme", now.Add(-time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(boards) != 1 || boards[0].GUID != g || boards[0].Wrong != 10 || boards[0].Refused != 90 || len(addrs) != 0 {
			t.Errorf("acme's notice: %+v %+v", boards, addrs)
		}
		if b, a, _ := s.CodeFailures(ctx, "globex", now.Add(-time.Hour), 10); len(b)+len(a) != 0 {
			t.Errorf("globex sees acme's: %+v %+v", b, a)
		}
		if b, _, _ := s.CodeFailures(ctx, "acme", now.Add(time.Hour), 10); len(b) != 0 {
			t.Errorf("failures older than the window shown: %+v", b)
		}

		// Refused attempts for GUIDs never counted add no row each: one row of other boards.
		for i := range 10 {
			if err := s.CodeFailed(ctx, "eve@acme.example", "acme", "", fmt.Sprintf("%s-%d", g, i), "192.0.2.7", false, now); err != nil {
				t.Fatal(err)
			}
		}
		boards, _, _ = s.CodeFailures(ctx, "acme", now.Add(-time.Hour), 10)
		if len(boards) != 2 || boards[1].GUID != g || boards[0].GUID != "" || boards[0].Refused != 10 {
			t.Errorf("refused attempts for new GUIDs: %+v", boards)
		}
		if lines, _, _ := s.CustomerAudit(ctx, "acme", 1, 0); lines[0].Detail != "0 wrong activation codes for other boards from address 192.0.2.7, and 10 more attempts refused as too many" {
			t.Errorf("their report: %+v", lines[0])
		}

		// One guess each at ten boards from one address: the address is reported, to the
		// guesser's organisation and, for its boards, to the boards'.
		for i := range 10 {
			guid := strings.Replace(g, "001", "10"+string(rune('0'+i)), 1)
			if err := s.CodeFailed(ctx, "mallory@globex.example", "globex", "acme", guid, "198.51.100.9", true, now); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []string{"globex", "acme"} {
			_, addrs, err := s.CodeFailures(ctx, c, now.Add(-time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			// acme also sees 192.0.2.7, whose board and other boards rows make two.
			var found []CodeFailure
			for _, a := range addrs {
				if a.Address == "198.51.100.9" {
					found = append(found, a)
				}
			}
			if len(found) != 1 || found[0].Boards != 10 || found[0].Total() != 10 || len(addrs) != map[string]int{"globex": 1, "acme": 2}[c] {
				t.Errorf("%s's notice of the address: %+v", c, addrs)
			}
			// The account is named to its own organisation, not to the boards'.
			actor := map[string]string{"globex": "mallory@globex.example", "acme": "portal"}[c]
			lines, _, _ := s.CustomerAudit(ctx, c, 1, 0)
			if len(lines) != 1 || lines[0].Detail != "10 failed activation attempts from address 198.51.100.9, across 10 boards" || lines[0].Actor != actor {
				t.Errorf("%s's last audit line: %+v", c, lines)
			}
		}
	})
}
