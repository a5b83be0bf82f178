package dps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// TestQueryRepeatedContinuation runs on the fake's server with a broken handler: the emulator never
// hands back the token it was given.
func TestQueryRepeatedContinuation(t *testing.T) {
	_, srv := newFakeDPS(t)
	loop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(dpsapi.HeaderContinuation, "same")
		fmt.Fprint(w, `[{"registrationId":"a","attestation":{"type":"tpm"}}]`)
	})
	srv.Config.Handler = loop
	c, _ := newTestClient(t, srv, nil)
	var last error
	n := 0
	for _, err := range c.QueryEnrollments(context.Background(), "*", 1) {
		n++
		last = err
		if n > 10 {
			t.Fatal("the pager follows a continuation token that never changes")
		}
	}
	if !errors.Is(last, ErrBadResponse) {
		t.Errorf("last = %v, want ErrBadResponse", last)
	}
}
