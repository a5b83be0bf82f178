package agent

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/provision"
)

// execute runs one command under a root set up as oob-agent's is, and returns the exit code and
// what was printed on standard error.
func execute(t *testing.T, newCmd func(*cli.IOStreams) *cobra.Command, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := cli.Test(strings.NewReader(""), &out, &errOut)
	root := cli.NewRoot(ios, "oob-agent", "", "", "test")
	cmd := newCmd(ios)
	root.AddCommand(cmd)
	root.SetArgs(append([]string{cmd.Name()}, args...))
	code := cli.ExitCode(root.ExecuteContext(context.Background()), &errOut)
	return code, errOut.String()
}

// parseFlags runs a command built by newCmd with args, its run function replaced, and returns
// the options it would have run with. With wantErr set it checks instead that the command stops
// before running with a usage error (exit 2) saying wantErr, and returns nil.
func parseFlags[O any](t *testing.T, newCmd func(*cli.IOStreams, func(context.Context, *O) error) *cobra.Command, args []string, wantErr string) *O {
	t.Helper()
	var got *O
	code, errOut := execute(t, func(ios *cli.IOStreams) *cobra.Command {
		return newCmd(ios, func(_ context.Context, o *O) error { got = o; return nil })
	}, args...)
	if wantErr != "" {
		if code != cli.ExitUsage || !strings.Contains(errOut, wantErr) || got != nil {
			t.Fatalf("exit %d, ran %v, stderr %q; want exit 2 before running, saying %q", code, got != nil, errOut, wantErr)
		}
		return nil
	}
	if code != cli.ExitOK || got == nil {
		t.Fatalf("exit %d, ran %v, stderr %q", code, got != nil, errOut)
	}
	return got
}

func TestShowFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// wantErr is part of the usage error; "" means the command runs.
		wantErr string
		check   func(*testing.T, *ShowOptions)
	}{
		{name: "defaults", check: func(t *testing.T, o *ShowOptions) {
			if o.Output != outputTerminal || o.TPM.Spec != "/dev/tpmrm0" || o.PayloadFormat != "v1" || o.FBDevice != "/dev/fb0" ||
				o.Status != "Waiting for enrollment" || o.Format.Value != cli.FormatText || o.FullScreen {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{name: "png to a file", args: []string{"--output", "png", "--file", "qr.png", "--label", "LINE 3", "--registration-id", "sensor-7", "--payload-format", "legacy", "--format", "json"},
			check: func(t *testing.T, o *ShowOptions) {
				if o.Output != outputPNG || o.File != "qr.png" || o.Identity.Label != "LINE 3" || o.Identity.RegistrationID != "sensor-7" ||
					o.PayloadFormat != "legacy" || o.Format.Value != cli.FormatJSON {
					t.Errorf("options: %+v", o)
				}
			}},
		{name: "framebuffer file", args: []string{"--output", "framebuffer", "--fb", "fb.raw", "--fb-mode", "640x480x32"},
			check: func(t *testing.T, o *ShowOptions) {
				if o.FBDevice != "fb.raw" || o.FBMode != "640x480x32" {
					t.Errorf("options: %+v", o)
				}
			}},
		{name: "png without a file", args: []string{"--output", "png"}, wantErr: "--output png needs --file"},
		{name: "unknown output", args: []string{"--output", "printer"}, wantErr: `unknown output "printer"`},
		{name: "fullscreen on png", args: []string{"--output", "png", "--file", "-", "--fullscreen"}, wantErr: "--fullscreen is for --output terminal"},
		{name: "unknown payload format", args: []string{"--payload-format", "v9"}, wantErr: "v9"},
		{name: "unknown format", args: []string{"--format", "yaml"}, wantErr: "yaml"},
		{name: "unknown flag", args: []string{"--colour"}, wantErr: "--colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseFlags(t, NewCmdShow, tc.args, tc.wantErr); got != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestRegisterFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		// wantErr is part of the usage error; "" means the command runs.
		wantErr string
		check   func(*testing.T, *RegisterOptions)
	}{
		{name: "defaults", args: []string{"--id-scope", "0ne00A1B2C3"}, check: func(t *testing.T, o *RegisterOptions) {
			if o.IDScope != "0ne00A1B2C3" || o.Endpoint != provision.GlobalEndpoint || o.Timeout != 5*time.Minute ||
				o.TPM.Spec != "/dev/tpmrm0" || o.Format.Value != cli.FormatText || o.CAFile != "" || o.HubAddress != "" || o.NoHub {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{name: "scope from the environment", env: map[string]string{envIDScope: "0ne0ENV"}, check: func(t *testing.T, o *RegisterOptions) {
			if o.IDScope != "0ne0ENV" {
				t.Errorf("ID scope %q, want the environment's", o.IDScope)
			}
		}},
		{name: "emulator", args: []string{"--id-scope", "s", "--tpm", "tcp://127.0.0.1:2321", "--endpoint", "localhost:8443", "--ca-file", "ca.pem", "--hub-address", "localhost:8883", "--timeout", "30s", "--format", "json"},
			check: func(t *testing.T, o *RegisterOptions) {
				if o.TPM.Spec != "tcp://127.0.0.1:2321" || o.Endpoint != "localhost:8443" || o.CAFile != "ca.pem" || o.HubAddress != "localhost:8883" ||
					o.Timeout != 30*time.Second || o.Format.Value != cli.FormatJSON {
					t.Errorf("options: %+v", o)
				}
			}},
		{name: "group key", args: []string{"--id-scope", "s", "--symmetric-key-file", "key", "--group-key", "--registration-id", "sensor-7"},
			check: func(t *testing.T, o *RegisterOptions) {
				if o.SymmetricKeyFile != "key" || !o.GroupKey || o.RegistrationID != "sensor-7" {
					t.Errorf("options: %+v", o)
				}
			}},
		{name: "no hub", args: []string{"--id-scope", "s", "--no-hub"}, check: func(t *testing.T, o *RegisterOptions) {
			if !o.NoHub {
				t.Errorf("options: %+v", o)
			}
		}},
		{name: "no hub with a hub address", args: []string{"--id-scope", "s", "--no-hub", "--hub-address", "localhost:8883"}, wantErr: "--no-hub connects to none"},
		{name: "no scope", wantErr: "--id-scope or " + envIDScope},
		{name: "certificate without key", args: []string{"--id-scope", "s", "--x509-cert", "c.pem"}, wantErr: "--x509-cert and --x509-key go together"},
		{name: "two attestations", args: []string{"--id-scope", "s", "--x509-cert", "c.pem", "--x509-key", "k.pem", "--symmetric-key-file", "key", "--registration-id", "r"}, wantErr: "choose one attestation"},
		{name: "key from the environment and a certificate", args: []string{"--id-scope", "s", "--x509-cert", "c.pem", "--x509-key", "k.pem"}, env: map[string]string{envSymmetricKey: "a2V5"}, wantErr: "choose one attestation"},
		{name: "group key without a key", args: []string{"--id-scope", "s", "--group-key"}, wantErr: "--group-key applies to a symmetric key"},
		{name: "symmetric key without ID", args: []string{"--id-scope", "s", "--symmetric-key-file", "key"}, wantErr: "a symmetric key needs --registration-id"},
		{name: "tpm with a certificate", args: []string{"--id-scope", "s", "--x509-cert", "c.pem", "--x509-key", "k.pem", "--tpm", "/dev/tpm0"}, wantErr: "--tpm applies to TPM attestation"},
		{name: "zero timeout", args: []string{"--id-scope", "s", "--timeout", "0s"}, wantErr: "--timeout must be positive"},
		{name: "bad timeout", args: []string{"--id-scope", "s", "--timeout", "soon"}, wantErr: "soon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envIDScope, tc.env[envIDScope])
			t.Setenv(envSymmetricKey, tc.env[envSymmetricKey])
			if got := parseFlags(t, NewCmdRegister, tc.args, tc.wantErr); got != nil {
				tc.check(t, got)
			}
		})
	}
}

// The exit codes `register --help` promises, from the errors its run returns.
func TestRegisterExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"assigned", nil, cli.ExitOK},
		{"not enrolled", &cli.NotFoundError{Err: provision.ErrNotEnrolled}, cli.ExitNotFound},
		{"disabled", &cli.DisabledError{Err: errors.New("the enrollment of r is disabled")}, cli.ExitDisabled},
		{"failed", errors.New("DPS could not assign r: error 400: bad"), cli.ExitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, errOut := execute(t, func(ios *cli.IOStreams) *cobra.Command {
				return NewCmdRegister(ios, func(context.Context, *RegisterOptions) error { return tc.err })
			}, "--id-scope", "s")
			if code != tc.want {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.want, errOut)
			}
			if tc.err != nil && !strings.Contains(errOut, tc.err.Error()) {
				t.Errorf("stderr %q does not say %q", errOut, tc.err)
			}
		})
	}
}

func TestIdentityFlags(t *testing.T) {
	var got *IdentityOptions
	newCmd := func(ios *cli.IOStreams) *cobra.Command {
		got = nil
		return NewCmdIdentity(ios, func(_ context.Context, o *IdentityOptions) error { got = o; return nil })
	}
	code, errOut := execute(t, newCmd, "--tpm", "tcp://127.0.0.1:2321", "--format", "csv", "--registration-id", "sensor-7", "--label", "LINE 3")
	if code != cli.ExitOK || got == nil {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got.TPM.Spec != "tcp://127.0.0.1:2321" || got.Format.Value != cli.FormatCSV || got.Identity.RegistrationID != "sensor-7" || got.Identity.Label != "LINE 3" {
		t.Errorf("options: %+v", got)
	}
	if code, errOut := execute(t, newCmd, "--format", "yaml"); code != cli.ExitUsage || got != nil || !strings.Contains(errOut, "yaml") {
		t.Errorf("--format yaml: exit %d, ran %v, stderr %q; want a usage error", code, got != nil, errOut)
	}
}

func TestRunFlags(t *testing.T) {
	var got *RunOptions
	newCmd := func(ios *cli.IOStreams) *cobra.Command {
		got = nil
		return NewCmdRun(ios, func(_ context.Context, o *RunOptions) error { got = o; return nil })
	}
	if code, errOut := execute(t, newCmd); code != cli.ExitOK || got == nil || got.Config != DefaultConfig || got.Verbose {
		t.Fatalf("defaults: exit %d, options %+v, stderr %q", code, got, errOut)
	}
	if code, errOut := execute(t, newCmd, "--config", "agent.json", "-v"); code != cli.ExitOK || got == nil || got.Config != "agent.json" || !got.Verbose {
		t.Fatalf("exit %d, options %+v, stderr %q", code, got, errOut)
	}
	if code, errOut := execute(t, newCmd, "--verbose=maybe"); code != cli.ExitUsage || got != nil {
		t.Errorf("--verbose=maybe: exit %d, ran %v, stderr %q; want a usage error", code, got != nil, errOut)
	}
}
