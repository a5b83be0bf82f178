// Package sas creates and verifies Azure shared access signature (SAS) tokens and parses the
// service connection strings their keys come from.
//
// A token has the form
//
//	SharedAccessSignature sr={resource}&sig={signature}&se={expiry}&skn={key name}
//
// where sig is the URL-encoded base64 of HMAC-SHA256(key, sr + "\n" + se), computed over sr and se
// exactly as they appear in the token. Both the DPS service API (sr = the service host name,
// skn = the access policy) and the device registration API (sr = "{idScope}/registrations/{id}")
// use this form; clients and the emulator share this package so they agree on every detail.
package sas
