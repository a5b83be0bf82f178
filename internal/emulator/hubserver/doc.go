// Package hubserver is a local stand-in for Azure IoT Hub's device-facing MQTT endpoint: devices
// authenticate as IoT Hub authenticates them, send device-to-cloud messages, and read and report
// their device twin.
//
// What it speaks (MQTT 3.1.1 over TLS, as IoT Hub on port 8883):
//
//   - CONNECT: client ID = device ID; username "{hubHost}/{deviceId}/?api-version=…" (any further
//     query parameters, such as DeviceClientType or model-id, are accepted, and so is the
//     "{hubHost}/{deviceId}/api-version=…" form); password = a SAS token whose sr names the hub or
//     the device ("{hubHost}/devices/{deviceId}", URL-encoded or not, compared without regard to
//     case), signed with the device's primary or secondary key, or an empty password and a TLS
//     client certificate whose SHA-256 or SHA-1 thumbprint the device is registered with. A device
//     the Registry does not know, a disabled device, a bad signature and an expired token are
//     refused with CONNACK 5 (not authorized); a username or password that cannot be read, with
//     CONNACK 4 (bad username or password).
//   - devices/{deviceId}/messages/events/{properties}: device-to-cloud messages, recorded with
//     their application and system ($.mid, $.ct, …) properties.
//   - $iothub/twin/GET/?$rid={rid}: answered on $iothub/twin/res/200/?$rid={rid} with
//     {"desired":{…,"$version":n},"reported":{…,"$version":m}}.
//   - $iothub/twin/PATCH/properties/reported/?$rid={rid}: merged into the reported properties
//     (null removes a property), answered on $iothub/twin/res/204/?$rid={rid}&$version={new}.
//   - desired property updates made with UpdateDesired reach the device on
//     $iothub/twin/PATCH/properties/desired/?$version={n}.
//
// Beside the MQTT endpoint, ServiceHandler is IoT Hub's service REST API for one operation,
// "Devices - Get Identity": GET /devices/{deviceId}?api-version=… answers a device the Registry
// knows with its live connection state ("Connected" or "Disconnected"), when that last changed
// (connectionStateUpdatedTime) and when the device was last active (lastActivityTime: its
// connection or its last publish), signed for by a SAS token of the ServicePolicy; the hub is
// the one the client names in TLS. A refused token is 401 and an unknown device 404, with IoT
// Hub's {"Message":"ErrorCode:…;…","ExceptionMessage":"Tracking ID:…"} body and its
// iothub-errorcode header. The device's keys are not returned.
//
// A device may publish and subscribe only to its own topics; a publish anywhere else disconnects
// it, as IoT Hub does. Devices are not stored here: a Registry, implemented by the caller (the
// DPS emulator registers the devices it assigns), says which exist and how they authenticate.
// Twins and messages are kept in memory only, for the life of the Server; every method is safe
// for concurrent use.
package hubserver
