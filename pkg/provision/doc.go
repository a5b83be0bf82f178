// Package provision is the device side of Azure DPS: registration over HTTPS (api-version
// 2021-06-01) with TPM, X.509 or symmetric-key attestation, and polling of the registration
// operation until DPS has decided.
//
// With a TPM the exchange is:
//
//	PUT  /{idScope}/registrations/{id}/register  {registrationId, tpm{endorsementKey, storageRootKey}}
//	 ← 401 {authenticationKey, keyName}        DPS's challenge: a key only this TPM can import
//	PUT  … again, Authorization: a SAS token signed inside the TPM with that key
//	 ← 202 {operationId, status: assigning}    and Retry-After
//	GET  /{idScope}/registrations/{id}/operations/{operationId}   until decided
//	 ← 200 {status: assigned, registrationState{assignedHub, deviceId, tpm{authenticationKey}}}
//
// and the second authenticationKey, the device's IoT Hub key, is imported over the first. With a
// symmetric key the token is signed with the key from the start; with X.509 the TLS client
// certificate is the proof and there is no token.
//
// Outcomes DPS decides (assigned, disabled, failed) are a Result; a device DPS does not know
// (ErrNotEnrolled) and a service that stays unavailable (ErrUnavailable) are errors.
//
// LookupStatus reads what DPS last decided without registering: POST
// /{idScope}/registrations/{id} with the same proof, a TPM's token signed with the key its TPM
// already holds (a look-up is never challenged).
package provision
