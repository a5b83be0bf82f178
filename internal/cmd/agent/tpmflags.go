package agent

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/tpm"
)

// Environment variables that carry TPM hierarchy passwords.
const (
	envEndorsementAuth = "OOB_ENDORSEMENT_AUTH"
	envOwnerAuth       = "OOB_OWNER_AUTH"
)

// tpmOptions are the flags that choose and unlock the TPM.
type tpmOptions struct {
	Spec                string
	EndorsementAuthFile string
	OwnerAuthFile       string
}

func (o *tpmOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.Spec, "tpm", "/dev/tpmrm0", "TPM to use: a device path, or tcp://HOST:PORT for swtpm's TCP server")
	fs.StringVar(&o.EndorsementAuthFile, "endorsement-auth-file", "",
		"file (mode 0600) holding the endorsement hierarchy password (or set "+envEndorsementAuth+")")
	fs.StringVar(&o.OwnerAuthFile, "owner-auth-file", "",
		"file (mode 0600) holding the owner hierarchy password (or set "+envOwnerAuth+")")
}

func (o *tpmOptions) open(ctx context.Context) (*tpm.TPM, error) {
	ea, err := cli.Secret(envEndorsementAuth, o.EndorsementAuthFile)
	if err != nil {
		return nil, fmt.Errorf("endorsement hierarchy password: %w", err)
	}
	oa, err := cli.Secret(envOwnerAuth, o.OwnerAuthFile)
	if err != nil {
		return nil, fmt.Errorf("owner hierarchy password: %w", err)
	}
	return tpm.Open(ctx, tpm.Config{Path: o.Spec, EndorsementAuth: ea, OwnerAuth: oa})
}
