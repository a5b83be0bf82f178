// Package hubservice reads devices from IoT Hub's service REST API ("Devices - Get Identity",
// GET https://{hub}/devices/{deviceId}?api-version=2021-04-12): whether a device is connected
// now, since when, and when it was last active. It holds one service connection string (a hub
// shared access policy's, such as iothubowner or one with registry read) per hub host name and
// signs each request with a short-lived SAS token of that policy. TLS is always verified, against
// the system's roots or a given pool (pkg/cafile loads a private CA's).
//
// Failures are *Error values that errors.Is tells apart: ErrUnknownHub (no connection string for
// that hub), ErrDeviceNotFound, ErrUnauthorized (the policy's key or name is wrong, or the clock
// is off), ErrUnavailable (throttled or a server error: try later), ErrUnreachable (no
// connection, or TLS failed) and ErrBadResponse (an answer that is not IoT Hub's).
package hubservice
