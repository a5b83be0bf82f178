package dpsapi

import (
	"encoding/json"
	"time"
)

// ProvisioningStatus says whether DPS will provision the enrolled device.
type ProvisioningStatus string

// Provisioning statuses. The service treats an absent status as enabled.
const (
	StatusEnabled  ProvisioningStatus = "enabled"
	StatusDisabled ProvisioningStatus = "disabled"
)

// AllocationPolicy chooses how DPS picks the IoT hub for a device.
type AllocationPolicy string

// Allocation policies.
const (
	AllocationHashed     AllocationPolicy = "hashed"
	AllocationGeoLatency AllocationPolicy = "geoLatency"
	AllocationStatic     AllocationPolicy = "static"
	AllocationCustom     AllocationPolicy = "custom"
)

// IndividualEnrollment is one device's enrollment record (the REST specification's
// IndividualEnrollment). RegistrationID and Attestation are required (Attestation may be left out
// only in a bulk delete); fields the service fills in (RegistrationState, the timestamps, ETag)
// are left empty when creating one.
type IndividualEnrollment struct {
	RegistrationID string `json:"registrationId"`
	// DeviceID is the IoT Hub device ID to create; empty means the registration ID.
	DeviceID string `json:"deviceId,omitempty"`
	// RegistrationState is the device's registration, present once it has registered (read-only).
	RegistrationState *DeviceRegistrationState `json:"registrationState,omitempty"`
	// OptionalDeviceInformation is a twin collection, kept exactly as sent.
	OptionalDeviceInformation json.RawMessage `json:"optionalDeviceInformation,omitempty"`
	Attestation               *Attestation    `json:"attestation,omitempty"`
	Capabilities              *Capabilities   `json:"capabilities,omitempty"`
	// IoTHubHostName is the hub the device was (or, with a static policy, will be) assigned to.
	IoTHubHostName string       `json:"iotHubHostName,omitempty"`
	InitialTwin    *InitialTwin `json:"initialTwin,omitempty"`
	// ETag is the record's version, for If-Match on update and delete.
	ETag               string             `json:"etag,omitempty"`
	ProvisioningStatus ProvisioningStatus `json:"provisioningStatus,omitempty"`
	ReprovisionPolicy  *ReprovisionPolicy `json:"reprovisionPolicy,omitempty"`
	// CreatedDateTimeUTC and LastUpdatedDateTimeUTC are set by the service (read-only).
	CreatedDateTimeUTC         time.Time                   `json:"createdDateTimeUtc,omitzero"`
	LastUpdatedDateTimeUTC     time.Time                   `json:"lastUpdatedDateTimeUtc,omitzero"`
	AllocationPolicy           AllocationPolicy            `json:"allocationPolicy,omitempty"`
	IoTHubs                    []string                    `json:"iotHubs,omitempty"`
	CustomAllocationDefinition *CustomAllocationDefinition `json:"customAllocationDefinition,omitempty"`
}

// EnrollmentGroup is an enrollment for a group of devices sharing a signing certificate or a
// symmetric group key (the REST specification's EnrollmentGroup).
type EnrollmentGroup struct {
	EnrollmentGroupID          string                      `json:"enrollmentGroupId"`
	Attestation                *Attestation                `json:"attestation,omitempty"`
	Capabilities               *Capabilities               `json:"capabilities,omitempty"`
	IoTHubHostName             string                      `json:"iotHubHostName,omitempty"`
	InitialTwin                *InitialTwin                `json:"initialTwin,omitempty"`
	ETag                       string                      `json:"etag,omitempty"`
	ProvisioningStatus         ProvisioningStatus          `json:"provisioningStatus,omitempty"`
	ReprovisionPolicy          *ReprovisionPolicy          `json:"reprovisionPolicy,omitempty"`
	CreatedDateTimeUTC         time.Time                   `json:"createdDateTimeUtc,omitzero"`
	LastUpdatedDateTimeUTC     time.Time                   `json:"lastUpdatedDateTimeUtc,omitzero"`
	AllocationPolicy           AllocationPolicy            `json:"allocationPolicy,omitempty"`
	IoTHubs                    []string                    `json:"iotHubs,omitempty"`
	CustomAllocationDefinition *CustomAllocationDefinition `json:"customAllocationDefinition,omitempty"`
}

// Capabilities are what the device can do.
type Capabilities struct {
	// IoTEdge marks an IoT Edge device. The service requires the field when capabilities are sent.
	IoTEdge bool `json:"iotEdge"`
}

// InitialTwin is the twin the device starts with in its hub. Tags and desired properties are
// twin collections, kept as raw JSON so that whatever the operator set (and the service's
// version, count and metadata members) survive a read-modify-write unchanged.
type InitialTwin struct {
	Tags       json.RawMessage        `json:"tags,omitempty"`
	Properties *InitialTwinProperties `json:"properties,omitempty"`
}

// InitialTwinProperties holds the twin's initial desired properties.
type InitialTwinProperties struct {
	Desired json.RawMessage `json:"desired,omitempty"`
}

// ReprovisionPolicy is what DPS does when an already-provisioned device registers again. The
// service requires both fields when the policy is sent; its defaults are both true.
type ReprovisionPolicy struct {
	UpdateHubAssignment bool `json:"updateHubAssignment"`
	MigrateDeviceData   bool `json:"migrateDeviceData"`
}

// CustomAllocationDefinition names the webhook DPS calls under the custom allocation policy.
type CustomAllocationDefinition struct {
	WebhookURL string `json:"webhookUrl"`
	APIVersion string `json:"apiVersion"`
}
