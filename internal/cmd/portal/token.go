package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dataflags"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/apitoken"
)

// NewCmdToken returns `oob-portal token`.
func NewCmdToken(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the API tokens customer organisations' systems use",
		Long: `API tokens let a customer organisation's own systems (an ERP, a commissioning tool) use
the portal's JSON API under /api/v1/ (docs/portal.md, "API"). Each token belongs to one
organisation and has a role: viewer reads its boards, activator also activates them.`,
	}
	cmd.AddCommand(NewCmdTokenCreate(ios, nil), NewCmdTokenList(ios, nil), NewCmdTokenRevoke(ios, nil))
	return cmd
}

// actor names who ran a command, for the audit trail.
func actor(command string) string {
	if u := os.Getenv("USER"); u != "" {
		return command + " (" + u + ")"
	}
	return command
}

// TokenCreateOptions are the inputs of `oob-portal token create`.
type TokenCreateOptions struct {
	IO       *cli.IOStreams
	Data     dataflags.Flags
	Customer string
	Name     string
	Role     string
	Format   *cli.FormatFlag
}

// NewCmdTokenCreate returns `oob-portal token create`. runF replaces the run function in tests.
func NewCmdTokenCreate(ios *cli.IOStreams, runF func(context.Context, *TokenCreateOptions) error) *cobra.Command {
	opts := &TokenCreateOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "create --customer NAME --name LABEL --role viewer|activator",
		Short: "Make an API token for a customer's system and print it once",
		Long: `Make an API token for one of a customer's systems and print it, once, on standard
output: only its SHA-256 is stored, so it cannot be shown again (make another and revoke
this one if it is lost). Hand it over as a secret; the system sends it in an
Authorization: Bearer header. --name says which system holds it, for token list.

Roles: viewer lists and reads the organisation's boards; activator also activates them.`,
		Example: `  oob-portal token create --customer acme --name erp --role activator > erp-token
  chmod 600 erp-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Customer, opts.Name = strings.TrimSpace(opts.Customer), strings.TrimSpace(opts.Name)
			if opts.Customer == "" || opts.Name == "" {
				return cli.Usagef("give --customer and --name")
			}
			if err := apitoken.CheckName(opts.Name); err != nil {
				return cli.Usagef("--name: %v", err)
			}
			if !records.ValidTokenRole(opts.Role) {
				return cli.Usagef("--role must be viewer or activator")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return tokenCreateRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Customer, "customer", "", "the organisation, as the factory recorded it")
	f.StringVar(&opts.Name, "name", "", "which of the organisation's systems will hold the token")
	f.StringVar(&opts.Role, "role", "", "viewer or activator")
	f.Var(opts.Format, "format", opts.Format.Usage())
	opts.Data.Register(f, "the factory's data directory, where its SQLite database is")
	return cmd
}

func tokenCreateRun(ctx context.Context, opts *TokenCreateOptions) error {
	store, err := opts.Data.Open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	secret, t := apitoken.New(opts.Customer, opts.Name, opts.Role, actor("oob-portal token create"), time.Now())
	if err := store.AddAPIToken(ctx, t); errors.Is(err, records.ErrNotFound) {
		return &cli.NotFoundError{Err: err}
	} else if err != nil {
		return err
	}
	if opts.Format.Value == cli.FormatJSON {
		return json.NewEncoder(opts.IO.Out).Encode(struct {
			Token string `json:"token"`
			*records.APIToken
		}{secret, t})
	}
	fmt.Fprintln(opts.IO.Out, secret)
	fmt.Fprintf(opts.IO.ErrOut, "token %s (%s of %s, for %s) made: the line above is shown only now; keep it as a secret (a 0600 file)\n",
		t.ID, t.Role, t.Customer, t.Name)
	return nil
}

// TokenListOptions are the inputs of `oob-portal token list`.
type TokenListOptions struct {
	IO       *cli.IOStreams
	Data     dataflags.Flags
	Customer string
	Format   *cli.FormatFlag
}

// NewCmdTokenList returns `oob-portal token list`. runF replaces the run function in tests.
func NewCmdTokenList(ios *cli.IOStreams, runF func(context.Context, *TokenListOptions) error) *cobra.Command {
	opts := &TokenListOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "list [--customer NAME]",
		Short: "List API tokens: ID, organisation, name, role, created, last used, revoked",
		Long: `List the API tokens, revoked ones included, oldest first: every organisation's, or
--customer's. A token is named by its ID (for token revoke); the token itself is never
shown again after token create.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return tokenListRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Customer, "customer", "", "only this organisation's tokens")
	f.Var(opts.Format, "format", opts.Format.Usage())
	opts.Data.Register(f, "the factory's data directory, where its SQLite database is")
	return cmd
}

func tokenListRun(ctx context.Context, opts *TokenListOptions) error {
	store, err := opts.Data.Open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	list, err := store.APITokens(ctx, strings.TrimSpace(opts.Customer))
	if err != nil {
		return err
	}
	if opts.Format.Value == cli.FormatJSON {
		if list == nil {
			list = []records.APIToken{}
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCUSTOMER\tNAME\tROLE\tCREATED\tLAST USED\tREVOKED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Customer, t.Name, t.Role, when(t.CreatedAt), when(t.LastUsedAt), when(t.RevokedAt))
	}
	return tw.Flush()
}

// TokenRevokeOptions are the inputs of `oob-portal token revoke`.
type TokenRevokeOptions struct {
	IO       *cli.IOStreams
	Data     dataflags.Flags
	Customer string
	ID       string
}

// NewCmdTokenRevoke returns `oob-portal token revoke`. runF replaces the run function in tests.
func NewCmdTokenRevoke(ios *cli.IOStreams, runF func(context.Context, *TokenRevokeOptions) error) *cobra.Command {
	opts := &TokenRevokeOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "revoke --customer NAME ID",
		Short: "End an API token at once",
		Long: `End the customer's API token with ID (as token list shows it): the next request with
it is refused (401). Revoking cannot be undone; make a new token instead.`,
		Example: `  oob-portal token revoke --customer acme 3f9c2a7d10be`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Customer, opts.ID = strings.TrimSpace(opts.Customer), strings.TrimSpace(args[0])
			if opts.Customer == "" {
				return cli.Usagef("give --customer, the organisation the token belongs to")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return tokenRevokeRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Customer, "customer", "", "the organisation the token belongs to")
	opts.Data.Register(f, "the factory's data directory, where its SQLite database is")
	return cmd
}

func tokenRevokeRun(ctx context.Context, opts *TokenRevokeOptions) error {
	store, err := opts.Data.Open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.RevokeAPIToken(ctx, opts.Customer, opts.ID, actor("oob-portal token revoke"), time.Now()); errors.Is(err, records.ErrNotFound) {
		return &cli.NotFoundError{Err: fmt.Errorf("%w: see oob-portal token list --customer %s", err, opts.Customer)}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "token %s of %s revoked\n", opts.ID, opts.Customer)
	return nil
}
