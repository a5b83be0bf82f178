// Package emulator is a local stand-in for the Azure IoT Hub Device Provisioning Service: its
// service (enrollment) API over TLS, with durable state, SAS authentication and fault injection.
//
// The device registration API and the IoT Hub MQTT endpoint are meant to be served from the same
// Server and Store; they are not part of this package yet.
package emulator
