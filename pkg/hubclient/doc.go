// Package hubclient makes a device's first connection to the IoT Hub that DPS assigned it, over
// MQTT 3.1.1 with verified TLS: it reads the device twin, reports properties and sends
// device-to-cloud messages. Packets are encoded and decoded by paho's packets package; the session
// around them (CONNECT, a subscription to twin responses, QoS 1 acknowledgements, keep-alive) is
// this package's, so a device links no IoT Hub service client, AMQP or websocket code.
//
// The device authenticates with a SAS token signed by a Signer (a key inside a TPM, which never
// leaves it), a symmetric key held in memory, or an X.509 client certificate. Tokens are signed
// for "{hubHost}/devices/{deviceId}", as Microsoft's SDKs sign them. A Conn does not reconnect:
// after a dropped connection its calls fail with the reason, and the caller connects again. The address dialled can differ from the hub's host name (an emulator, a test), while
// the username, the token and the certificate check still use the host name.
//
// Connect's failures say what went wrong and what to do: ErrNotAuthorized (the hub refused the
// credentials or does not know the device), ErrUnreachable (no connection) and ErrTLS (the hub's
// certificate is not trusted) are told apart with errors.Is.
package hubclient
