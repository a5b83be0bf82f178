package activation

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/ratelimit"
)

// ErrNotFound means no board of the organisation has that GUID and activation code: an unknown
// board, another organisation's, a wrong code and a spent one are one answer, so that nothing
// tells an organisation whether a GUID belongs to another.
var ErrNotFound = errors.New("activation: no board of the organisation has that GUID and activation code")

// ErrTooManyAttempts means an attempt budget is spent: the check was not made.
var ErrTooManyAttempts = errors.New("activation: too many activation attempts; wait a minute, then try again")

// Attempts are the budgets each activation-code check spends one attempt from: the account's
// (a user or an API token), the board's and the client address's.
type Attempts struct {
	Account, Board, Address *ratelimit.Limiter
}

// Check spends one attempt from each of at's budgets (ErrTooManyAttempts when one is spent),
// then returns guid's board if it was shipped to customer and code is its unspent activation
// code (compared by label.CodeHash, in constant time), else ErrNotFound.
func Check(ctx context.Context, store *records.Store, at Attempts, account, address, customer, guid, code string) (*records.Board, error) {
	if !at.Account.Allow(account) || !at.Board.Allow(guid) || !at.Address.Allow(address) {
		return nil, ErrTooManyAttempts
	}
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
