// Package dps is a client for the Azure IoT Hub Device Provisioning Service's service API
// (api-version 2021-10-01): individual enrollments, bulk operations, queries and device
// registration states. Its wire types are pkg/dpsapi's, shared with the emulator.
package dps
