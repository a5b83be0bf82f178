package dpsapi

import (
	"encoding/json"
	"time"
)

// RegistrationStatus is where a device's registration stands.
type RegistrationStatus string

// Registration statuses.
const (
	RegistrationUnassigned RegistrationStatus = "unassigned"
	RegistrationAssigning  RegistrationStatus = "assigning"
	RegistrationAssigned   RegistrationStatus = "assigned"
	RegistrationFailed     RegistrationStatus = "failed"
	RegistrationDisabled   RegistrationStatus = "disabled"
)

// Substatus says, for an assigned device, how it came to its hub.
type Substatus string

// Substatuses of an assigned device.
const (
	SubstatusInitialAssignment                Substatus = "initialAssignment"
	SubstatusDeviceDataMigrated               Substatus = "deviceDataMigrated"
	SubstatusDeviceDataReset                  Substatus = "deviceDataReset"
	SubstatusReprovisionedToInitialAssignment Substatus = "reprovisionedToInitialAssignment"
)

// DeviceRegistrationState is the record of a device's registration (read-only; the service API
// can read and delete it).
type DeviceRegistrationState struct {
	RegistrationID         string             `json:"registrationId,omitempty"`
	CreatedDateTimeUTC     time.Time          `json:"createdDateTimeUtc,omitzero"`
	AssignedHub            string             `json:"assignedHub,omitempty"`
	DeviceID               string             `json:"deviceId,omitempty"`
	Status                 RegistrationStatus `json:"status,omitempty"`
	Substatus              Substatus          `json:"substatus,omitempty"`
	ErrorCode              int                `json:"errorCode,omitempty"`
	ErrorMessage           string             `json:"errorMessage,omitempty"`
	LastUpdatedDateTimeUTC time.Time          `json:"lastUpdatedDateTimeUtc,omitzero"`
	ETag                   string             `json:"etag,omitempty"`
	// Payload is what a custom allocation webhook returned for the device, kept as sent.
	Payload json.RawMessage `json:"payload,omitempty"`
}
