package dpsapi

import (
	"encoding/json"
	"time"
)

// DeviceAPIVersion is the device registration API version requests are sent with.
const DeviceAPIVersion = "2021-06-01"

// DeviceRegistration is the body of a register request (the REST specification's
// DeviceRegistration).
type DeviceRegistration struct {
	RegistrationID string          `json:"registrationId"`
	TPM            *TPMAttestation `json:"tpm,omitempty"`
	// Payload is passed to a custom allocation webhook, kept as given.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// TPMChallenge is the body of DPS's 401 answer to a TPM device's first register request.
type TPMChallenge struct {
	// AuthenticationKey is the blob only the TPM with the enrolled EK can import (base64).
	AuthenticationKey string `json:"authenticationKey"`
	// KeyName is the skn the device's SAS tokens name ("registration").
	KeyName string `json:"keyName"`
	Message string `json:"message,omitempty"`
}

// RegistrationOperationStatus is the answer to a register request and to each status poll.
type RegistrationOperationStatus struct {
	OperationID       string                    `json:"operationId"`
	Status            RegistrationStatus        `json:"status"`
	RegistrationState *DeviceRegistrationResult `json:"registrationState,omitempty"`
}

// DeviceRegistrationResult is DPS's record of the registration, as the device sees it.
type DeviceRegistrationResult struct {
	RegistrationID         string                 `json:"registrationId,omitempty"`
	CreatedDateTimeUTC     time.Time              `json:"createdDateTimeUtc,omitzero"`
	AssignedHub            string                 `json:"assignedHub,omitempty"`
	DeviceID               string                 `json:"deviceId,omitempty"`
	Status                 RegistrationStatus     `json:"status,omitempty"`
	Substatus              string                 `json:"substatus,omitempty"`
	ErrorCode              int                    `json:"errorCode,omitempty"`
	ErrorMessage           string                 `json:"errorMessage,omitempty"`
	LastUpdatedDateTimeUTC time.Time              `json:"lastUpdatedDateTimeUtc,omitzero"`
	ETag                   string                 `json:"etag,omitempty"`
	Payload                json.RawMessage        `json:"payload,omitempty"`
	TPM                    *TPMRegistrationResult `json:"tpm,omitempty"`
	// X509 and SymmetricKey describe how the device was attested; kept as sent.
	X509         json.RawMessage `json:"x509,omitempty"`
	SymmetricKey json.RawMessage `json:"symmetricKey,omitempty"`
}

// TPMRegistrationResult carries the device's IoT Hub key for the TPM to import, in the same blob
// format as the challenge.
type TPMRegistrationResult struct {
	AuthenticationKey string `json:"authenticationKey"`
}
