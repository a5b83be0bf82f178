// Package emulator is a local stand-in for the Azure IoT Hub Device Provisioning Service: its
// service (enrollment) API and its device registration API over TLS, with durable state, SAS
// authentication and fault injection.
//
// Server is both APIs as one http.Handler. The service API (api-version 2021-10-01 shapes; older
// stable versions accepted): individual enrollments (PUT/GET/DELETE /enrollments/{id}, bulk POST
// /enrollments, POST /enrollments/query, POST /enrollments/{id}/attestationmechanism), enrollment
// groups (PUT/GET/DELETE /enrollmentGroups/{id}, POST /enrollmentGroups/query, POST
// /enrollmentGroups/{id}/attestationmechanism; symmetric key or X.509 signing certificates) and
// registration states (GET/DELETE /registrations/{id}, and a group's devices' with POST
// /registrations/{groupId}/query), in pkg/dps's wire types, with tokens
// checked by pkg/sas and endorsement keys by pkg/identity. The device API (2019-03-31,
// 2021-06-01): PUT /{idScope}/registrations/{id}/register and GET
// /{idScope}/registrations/{id}/operations/{operationId}, in pkg/provision's wire types, attesting
// TPM devices with pkg/dpsblob's challenge, symmetric-key devices by their SAS tokens and X.509
// devices by their TLS client certificate; a device without an individual enrollment may come
// through an enrollment group (a key derived from the group's, or a certificate chained to its
// signing certificate); an assigned device's hub identity (HubDevice) is what an
// IoT Hub emulator admits it by. Store keeps everything in one bbolt file.
// AdminHandler is the loopback-only control API for faults and seeded registration states.
// Errors carry the service's body {"errorCode","trackingId","message","timestampUtc"}; errors.go
// lists the codes.
package emulator
