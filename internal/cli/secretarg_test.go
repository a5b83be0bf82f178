package cli

import "testing"

func TestSecretArg(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"token", "create", "--customer", "acme", "--name", "erp", "--role", "activator"}, -1},
		{[]string{"token", "revoke", "--customer", "acme", "3f9c2a7d10be"}, -1},
		{[]string{"--x", "HostName=h;SharedAccessKeyName=p;SharedAccessKey=abc"}, 1},
		{[]string{"get", "--token=oobp_Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8"}, 1},
		{[]string{"Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMTI="}, 0},
	} {
		if got := SecretArg(tc.args); got != tc.want {
			t.Errorf("SecretArg(%q) = %d, want %d", tc.args, got, tc.want)
		}
	}
}
