package activation

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/ratelimit"
)

// ErrNotFound means no board of the organisation has that GUID and activation code: an unknown
// board, another organisation's, a wrong code and a spent one are one answer, so that nothing
// tells an organisation whether a GUID belongs to another.
var ErrNotFound = errors.New("activation: no board of the organisation has that GUID and activation code")

// ErrTooManyAttempts means an attempt budget is spent: the check was not made. The error Check
// returns wraps it in a *TooManyAttempts saying when to try again.
var ErrTooManyAttempts = errors.New("activation: too many activation attempts; wait a minute, then try again")

// TooManyAttempts is ErrTooManyAttempts with the wait until the spent budget has an attempt
// again, which the pages and the API send as Retry-After.
type TooManyAttempts struct{ RetryAfter time.Duration }

func (e *TooManyAttempts) Error() string {
	return fmt.Sprintf("activation: too many activation attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

func (e *TooManyAttempts) Unwrap() error { return ErrTooManyAttempts }

// RetryAfter returns the whole seconds, at least 1, a refusal of err asks the client to wait.
func RetryAfter(err error) int {
	var tm *TooManyAttempts
	if !errors.As(err, &tm) {
		return 60
	}
	return max(1, int((tm.RetryAfter+time.Second-1)/time.Second))
}

// Attempts are the budgets each activation-code check spends one attempt from: the account's
// (a user or an API token), the board's and the client address's.
type Attempts struct {
	Account, Board, Address *ratelimit.Limiter
}

// Spend takes one attempt from each budget (a nil one is skipped), or returns a
// *TooManyAttempts for the first one spent (the budgets before it have paid).
func (at Attempts) Spend(account, guid, address string) error {
	for _, b := range []struct {
		l   *ratelimit.Limiter
		key string
	}{{at.Account, account}, {at.Board, guid}, {at.Address, address}} {
		if b.l != nil && !b.l.Allow(b.key) {
			return &TooManyAttempts{RetryAfter: b.l.Wait(b.key)}
		}
	}
	return nil
}

// Check spends one attempt from each of at's budgets (a *TooManyAttempts when one is spent),
// then returns guid's board if Match finds code is its code, else ErrNotFound. Each failure, a
// wrong code or a refused attempt, is counted for the account's organisation (customer) and for
// the board's when it is another's (records.CodeFailed), whose admins are told when it repeats.
func Check(ctx context.Context, store *records.Store, at Attempts, account, address, customer, guid, code string) (*records.Board, error) {
	if err := at.Spend(account, guid, address); err != nil {
		if ferr := Failed(ctx, store, account, customer, guid, address, false); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	b, err := Match(ctx, store, customer, guid, code)
	if errors.Is(err, ErrNotFound) {
		if ferr := Failed(ctx, store, account, customer, guid, address, true); ferr != nil {
			return nil, ferr
		}
	}
	return b, err
}

// Failed counts a failed attempt (wrong: a code checked and wrong, else one refused as too many)
// by account for its organisation, customer, and for the board's.
func Failed(ctx context.Context, store *records.Store, account, customer, guid, address string, wrong bool) error {
	boardOrg := ""
	if b, err := store.Board(ctx, guid); err == nil {
		boardOrg = b.Customer
	} else if !errors.Is(err, records.ErrNotFound) {
		return err
	}
	return store.CodeFailed(ctx, account, customer, boardOrg, guid, address, wrong, time.Now())
}

// Match returns guid's board if it was shipped to customer and code is its unspent activation
// code (compared by label.CodeHash, in constant time), else ErrNotFound. It spends no attempt:
// callers spend from the budgets first (Check does both).
func Match(ctx context.Context, store *records.Store, customer, guid, code string) (*records.Board, error) {
	b, err := store.Board(ctx, guid)
	if errors.Is(err, records.ErrNotFound) || (err == nil && b.Customer != customer) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	want, err := store.ActivationCode(ctx, guid)
	if errors.Is(err, records.ErrNotFound) || (err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(label.CodeHash(code))) != 1) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}
