package apitoken

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
)

func TestNewIsStoredAsItsHashOnly(t *testing.T) {
	secret, rec := New("acme", "erp", records.RoleActivator, "op", time.Now())
	if !strings.HasPrefix(secret, Prefix) || !Valid(secret) {
		t.Fatalf("token %q", secret)
	}
	if rec.TokenSHA256 != Hash(secret) || strings.Contains(rec.TokenSHA256, secret[len(Prefix):]) || len(rec.ID) != 12 {
		t.Errorf("record %+v", rec)
	}
	other, _ := New("acme", "erp", records.RoleActivator, "op", time.Now())
	if other == secret {
		t.Error("two tokens alike")
	}
	got, err := FromHeader("Bearer " + secret)
	if err != nil || got != secret {
		t.Errorf("FromHeader: %q %v", got, err)
	}
	for _, h := range []string{"", "Basic dXNlcjpwdw==", "Bearer", "Bearer " + secret[:len(secret)-1], "Bearer " + strings.Replace(secret, "oobp_", "oobx_", 1), "Bearer " + secret + "A"} {
		if _, err := FromHeader(h); err == nil {
			t.Errorf("FromHeader(%q) accepted", h)
		}
	}
	if _, err := FromHeader("Bearer x"); !errors.Is(err, ErrMalformed) {
		t.Errorf("a bearer value that is no token: %v", err)
	}
}

func FuzzFromHeader(f *testing.F) {
	secret, _ := New("acme", "erp", records.RoleViewer, "op", time.Now())
	for _, s := range []string{"Bearer " + secret, "bearer " + secret, "Bearer  " + secret + " ", "", "Bearer", "Basic x", "Bearer oobp_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := FromHeader(h)
		if err != nil {
			return
		}
		if !Valid(tok) || !strings.Contains(h, tok) || Hash(tok) != Hash(tok) {
			t.Fatalf("FromHeader(%q) = %q", h, tok)
		}
	})
}
