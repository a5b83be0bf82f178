// Package hubclient makes a device's first connection to the IoT Hub that DPS assigned it, over MQTT
// with verified TLS, through github.com/amenzhinsky/iothub: it reads the device twin, reports
// properties and sends device-to-cloud messages.
//
// The device authenticates with a SAS token signed by a Signer (a key inside a TPM, which never
// leaves it), a symmetric key held in memory, or an X.509 client certificate. Tokens are signed
// for "{hubHost}/devices/{deviceId}" and renewed when the connection reconnects past half their
// lifetime. The address dialled can differ from the hub's host name (an emulator, a test), while
// the username, the token and the certificate check still use the host name.
//
// Connect's failures say what went wrong and what to do: ErrNotAuthorized (the hub refused the
// credentials or does not know the device), ErrUnreachable (no connection) and ErrTLS (the hub's
// certificate is not trusted) are told apart with errors.Is.
package hubclient
