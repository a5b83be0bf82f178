package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/apitoken"
)

// runGuarded runs oob-portal as main does, through cli.Run and its guard against secrets in
// arguments.
func runGuarded(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := cli.Test(strings.NewReader(""), &out, &errOut)
	code = cli.Run(context.Background(), NewRootCmd(ios, "test"), ios, args)
	return out.String(), errOut.String(), code
}

func TestTokenCreateListRevoke(t *testing.T) {
	dir := t.TempDir()
	store, err := records.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AddCustomer(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	store.Close()

	secret, errOut, code := runGuarded(t, "token", "create", "--data", dir, "--customer", "acme", "--name", "erp", "--role", "activator")
	secret = strings.TrimSpace(secret)
	if code != 0 || !apitoken.Valid(secret) || strings.Contains(errOut, secret) {
		t.Fatalf("create: exit %d, stdout %q, stderr %s", code, secret, errOut)
	}
	asJSON, _, code := runGuarded(t, "token", "create", "--data", dir, "--customer", "acme", "--name", "mes", "--role", "viewer", "--format", "json")
	var made map[string]any
	if code != 0 || json.Unmarshal([]byte(asJSON), &made) != nil || !apitoken.Valid(made["token"].(string)) || made["id"] == "" || made["role"] != "viewer" {
		t.Fatalf("create --format json: exit %d %s", code, asJSON)
	}
	out, errOut, code := runGuarded(t, "token", "list", "--data", dir, "--customer", "acme", "--format", "json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[0]["name"] != "erp" || list[0]["role"] != "activator" {
		t.Fatalf("list: exit %d %s %s", code, out, errOut)
	}
	if strings.Contains(out, secret) || strings.Contains(out, apitoken.Hash(secret)) {
		t.Error("the list shows the token or its hash")
	}
	id := list[0]["id"].(string)
	if out, _, _ := runGuarded(t, "token", "list", "--data", dir); !strings.Contains(out, id) || !strings.Contains(out, "LAST USED") {
		t.Errorf("text list: %s", out)
	}
	if _, errOut, code := runGuarded(t, "token", "revoke", "--data", dir, "--customer", "other", id); code != 3 {
		t.Errorf("revoking another customer's token: exit %d %s", code, errOut)
	}
	if _, errOut, code := runGuarded(t, "token", "revoke", "--data", dir, "--customer", "acme", id); code != 0 || !strings.Contains(errOut, "revoked") {
		t.Errorf("revoke: exit %d %s", code, errOut)
	}
	store, _ = records.OpenSQLite(context.Background(), dir)
	defer store.Close()
	if _, err := store.APITokenByHash(context.Background(), apitoken.Hash(secret)); err == nil {
		t.Error("a revoked token is still live")
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"token", "create", "--data", dir, "--customer", "acme", "--name", "erp", "--role", "admin"}, 2},
		{[]string{"token", "create", "--data", dir, "--customer", "acme", "--role", "viewer"}, 2},
		{[]string{"token", "create", "--data", dir, "--customer", "nobody", "--name", "erp", "--role", "viewer"}, 3},
		{[]string{"token", "revoke", "--data", dir, id}, 2},
		// A token pasted into a command line is refused before anything reads it.
		{[]string{"token", "revoke", "--data", dir, "--customer", "acme", secret}, 2},
	} {
		if out, errOut, code := runGuarded(t, tc.args...); code != tc.code || out != "" || strings.Contains(errOut, secret) {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %s", tc.args, code, tc.code, out, errOut)
		}
	}
}
