// Package emulator is a local stand-in for the Azure IoT Hub Device Provisioning Service: its
// service (enrollment) API and its device registration API as one http.Handler, with fault
// injection and a loopback admin API.
//
// Server routes both APIs (server.go: net/http method-and-path patterns, DPS's JSON 404 and 405,
// api-version and authentication per API) and serves the service API itself (api-version
// 2021-10-01 shapes; older stable versions accepted): individual enrollments (PUT/GET/DELETE
// /enrollments/{id}, bulk POST /enrollments, POST /enrollments/query, POST
// /enrollments/{id}/attestationmechanism), enrollment groups (PUT/GET/DELETE
// /enrollmentGroups/{id}, POST /enrollmentGroups/query, POST
// /enrollmentGroups/{id}/attestationmechanism; symmetric key or X.509 signing certificates) and
// registration states (GET/DELETE /registrations/{id}, and a group's devices' with POST
// /registrations/{groupId}/query), in pkg/dpsapi's wire types, with tokens checked by pkg/sas and
// endorsement keys by pkg/identity. The device API (PUT /{idScope}/registrations/{id}/register,
// GET /{idScope}/registrations/{id}/operations/{operationId} and the status look-up POST
// /{idScope}/registrations/{id}) is package deviceapi's.
// AdminHandler is the loopback-only control API for faults and seeded registration states.
//
// The parts it stands on: store (the bbolt state, and HubDevice, an assigned device's hub
// identity, which an IoT Hub emulator admits it by), tlsca (the CA), datadir (the data
// directory's files), httpapi (DPS's error codes and bodies, shared with deviceapi), enrollcert
// (enrolled certificates) and quote.
package emulator
