// Package onboard takes a device from DPS to a working hub: it registers the device and, once DPS
// assigns it, connects to the assigned hub as the device and reports the provisioning in its twin.
package onboard

import (
	"context"
	"fmt"

	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/provision"
)

// Config is a registration with DPS and how to reach the hub it assigns.
type Config struct {
	// Provision is the registration. Its attestation also authenticates the device to its hub: a
	// TPM signs with the hub key DPS delivered, a symmetric key or certificate is used as is.
	Provision provision.Config
	// HubAddress, when set, is the host:port to dial instead of HUB:8883; the hub's certificate
	// must still name HUB.
	HubAddress string
	// Assigned, when set, is called once DPS assigns the device and before the hub is dialled, so
	// that a caller can save the assignment first. Its error is returned as is and stops there.
	Assigned func(*provision.Result) error
	// Twin, when set, is given the twin as the device read it on connecting (the desired
	// properties its owner set), once the provisioning is reported. Its error is a *HubError.
	Twin func(hubclient.Twin) error
}

// Assignment is where DPS put the device.
type Assignment struct {
	RegistrationID string
	Hub            string
	DeviceID       string
}

// HubError is a failure at the assigned hub: the device is registered but does not work yet.
type HubError struct {
	Assignment
	// Connected is set when the connection worked and reporting the provisioning failed.
	Connected bool
	Err       error
}

func (e *HubError) Error() string {
	if e.Connected {
		return fmt.Sprintf("connected to %s, but reporting the provisioning in the twin failed: %v", e.Hub, e.Err)
	}
	return fmt.Sprintf("DPS assigned %s to %s, but connecting to the hub failed: %v", e.RegistrationID, e.Hub, e.Err)
}

func (e *HubError) Unwrap() error { return e.Err }

// Register registers the device with DPS and, when DPS assigns it, connects to the hub and
// reports the provisioning (Connect). res is DPS's answer, nil when there is none (err then says
// why: provision.ErrNotEnrolled, a timeout, ...). With an answer, err is nil unless the device
// was assigned and Config.Assigned or the hub failed (a *HubError).
func Register(ctx context.Context, cfg Config) (res *provision.Result, err error) {
	res, err = provision.Register(ctx, cfg.Provision)
	if err != nil {
		return nil, err
	}
	if !res.Assigned() {
		return res, nil
	}
	if cfg.Assigned != nil {
		if err := cfg.Assigned(res); err != nil {
			return res, err
		}
	}
	return res, Connect(ctx, cfg, Assignment{RegistrationID: res.RegistrationID, Hub: res.AssignedHub, DeviceID: res.DeviceID})
}

// Connect connects to the assigned hub as the device, with the credentials in cfg.Provision, and
// reports the provisioning in its twin: the proof that the device works. Its failures are
// *HubError; hubclient.ErrNotAuthorized among them means the hub refused the device's key.
func Connect(ctx context.Context, cfg Config, a Assignment) error {
	p := cfg.Provision
	hc := hubclient.Config{HubHost: a.Hub, DeviceID: a.DeviceID, Address: cfg.HubAddress, RootCAs: p.RootCAs}
	switch {
	case p.TPM != nil:
		hc.Signer = p.TPM
	case p.SymmetricKey != nil:
		hc.Key = *p.SymmetricKey
	default:
		hc.Certificate = p.Certificate
	}
	conn, err := hubclient.Connect(ctx, hc)
	if err != nil {
		return &HubError{Assignment: a, Err: err}
	}
	defer conn.Close()
	twin, _, err := hubclient.ReportProvisioning(ctx, conn, hubclient.ProvisioningInfo{RegistrationID: a.RegistrationID})
	if err != nil {
		return &HubError{Assignment: a, Connected: true, Err: err}
	}
	if cfg.Twin != nil {
		if err := cfg.Twin(twin); err != nil {
			return &HubError{Assignment: a, Connected: true, Err: err}
		}
	}
	return nil
}
