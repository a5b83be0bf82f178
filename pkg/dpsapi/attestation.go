package dpsapi

import "time"

// AttestationType names how a device proves its identity.
type AttestationType string

// Attestation types.
const (
	AttestationNone         AttestationType = "none"
	AttestationTPM          AttestationType = "tpm"
	AttestationX509         AttestationType = "x509"
	AttestationSymmetricKey AttestationType = "symmetricKey"
)

// Attestation is an enrollment's attestation mechanism: Type and the one matching member.
type Attestation struct {
	Type         AttestationType          `json:"type"`
	TPM          *TPMAttestation          `json:"tpm,omitempty"`
	X509         *X509Attestation         `json:"x509,omitempty"`
	SymmetricKey *SymmetricKeyAttestation `json:"symmetricKey,omitempty"`
}

// TPMAttestation holds the device's TPM keys, each the standard base64 of its TPM2B_PUBLIC
// (size prefix included). The service returns the EK but may leave out the SRK.
type TPMAttestation struct {
	EndorsementKey string `json:"endorsementKey"`
	StorageRootKey string `json:"storageRootKey,omitempty"`
}

// X509Attestation names the certificates a device may present: its own (client), a signing CA
// (groups), or CA references.
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
// service read from it. The service returns Info and omits Certificate.
type X509CertificateWithInfo struct {
	Certificate string               `json:"certificate,omitempty"`
	Info        *X509CertificateInfo `json:"info,omitempty"`
}

// X509CertificateInfo describes a certificate the service holds (read-only).
type X509CertificateInfo struct {
	SubjectName      string    `json:"subjectName"`
	SHA1Thumbprint   string    `json:"sha1Thumbprint"`
	SHA256Thumbprint string    `json:"sha256Thumbprint"`
	IssuerName       string    `json:"issuerName"`
	NotBeforeUTC     time.Time `json:"notBeforeUtc"`
	NotAfterUTC      time.Time `json:"notAfterUtc"`
	SerialNumber     string    `json:"serialNumber"`
	Version          int       `json:"version"`
}

// X509CAReferences names CA certificates uploaded to the service.
type X509CAReferences struct {
	Primary   string `json:"primary,omitempty"`
	Secondary string `json:"secondary,omitempty"`
}

// SymmetricKeyAttestation holds base64 keys. Left empty on create, the service generates them.
type SymmetricKeyAttestation struct {
	PrimaryKey   string `json:"primaryKey,omitempty"`
	SecondaryKey string `json:"secondaryKey,omitempty"`
}
