package hubclient

import (
	"context"
	"fmt"
	"time"
)

// ProvisioningStatus is the value ReportProvisioning reports as "status".
const ProvisioningStatus = "provisioned"

// ProvisioningInfo is what the device says about how it was provisioned.
type ProvisioningInfo struct {
	// RegistrationID is the device's DPS registration ID.
	RegistrationID string
	// At is when provisioning completed; zero means now.
	At time.Time
}

// ProvisioningReport is the "provisioning" reported property.
type ProvisioningReport struct {
	Status         string `json:"status"`
	RegistrationID string `json:"registrationId"`
	At             string `json:"at"`
	// DesiredVersion is the version of the desired properties the device read: its owner can
	// tell that the device has seen what was set for it.
	DesiredVersion int64 `json:"desiredVersion"`
}

// ReportProvisioning is the device's first exchange with its hub: it reads the twin (proving the
// connection carries requests both ways) and reports
// {"provisioning":{"status":"provisioned","registrationId":…,"at":…,"desiredVersion":…}}. It returns the twin as
// read before the report and the reported properties' new version.
func ReportProvisioning(ctx context.Context, conn *Conn, info ProvisioningInfo) (Twin, int64, error) {
	twin, err := conn.Twin(ctx)
	if err != nil {
		return Twin{}, 0, err
	}
	at := info.At
	if at.IsZero() {
		at = conn.cfg.Now()
	}
	report := map[string]ProvisioningReport{"provisioning": {
		Status:         ProvisioningStatus,
		RegistrationID: info.RegistrationID,
		At:             at.UTC().Format(time.RFC3339),
		DesiredVersion: twin.DesiredVersion,
	}}
	v, err := conn.ReportProperties(ctx, report)
	if err != nil {
		return twin, 0, fmt.Errorf("hub: reporting provisioning: %w", err)
	}
	return twin, v, nil
}
