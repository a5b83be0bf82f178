// Package ekcert reads a TPM's endorsement key (EK) certificate as TPM makers issue them and
// checks it: the TCG's critical subjectAltName naming the TPM's manufacturer, model and firmware
// (which Go's crypto/x509 leaves as an unhandled critical extension), RSA (also the old
// id-RSAES-OAEP key type) and ECC keys, NV contents with a TCG header or padding after the DER,
// and negative or non-minimal serial numbers, which crypto/x509 refuses. A certificate is
// verified against a Bundle of TPM makers' roots and intermediates loaded from a folder, and
// its public key compared with the EK the TPM holds.
//
// The subjectAltName itself is parsed by go-attestation's x509 package; the rest is Go's
// crypto/x509 on the certificate with its serial number made acceptable, the signed bytes kept
// as issued so signatures still verify.
package ekcert
