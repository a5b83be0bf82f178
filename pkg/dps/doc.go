// Package dps is a client for the Azure IoT Hub Device Provisioning Service's service API
// (api-version 2021-10-01): individual enrollments, bulk operations, queries and device
// registration states, with the wire types the service and the emulator exchange.
package dps

// APIVersion is the service API version every request names.
const APIVersion = "2021-10-01"
