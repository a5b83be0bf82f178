// Package emulator is a local stand-in for the Azure IoT Hub Device Provisioning Service: its
// service (enrollment) API over TLS, with durable state, SAS authentication and fault injection.
//
// Server is the service API as an http.Handler (api-version 2021-10-01 shapes; older stable
// versions accepted): individual enrollments (PUT/GET/DELETE /enrollments/{id}, bulk POST
// /enrollments, POST /enrollments/query, POST /enrollments/{id}/attestationmechanism) and
// registration states (GET/DELETE /registrations/{id}), in pkg/dps's wire types, with tokens
// checked by pkg/sas and endorsement keys by pkg/identity. Store keeps everything in one bbolt file.
// AdminHandler is the loopback-only control API for faults and seeded registration states.
// Errors carry the service's body {"errorCode","trackingId","message","timestampUtc"}; errors.go
// lists the codes.
//
// The device registration API and the IoT Hub MQTT endpoint are meant to be served from the same
// Server and Store; they are not part of this package yet.
package emulator
