package portal

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dataflags"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/web"
)

// EnvPortalURL is the portal's public address, the default of --portal-url.
const EnvPortalURL = "OOB_PORTAL_URL"

// NewCmdUser returns `oob-portal user`.
func NewCmdUser(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage the portal's users"}
	cmd.AddCommand(NewCmdUserInvite(ios, nil))
	return cmd
}

// InviteOptions are the inputs of `oob-portal user invite`.
type InviteOptions struct {
	IO        *cli.IOStreams
	Data      dataflags.Flags
	Customer  string
	Email     string
	Role      string
	PortalURL string
	Valid     time.Duration
}

// NewCmdUserInvite returns `oob-portal user invite`. runF replaces the run function in tests.
func NewCmdUserInvite(ios *cli.IOStreams, runF func(context.Context, *InviteOptions) error) *cobra.Command {
	opts := &InviteOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "invite --customer NAME --email ADDRESS --role viewer|activator|admin",
		Short: "Print a one-time link with which a customer's user sets a password",
		Long: `Invite a user of a customer organisation (one recorded by oob-factory customer add).
The link is printed once, on standard output; only its hash is stored. It works once,
until --valid has passed. Inviting an existing user again lets them set a new password
(and gives them the new role).

Roles: viewer sees the organisation's boards; activator also activates them; admin, for
now, is an activator (managing users from the portal is to come).`,
		Example: `  oob-portal user invite --customer acme --email ann@acme.example --role activator \
      --portal-url https://portal.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Customer, opts.Email = strings.TrimSpace(opts.Customer), strings.ToLower(strings.TrimSpace(opts.Email))
			if opts.Customer == "" || opts.Email == "" {
				return cli.Usagef("give --customer and --email")
			}
			if !strings.Contains(opts.Email, "@") {
				return cli.Usagef("--email %q is not an e-mail address", opts.Email)
			}
			if !records.ValidRole(opts.Role) {
				return cli.Usagef("--role must be viewer, activator or admin")
			}
			if u, err := url.Parse(opts.PortalURL); err != nil || u.Scheme != "https" || u.Host == "" {
				return cli.Usagef("--portal-url must be the portal's https://HOST[:PORT] address (or set $%s)", EnvPortalURL)
			}
			if opts.Valid <= 0 {
				return cli.Usagef("--valid must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return inviteRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Customer, "customer", "", "the user's organisation, as the factory recorded it")
	f.StringVar(&opts.Email, "email", "", "the user's e-mail address, which they sign in with")
	f.StringVar(&opts.Role, "role", "", "viewer, activator or admin")
	f.StringVar(&opts.PortalURL, "portal-url", os.Getenv(EnvPortalURL), "the portal's public https address (default: $"+EnvPortalURL+")")
	f.DurationVar(&opts.Valid, "valid", 72*time.Hour, "how long the link works")
	opts.Data.Register(f, "the factory's data directory, where its SQLite database is")
	return cmd
}

func inviteRun(ctx context.Context, opts *InviteOptions) error {
	store, err := opts.Data.Open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	token, inv := web.NewInvite(opts.Email, opts.Customer, opts.Role, time.Now(), opts.Valid)
	err = store.AddInvite(ctx, inv, actor("oob-portal user invite"))
	switch {
	case errors.Is(err, records.ErrNotFound):
		return &cli.NotFoundError{Err: err}
	case errors.Is(err, records.ErrExists):
		return &cli.ConflictError{Err: err}
	case err != nil:
		return err
	}
	fmt.Fprintln(opts.IO.Out, web.InviteURL(opts.PortalURL, token))
	fmt.Fprintf(opts.IO.ErrOut, "invitation for %s (%s of %s), valid until %s: hand the link above to them, it works once\n",
		inv.Email, inv.Role, inv.Customer, inv.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}
