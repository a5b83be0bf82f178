// Package dpsapi holds the wire types of the Device Provisioning Service's two REST APIs, as the
// service, the clients (pkg/dps for the service API, pkg/provision for devices) and the emulator
// exchange them: no client and no server, so a device links only types.
package dpsapi

// ServiceAPIVersion is the service API version every service request names.
const ServiceAPIVersion = "2021-10-01"
