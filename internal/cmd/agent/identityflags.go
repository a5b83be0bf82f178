package agent

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/pkg/identity"
)

// identityOptions choose what the device's identity says beyond its EK.
type identityOptions struct {
	RegistrationID string
	Label          string
}

func (o *identityOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.RegistrationID, "registration-id", "",
		"an OEM-chosen DPS registration ID (default: derived from the EK, as Microsoft's tools do)")
	fs.StringVar(&o.Label, "label", "", "a short device label carried in the QR code (at most 32 bytes)")
}

// readIdentity opens the TPM and returns the device identity with the chosen options applied.
func readIdentity(ctx context.Context, t tpmOptions, o identityOptions) (identity.Identity, error) {
	dev, err := t.open(ctx)
	if err != nil {
		return identity.Identity{}, err
	}
	defer dev.Close()
	return dev.DeviceIdentity(ctx, o.RegistrationID, o.Label)
}
