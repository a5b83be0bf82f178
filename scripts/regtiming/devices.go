package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/tpm"
)

// mode is one attestation's device: enrolled, and how each client registers as it. Both clients
// register the same registration ID with the same credentials.
type mode struct {
	name           string
	registrationID string
	ours           []string // oob-agent register's attestation flags
	node           []string // device.js's attestation flags
	nodeEnv        []string
}

// enrollDevices enrolls the TPM (its EK read from tpmSpec), an X.509 and a symmetric-key device,
// their files in dir, and returns their modes in that order.
func enrollDevices(ctx context.Context, emu *emulator, dir, tpmSpec string, simulator *net.TCPAddr) ([]mode, error) {
	tpmMode, err := enrollTPM(ctx, emu, tpmSpec, simulator)
	if err != nil {
		return nil, fmt.Errorf("tpm: %w", err)
	}
	x509Mode, err := enrollX509(ctx, emu, dir)
	if err != nil {
		return nil, fmt.Errorf("x509: %w", err)
	}
	symMode, err := enrollSymmetric(ctx, emu, dir)
	if err != nil {
		return nil, fmt.Errorf("symmetric: %w", err)
	}
	return []mode{tpmMode, x509Mode, symMode}, nil
}

func enrollTPM(ctx context.Context, emu *emulator, tpmSpec string, simulator *net.TCPAddr) (mode, error) {
	dev, err := tpm.Open(ctx, tpm.Config{Path: tpmSpec})
	if err != nil {
		return mode{}, err
	}
	ek, err := dev.EndorsementKey(ctx)
	dev.Close() // swtpm serves one connection at a time
	if err != nil {
		return mode{}, err
	}
	id := identity.DeriveRegistrationID(ek)
	err = enroll(ctx, emu, &dpsapi.IndividualEnrollment{RegistrationID: id, Attestation: &dpsapi.Attestation{
		Type: dpsapi.AttestationTPM, TPM: &dpsapi.TPMAttestation{EndorsementKey: base64.StdEncoding.EncodeToString(ek)},
	}})
	return mode{
		name: "tpm", registrationID: id,
		ours: []string{"--tpm", tpmSpec},
		// The SDK derives the same registration ID from the EK.
		node: []string{"--attestation", "tpm", "--tpm-host", simulator.IP.String(), "--tpm-port", strconv.Itoa(simulator.Port)},
	}, err
}

func enrollX509(ctx context.Context, emu *emulator, dir string) (mode, error) {
	const id = "regtiming-x509"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return mode{}, err
	}
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: id},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: id}}, key.Public(), key)
	if err != nil {
		return mode{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return mode{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile := filepath.Join(dir, "device.pem"), filepath.Join(dir, "device-key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		return mode{}, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return mode{}, err
	}
	err = enroll(ctx, emu, &dpsapi.IndividualEnrollment{RegistrationID: id, Attestation: &dpsapi.Attestation{
		Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{ClientCertificates: &dpsapi.X509Certificates{
			Primary: &dpsapi.X509CertificateWithInfo{Certificate: string(certPEM)},
		}},
	}})
	return mode{
		name: "x509", registrationID: id,
		ours: []string{"--x509-cert", certFile, "--x509-key", keyFile},
		node: []string{"--attestation", "x509", "--registration-id", id, "--cert", certFile, "--key", keyFile},
	}, err
}

func enrollSymmetric(ctx context.Context, emu *emulator, dir string) (mode, error) {
	const id = "regtiming-symmetric"
	// The emulator generates the keys, as DPS does for an enrollment that names none.
	e, err := emu.svc.CreateOrUpdateEnrollment(ctx, &dpsapi.IndividualEnrollment{RegistrationID: id, Attestation: &dpsapi.Attestation{
		Type: dpsapi.AttestationSymmetricKey, SymmetricKey: &dpsapi.SymmetricKeyAttestation{},
	}}, "")
	if err != nil {
		return mode{}, err
	}
	if e.Attestation == nil || e.Attestation.SymmetricKey == nil || e.Attestation.SymmetricKey.PrimaryKey == "" {
		return mode{}, fmt.Errorf("the enrollment of %s came back without generated keys", id)
	}
	key := e.Attestation.SymmetricKey.PrimaryKey
	keyFile := filepath.Join(dir, "symmetric.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		return mode{}, err
	}
	return mode{
		name: "symmetric", registrationID: id,
		ours:    []string{"--symmetric-key-file", keyFile, "--registration-id", id},
		node:    []string{"--attestation", "symmetric", "--registration-id", id},
		nodeEnv: []string{"DEVICE_SYMMETRIC_KEY=" + key},
	}, nil
}

func enroll(ctx context.Context, emu *emulator, e *dpsapi.IndividualEnrollment) error {
	if _, err := emu.svc.CreateOrUpdateEnrollment(ctx, e, ""); err != nil {
		return fmt.Errorf("enrolling %s: %w", e.RegistrationID, err)
	}
	return nil
}
