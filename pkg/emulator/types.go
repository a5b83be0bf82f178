package emulator

import "encoding/json"

// Enrollment is an individual enrollment as the service stores and returns it (the REST
// specification's IndividualEnrollment, api-version 2021-10-01).
type Enrollment struct {
	RegistrationID             string             `json:"registrationId"`
	DeviceID                   string             `json:"deviceId,omitempty"`
	RegistrationState          *RegistrationState `json:"registrationState,omitempty"`
	OptionalDeviceInformation  json.RawMessage    `json:"optionalDeviceInformation,omitempty"`
	Attestation                *Attestation       `json:"attestation"`
	Capabilities               *Capabilities      `json:"capabilities,omitempty"`
	IoTHubHostName             string             `json:"iotHubHostName,omitempty"`
	InitialTwin                json.RawMessage    `json:"initialTwin,omitempty"`
	ETag                       string             `json:"etag,omitempty"`
	ProvisioningStatus         string             `json:"provisioningStatus,omitempty"`
	ReprovisionPolicy          *ReprovisionPolicy `json:"reprovisionPolicy,omitempty"`
	CreatedDateTimeUTC         string             `json:"createdDateTimeUtc,omitempty"`
	LastUpdatedDateTimeUTC     string             `json:"lastUpdatedDateTimeUtc,omitempty"`
	AllocationPolicy           string             `json:"allocationPolicy,omitempty"`
	IoTHubs                    []string           `json:"iotHubs,omitempty"`
	CustomAllocationDefinition json.RawMessage    `json:"customAllocationDefinition,omitempty"`
}

// Attestation is how a device proves its identity: exactly one of TPM, X509 or SymmetricKey,
// named by Type.
type Attestation struct {
	Type         string                   `json:"type"`
	TPM          *TPMAttestation          `json:"tpm,omitempty"`
	X509         *X509Attestation         `json:"x509,omitempty"`
	SymmetricKey *SymmetricKeyAttestation `json:"symmetricKey,omitempty"`
}

// TPMAttestation carries the device's EK and, optionally, SRK: base64 TPM2B_PUBLIC each.
type TPMAttestation struct {
	EndorsementKey string `json:"endorsementKey"`
	StorageRootKey string `json:"storageRootKey,omitempty"`
}

// X509Attestation names the certificates (or CA references) a device may present.
type X509Attestation struct {
	ClientCertificates  *X509Certificates `json:"clientCertificates,omitempty"`
	SigningCertificates *X509Certificates `json:"signingCertificates,omitempty"`
	CAReferences        *X509CAReferences `json:"caReferences,omitempty"`
}

// X509Certificates is a primary and an optional secondary certificate.
type X509Certificates struct {
	Primary   *X509CertificateWithInfo `json:"primary,omitempty"`
	Secondary *X509CertificateWithInfo `json:"secondary,omitempty"`
}

// X509CertificateWithInfo is a certificate as sent (PEM or base64 DER) and, in responses, what the
// service read from it.
type X509CertificateWithInfo struct {
	Certificate string               `json:"certificate,omitempty"`
	Info        *X509CertificateInfo `json:"info,omitempty"`
}

// X509CertificateInfo is what the service reports about a certificate it accepted.
type X509CertificateInfo struct {
	SubjectName      string `json:"subjectName"`
	SHA1Thumbprint   string `json:"sha1Thumbprint"`
	SHA256Thumbprint string `json:"sha256Thumbprint"`
	IssuerName       string `json:"issuerName"`
	NotBeforeUTC     string `json:"notBeforeUtc"`
	NotAfterUTC      string `json:"notAfterUtc"`
	SerialNumber     string `json:"serialNumber"`
	Version          int    `json:"version"`
}

// X509CAReferences names verified CA certificates by their names in the service.
type X509CAReferences struct {
	Primary   string `json:"primary,omitempty"`
	Secondary string `json:"secondary,omitempty"`
}

// SymmetricKeyAttestation holds the device's two keys, base64.
type SymmetricKeyAttestation struct {
	PrimaryKey   string `json:"primaryKey,omitempty"`
	SecondaryKey string `json:"secondaryKey,omitempty"`
}

// Capabilities are the device's declared capabilities.
type Capabilities struct {
	IoTEdge bool `json:"iotEdge"`
}

// ReprovisionPolicy is what the service does when an assigned device registers again.
type ReprovisionPolicy struct {
	UpdateHubAssignment bool `json:"updateHubAssignment"`
	MigrateDeviceData   bool `json:"migrateDeviceData"`
}

// RegistrationState is a device's registration record (the specification's DeviceRegistrationState).
type RegistrationState struct {
	RegistrationID         string          `json:"registrationId"`
	CreatedDateTimeUTC     string          `json:"createdDateTimeUtc,omitempty"`
	AssignedHub            string          `json:"assignedHub,omitempty"`
	DeviceID               string          `json:"deviceId,omitempty"`
	Status                 string          `json:"status,omitempty"`
	Substatus              string          `json:"substatus,omitempty"`
	ErrorCode              int             `json:"errorCode,omitempty"`
	ErrorMessage           string          `json:"errorMessage,omitempty"`
	LastUpdatedDateTimeUTC string          `json:"lastUpdatedDateTimeUtc,omitempty"`
	ETag                   string          `json:"etag,omitempty"`
	Payload                json.RawMessage `json:"payload,omitempty"`
}

// bulkRequest is the body of POST /enrollments.
type bulkRequest struct {
	Enrollments []json.RawMessage `json:"enrollments"`
	Mode        string            `json:"mode"`
}

// bulkResult is the reply to POST /enrollments.
type bulkResult struct {
	IsSuccessful bool        `json:"isSuccessful"`
	Errors       []bulkError `json:"errors"`
}

// bulkError is one item's failure in a bulk operation.
type bulkError struct {
	RegistrationID string `json:"registrationId"`
	ErrorCode      int    `json:"errorCode"`
	ErrorStatus    string `json:"errorStatus"`
}

// querySpec is the body of POST /enrollments/query.
type querySpec struct {
	Query *string `json:"query"`
}
