// Package outbox sends the factory's pending enrollments to DPS: each certified board becomes a
// disabled X.509 individual enrollment, created only if it does not exist (bulk create, up to
// ten boards a request), read back and checked, retried with backoff while DPS is away.
package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// DPS is the part of the DPS service API the worker uses.
type DPS interface {
	GetEnrollment(ctx context.Context, id string) (*dpsapi.IndividualEnrollment, error)
	Bulk(ctx context.Context, mode dpsapi.BulkMode, enrollments []dpsapi.IndividualEnrollment) (*dps.BulkResult, error)
	CreateOrUpdateEnrollment(ctx context.Context, e *dpsapi.IndividualEnrollment, ifMatch string) (*dpsapi.IndividualEnrollment, error)
}

// Store is the part of the records the worker uses.
type Store interface {
	Enrollments(ctx context.Context, state string) ([]records.Enrollment, error)
	Attempted(ctx context.Context, guid, cert string, cause error) error
	Finish(ctx context.Context, guid, cert string, cause error) error
}

// ErrMismatch means DPS holds an enrollment for the GUID with another certificate, or one that
// is not disabled; the factory does not overwrite it.
var ErrMismatch = errors.New("outbox: DPS holds a different enrollment for this board")

// Worker sends pending enrollments.
type Worker struct {
	DPS   DPS
	Store Store
	// Factory names this factory in each enrollment's tags.
	Factory string
	// MinBackoff and MaxBackoff bound the wait between rounds while DPS is away; zero means 1 s
	// and 5 min.
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often Run looks for new work when idle; zero means 5 s.
	Poll time.Duration
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

func (w *Worker) log() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// Round is what one pass over the outbox did.
type Round struct {
	Enrolled, Failed, Pending int
	// LastError is the last transient failure, when Pending > 0.
	LastError error
}

// RunOnce tries every pending enrollment once.
func (w *Worker) RunOnce(ctx context.Context) (Round, error) {
	var r Round
	pending, err := w.Store.Enrollments(ctx, records.OutboxPending)
	if err != nil {
		return r, err
	}
	results := w.sendAll(ctx, pending)
	for i, e := range pending {
		err := results[i]
		var perm *permanent
		switch {
		case err == nil:
			r.Enrolled++
			err = w.Store.Finish(ctx, e.GUID, e.Certificate, nil)
		case errors.As(err, &perm):
			r.Failed++
			w.log().Error("outbox: enrollment failed", "guid", e.GUID, "err", perm.err)
			err = w.Store.Finish(ctx, e.GUID, e.Certificate, perm.err)
		default:
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			r.Pending++
			r.LastError = err
			w.log().Warn("outbox: DPS did not take the enrollment; will retry", "guid", e.GUID, "err", err)
			err = w.Store.Attempted(ctx, e.GUID, e.Certificate, err)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// Run sends enrollments until ctx ends: at once when wake fires, every Poll otherwise, backing
// off while DPS refuses.
func (w *Worker) Run(ctx context.Context, wake <-chan struct{}) error {
	minB, maxB, poll := w.MinBackoff, w.MaxBackoff, w.Poll
	if minB <= 0 {
		minB = time.Second
	}
	if maxB <= 0 {
		maxB = 5 * time.Minute
	}
	if poll <= 0 {
		poll = 5 * time.Second
	}
	backoff := minB
	for {
		r, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		wait := poll
		if err != nil || r.Pending > 0 {
			wait = backoff
			backoff = min(2*backoff, maxB)
		} else {
			backoff = minB
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// permanent wraps a failure that retrying will not cure.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }

// sendAll makes each entry's enrollment exist in DPS, disabled, with the entry's certificate,
// and returns one result per entry: nil once read back and checked.
func (w *Worker) sendAll(ctx context.Context, pending []records.Enrollment) []error {
	results := make([]error, len(pending))
	var fresh []int
	for i, e := range pending {
		if e.Replace {
			results[i] = w.replace(ctx, e)
		} else {
			fresh = append(fresh, i)
		}
	}
	for start := 0; start < len(fresh); start += dpsapi.MaxBulkEnrollments {
		w.create(ctx, pending, fresh[start:min(start+dpsapi.MaxBulkEnrollments, len(fresh))], results)
	}
	return results
}

// create sends the entries at indexes in one create-only bulk request, then checks each: one
// DPS created, and one that already existed (sent before a crash or a lost answer), are read
// back; any other enrollment under the GUID is left alone and reported.
func (w *Worker) create(ctx context.Context, pending []records.Enrollment, indexes []int, results []error) {
	var batch []dpsapi.IndividualEnrollment
	var sent []int
	for _, i := range indexes {
		e := pending[i]
		if _, err := leafThumbprint(e); err != nil {
			results[i] = err
			continue
		}
		if err := dps.CheckRegistrationID(e.GUID); err != nil {
			results[i] = &permanent{fmt.Errorf("outbox: board %s: %w", e.GUID, err)}
			continue
		}
		batch = append(batch, *w.enrollment(e))
		sent = append(sent, i)
	}
	if len(batch) == 0 {
		return
	}
	res, err := w.DPS.Bulk(ctx, dpsapi.BulkCreate, batch)
	refused := map[string]error{}
	if err != nil {
		for _, e := range batch {
			refused[e.RegistrationID] = err
		}
	} else {
		for _, item := range res.Errors {
			refused[item.RegistrationID] = item.Cause("create enrollment")
		}
	}
	for _, i := range sent {
		e := pending[i]
		if err := refused[e.GUID]; err != nil && !dps.IsConflict(err) {
			results[i] = classify(err)
			continue
		}
		results[i] = w.check(ctx, e)
	}
}

// replace puts a re-issued board's certificate in place of the one DPS holds.
func (w *Worker) replace(ctx context.Context, e records.Enrollment) error {
	want, err := leafThumbprint(e)
	if err != nil {
		return err
	}
	have, err := w.DPS.GetEnrollment(ctx, e.GUID)
	switch {
	case dps.IsNotFound(err):
		_, err = w.DPS.CreateOrUpdateEnrollment(ctx, w.enrollment(e), "")
	case err != nil:
	case primaryThumbprint(have) == want:
		// Replaced before a crash or a lost answer: already done.
	default:
		_, err = w.DPS.CreateOrUpdateEnrollment(ctx, w.enrollment(e), have.ETag)
	}
	if err != nil {
		return classify(err)
	}
	return w.check(ctx, e)
}

// check reads e's enrollment back: it must hold e's certificate and be disabled before the
// board counts as pre-enrolled.
func (w *Worker) check(ctx context.Context, e records.Enrollment) error {
	want, err := leafThumbprint(e)
	if err != nil {
		return err
	}
	got, err := w.DPS.GetEnrollment(ctx, e.GUID)
	if err != nil {
		return classify(err)
	}
	if have := primaryThumbprint(got); have != want {
		return &permanent{fmt.Errorf("%w: %s is enrolled with certificate %s, not the factory's %s: check who created it; "+
			"`oob-factory board reissue` replaces it", ErrMismatch, e.GUID, have, want)}
	}
	if got.ProvisioningStatus != dpsapi.StatusDisabled {
		return &permanent{fmt.Errorf("%w: read back, %s is %q, not disabled", ErrMismatch, e.GUID, got.ProvisioningStatus)}
	}
	w.log().Info("outbox: pre-enrolled", "guid", e.GUID)
	return nil
}

// leafThumbprint is the SHA-256 thumbprint of e's certificate.
func leafThumbprint(e records.Enrollment) (string, error) {
	leaf, err := boardca.ParseCertificate([]byte(e.Certificate))
	if err != nil {
		return "", &permanent{fmt.Errorf("outbox: board %s: stored certificate: %w", e.GUID, err)}
	}
	return thumbprint(leaf.Raw), nil
}

// classify marks refusals of this board's enrollment itself as permanent. Everything else is
// retried: DPS away or throttling, the network, and also refused credentials, which are the
// factory's configuration to fix rather than the board's fault.
func classify(err error) error {
	if errors.Is(err, dps.ErrBadRequest) || errors.Is(err, dps.ErrConflict) || errors.Is(err, dps.ErrInvalidID) {
		return &permanent{err}
	}
	return err
}

func (w *Worker) enrollment(e records.Enrollment) *dpsapi.IndividualEnrollment {
	tags := map[string]string{"factory": w.Factory, "manufactured": e.IssuedAt.UTC().Format(time.RFC3339)}
	if e.Line != "" {
		tags["line"] = e.Line
	}
	if e.Batch != "" {
		tags["batch"] = e.Batch
	}
	raw, _ := json.Marshal(tags)
	return &dpsapi.IndividualEnrollment{
		RegistrationID: e.GUID,
		DeviceID:       e.GUID,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: e.Certificate}},
		}},
		ProvisioningStatus: dpsapi.StatusDisabled,
		InitialTwin:        &dpsapi.InitialTwin{Tags: raw},
	}
}

func thumbprint(der []byte) string {
	s := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

func primaryThumbprint(e *dpsapi.IndividualEnrollment) string {
	if e == nil || e.Attestation == nil || e.Attestation.X509 == nil || e.Attestation.X509.ClientCertificates == nil ||
		e.Attestation.X509.ClientCertificates.Primary == nil {
		return ""
	}
	p := e.Attestation.X509.ClientCertificates.Primary
	if p.Info != nil && p.Info.SHA256Thumbprint != "" {
		return strings.ToUpper(p.Info.SHA256Thumbprint)
	}
	if c, err := boardca.ParseCertificate([]byte(p.Certificate)); err == nil {
		return thumbprint(c.Raw)
	}
	return ""
}
