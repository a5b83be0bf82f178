package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/boardcsv"
)

// Bounds of a CSV import.
const (
	ImportMaxBytes = 5 << 20 // the file
	ImportMaxRows  = 1000
	importMaxField = 1024
	importWorkers  = 4 // rows activated at once
	// importTime bounds the whole import, beyond the server's usual write timeout.
	importTime = 10 * time.Minute
)

// limitBodies bounds request bodies: 64 KiB, but a CSV import's file and its form around it.
func limitBodies(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int64(64 << 10)
		if r.URL.Path == "/boards/import" {
			n += ImportMaxBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

// importLimit answers an upload said to be larger than the limit before reading any of it.
func (s *Server) importLimit(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > ImportMaxBytes+64<<10 {
			s.message(w, r, s.current(r), http.StatusRequestEntityTooLarge, "File too large",
				fmt.Sprintf("A CSV file may have at most %d MiB. Split it into several files.", ImportMaxBytes>>20))
			return
		}
		h(w, r)
	}
}

// Outcomes of an imported row.
const (
	outcomeActivated = "activated"
	outcomeRefused   = "refused"   // its fields are wrong; nothing written
	outcomeNotFound  = "not found" // no board of the organisation with that GUID and code
	outcomeChanged   = "changed"   // someone else changed the enrollment in between
	outcomeFailed    = "failed"    // DPS or the records failed; try again
	outcomeNotTried  = "not tried" // the attempt budget ran out
)

type importRow struct {
	Line             int
	GUID             string
	Outcome, Message string
}

type importPage struct {
	Columns  string
	MaxRows  int
	MaxMiB   int
	Error    string
	Rows     []importRow
	Counts   map[string]int
	Outcomes []string
}

func (s *Server) importView(ctx context.Context, a *auth, p importPage) *view {
	if o, err := s.org(ctx, a.user.Customer); err == nil {
		p.Columns = strings.Join(append([]string{"guid", "code", "hub"}, o.fieldNames()...), ", ")
	}
	p.MaxRows, p.MaxMiB = ImportMaxRows, ImportMaxBytes>>20
	return &view{Title: "Activate from a CSV file", User: a.user, CSRF: a.ses.FormToken, P: p}
}

func (s *Server) importForm(w http.ResponseWriter, r *http.Request, a *auth) {
	if a.user.Role == records.RoleViewer {
		s.message(w, r, a, http.StatusForbidden, "Not allowed", "Your role is viewer: ask an activator or an administrator of "+a.user.Customer+" to activate boards.")
		return
	}
	s.render(w, r, http.StatusOK, "import", s.importView(r.Context(), a, importPage{}))
}

// importCSV activates each row of the uploaded file as the activation form would, and shows
// what became of each.
func (s *Server) importCSV(w http.ResponseWriter, r *http.Request, a *auth) {
	if a.user.Role == records.RoleViewer {
		s.message(w, r, a, http.StatusForbidden, "Not allowed", "Your role is viewer: ask an activator or an administrator of "+a.user.Customer+" to activate boards.")
		return
	}
	if s.cfg.DPS == nil {
		s.message(w, r, a, http.StatusServiceUnavailable, "Activation unavailable", "The portal has no connection to DPS configured. Tell the portal's operator.")
		return
	}
	// One attempt from the account's and the address's budgets for the import itself, so that
	// no file's first row is a free guess.
	budgets := activation.Attempts{Account: s.cfg.Limits.Account, Address: s.cfg.Limits.Address}
	if err := budgets.Spend(a.user.Email, "", address(r)); err != nil {
		s.tooMany(w, r, a, err)
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		s.render(w, r, http.StatusBadRequest, "import", s.importView(r.Context(), a, importPage{Error: "Choose a CSV file to upload."}))
		return
	}
	defer f.Close()
	if fh.Size > ImportMaxBytes {
		s.render(w, r, http.StatusRequestEntityTooLarge, "import", s.importView(r.Context(), a, importPage{
			Error: fmt.Sprintf("Nothing was activated. The file has more than %d MiB: split it into several files.", ImportMaxBytes>>20)}))
		return
	}
	o, err := s.org(r.Context(), a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	_, rows, err := boardcsv.Parse(f, []string{"guid", "code", "hub"}, o.fieldNames(), boardcsv.Limits{MaxRows: ImportMaxRows, MaxField: importMaxField})
	if err != nil {
		s.render(w, r, http.StatusUnprocessableEntity, "import", s.importView(r.Context(), a, importPage{Error: "Nothing was activated. The file was refused: " + err.Error() + "."}))
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(importTime))
	ctx, cancel := context.WithTimeout(r.Context(), importTime)
	defer cancel()

	out := make([]importRow, len(rows))
	seen := map[string]int{}
	var mu sync.Mutex
	budget := true // the account's and the address's budgets, until a wrong code empties one
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range importWorkers {
		wg.Go(func() {
			for i := range jobs {
				out[i] = s.importRow(ctx, r, a, o, rows[i], &mu, &budget)
			}
		})
	}
	for i, row := range rows {
		guid := strings.ToLower(strings.TrimSpace(row.Cells["guid"]))
		if first, dup := seen[guid]; dup && guid != "" {
			out[i] = importRow{Line: row.Line, GUID: guid, Outcome: outcomeRefused, Message: fmt.Sprintf("The same GUID as row %d: each board once.", first)}
			continue
		}
		seen[guid] = row.Line
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	p := importPage{Rows: out, Counts: map[string]int{}}
	for _, o := range out {
		p.Counts[o.Outcome]++
	}
	for _, o := range []string{outcomeActivated, outcomeRefused, outcomeNotFound, outcomeChanged, outcomeFailed, outcomeNotTried} {
		if p.Counts[o] > 0 {
			p.Outcomes = append(p.Outcomes, o)
		}
	}
	s.cfg.Logger.Info("web: CSV import", "by", a.user.Email, "rows", len(rows), "activated", p.Counts[outcomeActivated])
	v := s.importView(r.Context(), a, p)
	v.Title = "Import report"
	s.render(w, r, http.StatusOK, "report", v)
}

// importRow activates one row through the activation form's checks and calls.
func (s *Server) importRow(ctx context.Context, r *http.Request, a *auth, o org, row boardcsv.Row, mu *sync.Mutex, budget *bool) importRow {
	guid, code := strings.ToLower(strings.TrimSpace(row.Cells["guid"])), strings.TrimSpace(row.Cells["code"])
	res := importRow{Line: row.Line, GUID: guid}
	fail := func(outcome, msg string) importRow { res.Outcome, res.Message = outcome, msg; return res }
	if guid == "" || code == "" {
		return fail(outcomeRefused, "Give the board's GUID and the activation code from its label.")
	}
	mu.Lock()
	ok := *budget
	mu.Unlock()
	if !ok || !s.cfg.Limits.Board.Allow(guid) {
		return fail(outcomeNotTried, "Too many activation attempts: wait a minute, then import the rows not tried again.")
	}
	if _, err := activation.Match(ctx, s.cfg.Store, a.user.Customer, guid, code); errors.Is(err, activation.ErrNotFound) {
		// A wrong code costs what it costs on the form, and is counted as the form counts it.
		if err := activation.Failed(ctx, s.cfg.Store, a.user.Email, a.user.Customer, guid, address(r), true); err != nil {
			s.cfg.Logger.Error("web: CSV import: counting a wrong code", "guid", guid, "err", err)
		}
		if !s.cfg.Limits.Account.Allow(a.user.Email) || !s.cfg.Limits.Address.Allow(address(r)) {
			mu.Lock()
			*budget = false
			mu.Unlock()
		}
		return fail(outcomeNotFound, "No board of "+a.user.Customer+" has that GUID and activation code. Check both against the label; each code activates its board once.")
	} else if err != nil {
		s.cfg.Logger.Error("web: CSV import", "guid", guid, "err", err)
		return fail(outcomeFailed, "The portal could not check this row. Try it again.")
	}
	values := map[string]string{}
	for _, f := range o.fieldNames() {
		values[f] = row.Cells[f]
	}
	req := o.request(guid, row.Cells["hub"], "", a.user.Customer, values)
	if fe := req.Validate(); fe != nil {
		var msgs []string
		for _, f := range append([]string{activation.FieldHub}, o.fieldNames()...) {
			if m, ok := fe[f]; ok {
				msgs = append(msgs, f+": "+m)
			}
		}
		for f, m := range fe {
			if o.schema.Field(f) == nil && f != activation.FieldHub {
				msgs = append(msgs, f+": "+m)
			}
		}
		return fail(outcomeRefused, strings.Join(msgs, " "))
	}
	_, err := activation.Activate(ctx, s.cfg.DPS, req)
	switch {
	case errors.Is(err, activation.ErrChanged):
		return fail(outcomeChanged, "Someone else changed this board's enrollment at the same time. Nothing was written; import this row again.")
	case errors.Is(err, activation.ErrNoEnrollment):
		return fail(outcomeFailed, "The factory has not pre-enrolled this board in DPS yet. Import this row again later.")
	case err != nil:
		s.cfg.Logger.Error("web: CSV import", "guid", guid, "err", err)
		return fail(outcomeFailed, "DPS did not take the change. Import this row again later.")
	}
	if _, err := s.cfg.Store.Activate(ctx, records.Activation{GUID: guid, Customer: a.user.Customer, CodeSHA256: label.CodeHash(code),
		Hub: req.Hub, Metadata: req.Kept(), Actor: a.user.Email, Detail: activation.AuditDetail(req) + "; from a CSV file", Address: address(r)}); err != nil {
		s.cfg.Logger.Error("web: board enabled in DPS but not recorded", "guid", guid, "err", err)
		return fail(outcomeFailed, "DPS holds the activation but the portal could not record it. Tell the portal's operator the time it happened.")
	}
	res.Outcome, res.Message = outcomeActivated, "Activated for "+req.Hub+"."
	return res
}
