//go:build cgo

package tpm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/oobtpm/oob/pkg/identity"
)

// sim is a fresh go-tpm-tools simulator for one test. The simulator is one C library per
// process: simulator.Get blocks until the previous one is closed and manufactures a blank TPM,
// so these tests run one after the other and each starts from nothing.
type sim struct {
	t   testing.TB
	s   *simulator.Simulator
	raw transport.TPM
	// nvReads counts TPM2_NV_Read commands sent through transports from open.
	nvReads atomic.Int32
}

func newSim(t testing.TB) *sim {
	t.Helper()
	s, err := simulator.Get()
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &sim{t: t, s: s, raw: transport.FromReadWriter(s)}
}

// simTransport hands the simulator to Open without letting Close shut it, so a test can reopen
// it, as a device is reopened after a reboot.
type simTransport struct{ s *sim }

func (st simTransport) Send(cmd []byte) ([]byte, error) {
	if len(cmd) >= 10 && tpm2.TPMCC(binary.BigEndian.Uint32(cmd[6:10])) == tpm2.TPMCCNVRead {
		st.s.nvReads.Add(1)
	}
	return st.s.raw.Send(cmd)
}

func (simTransport) Close() error { return nil }

// open opens the simulator through Config.Transport with the given passwords.
func (s *sim) open(cfg Config) *TPM {
	s.t.Helper()
	cfg.Transport = simTransport{s}
	dev, err := Open(context.Background(), cfg)
	if err != nil {
		s.t.Fatalf("Open: %v", err)
	}
	s.t.Cleanup(func() { _ = dev.Close() })
	return dev
}

// reboot resets the simulator as a power cycle would: transient objects go, persistent ones stay.
func (s *sim) reboot() {
	s.t.Helper()
	if err := s.s.Reset(); err != nil {
		s.t.Fatalf("simulator reset: %v", err)
	}
}

// setAuth gives a hierarchy a password, as an owner who took ownership would.
func (s *sim) setAuth(h tpm2.TPMHandle, pw string) {
	s.t.Helper()
	if _, err := (tpm2.HierarchyChangeAuth{
		AuthHandle: tpm2.AuthHandle{Handle: h, Auth: tpm2.PasswordAuth(nil)},
		NewAuth:    tpm2.TPM2BAuth{Buffer: []byte(pw)},
	}).Execute(s.raw); err != nil {
		s.t.Fatalf("HierarchyChangeAuth: %v", err)
	}
}

// disable turns a hierarchy off with TPM2_HierarchyControl under platform authorization, as
// firmware can. go-tpm has no HierarchyControl, so the command is built by hand.
func (s *sim) disable(h tpm2.TPMHandle) {
	s.t.Helper()
	cmd := []byte{
		0x80, 0x02, // TPM_ST_SESSIONS
		0, 0, 0, 0, // size, set below
		0x00, 0x00, 0x01, 0x21, // TPM_CC_HierarchyControl
		0x40, 0x00, 0x00, 0x0C, // authHandle TPM_RH_PLATFORM
		0, 0, 0, 9, // authorization area size
		0x40, 0x00, 0x00, 0x09, // TPM_RS_PW
		0, 0, // nonce
		0,    // session attributes
		0, 0, // empty password
	}
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(h)) // enable
	cmd = append(cmd, 0)                                // state: NO
	binary.BigEndian.PutUint32(cmd[2:6], uint32(len(cmd)))
	rsp, err := s.raw.Send(cmd)
	if err != nil {
		s.t.Fatalf("HierarchyControl: %v", err)
	}
	if rc := binary.BigEndian.Uint32(rsp[6:10]); rc != 0 {
		s.t.Fatalf("HierarchyControl: %v", tpm2.TPMRC(rc))
	}
}

// persist creates a primary key from tmpl in hierarchy h and persists it at handle.
func (s *sim) persist(h tpm2.TPMHandle, tmpl tpm2.TPMTPublic, handle uint32) {
	s.t.Helper()
	created, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: h, Auth: tpm2.PasswordAuth(nil)},
		InPublic:      tpm2.New2B(tmpl),
	}.Execute(s.raw)
	if err != nil {
		s.t.Fatalf("CreatePrimary: %v", err)
	}
	defer tpm2.FlushContext{FlushHandle: created.ObjectHandle}.Execute(s.raw)
	if _, err := (tpm2.EvictControl{
		Auth:             tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		ObjectHandle:     tpm2.NamedHandle{Handle: created.ObjectHandle, Name: created.Name},
		PersistentHandle: tpm2.TPMHandle(handle),
	}).Execute(s.raw); err != nil {
		s.t.Fatalf("EvictControl: %v", err)
	}
}

// readPublic reads the TPM2B_PUBLIC at handle straight from the simulator, bypassing package tpm.
func (s *sim) readPublic(handle uint32) []byte {
	s.t.Helper()
	rsp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(handle)}.Execute(s.raw)
	if err != nil {
		s.t.Fatalf("ReadPublic(0x%08x): %v", handle, err)
	}
	return tpm2.Marshal(rsp.OutPublic)
}

// persistentHandles lists the TPM's persistent handles.
func (s *sim) persistentHandles() []uint32 {
	s.t.Helper()
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapHandles, Property: 0x81000000, PropertyCount: 64}.Execute(s.raw)
	if err != nil {
		s.t.Fatalf("GetCapability(handles): %v", err)
	}
	hs, err := rsp.CapabilityData.Data.Handles()
	if err != nil {
		s.t.Fatal(err)
	}
	var out []uint32
	for _, h := range hs.Handle {
		out = append(out, uint32(h))
	}
	return out
}

// defineNV defines an NV index of size bytes with the given read attributes and writes data at
// its start, in chunks the simulator accepts.
func (s *sim) defineNV(index uint32, size int, data []byte, authRead bool) {
	s.t.Helper()
	pub := tpm2.TPMSNVPublic{
		NVIndex: tpm2.TPMHandle(index),
		NameAlg: tpm2.TPMAlgSHA256,
		Attributes: tpm2.TPMANV{
			OwnerWrite: true,
			OwnerRead:  true,
			AuthRead:   authRead,
			NoDA:       true,
			NT:         tpm2.TPMNTOrdinary,
		},
		DataSize: uint16(size),
	}
	if _, err := (tpm2.NVDefineSpace{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		PublicInfo: tpm2.New2B(pub),
	}).Execute(s.raw); err != nil {
		s.t.Fatalf("NVDefineSpace: %v", err)
	}
	rp, err := tpm2.NVReadPublic{NVIndex: tpm2.TPMHandle(index)}.Execute(s.raw)
	if err != nil {
		s.t.Fatalf("NVReadPublic: %v", err)
	}
	for off := 0; off < len(data); off += 1024 {
		chunk := data[off:min(off+1024, len(data))]
		if _, err := (tpm2.NVWrite{
			AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
			NVIndex:    tpm2.NamedHandle{Handle: tpm2.TPMHandle(index), Name: rp.NVName},
			Data:       tpm2.TPM2BMaxNVBuffer{Buffer: chunk},
			Offset:     uint16(off),
		}).Execute(s.raw); err != nil {
			s.t.Fatalf("NVWrite at %d: %v", off, err)
		}
	}
}

func TestSimulatorEKCreatedPersistedAndReadBack(t *testing.T) {
	s := newSim(t)
	ctx := ctxT(t)
	ek, err := s.open(Config{}).EndorsementKey(ctx)
	if err != nil {
		t.Fatalf("EndorsementKey on a blank TPM: %v", err)
	}
	if len(ek) != 316 || ek[0] != 0x01 || ek[1] != 0x3A {
		t.Fatalf("EK is %d bytes starting % x, want 316 bytes starting 01 3a", len(ek), ek[:2])
	}
	if got := base64.StdEncoding.EncodeToString(ek); !strings.HasPrefix(got, "AToAAQAL") {
		t.Errorf("EK base64 starts %q, want AToAAQAL", got[:8])
	}
	if got := s.readPublic(EKHandle); !bytes.Equal(got, ek) {
		t.Errorf("what the TPM holds at 0x81010001 differs from the EK returned")
	}

	s.reboot()
	again, err := s.open(Config{}).EndorsementKey(ctx)
	if err != nil {
		t.Fatalf("EndorsementKey after reboot: %v", err)
	}
	if !bytes.Equal(again, ek) {
		t.Errorf("EK after reboot differs from the one created")
	}
}

// TestSimulatorEKTemplate checks the created EK against the protocol document's template, field
// by field, from the bytes DPS will receive.
func TestSimulatorEKTemplate(t *testing.T) {
	s := newSim(t)
	ek, err := s.open(Config{}).EndorsementKey(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := keyFields{
		attributes: 0x000300B2,
		authPolicy: "837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa",
	}
	want.check(t, ek)
}

// keyFields are the template fields of an RSA-2048 storage key that differ between EK and SRK.
type keyFields struct {
	attributes uint32
	authPolicy string
}

// check parses a TPM2B_PUBLIC independently of package tpm's own checks and compares it with
// the RSA-2048, SHA-256, AES-128-CFB, NULL-scheme template with these fields.
func (w keyFields) check(t *testing.T, b []byte) {
	t.Helper()
	if int(binary.BigEndian.Uint16(b)) != len(b)-2 {
		t.Fatalf("size prefix %d for %d bytes", binary.BigEndian.Uint16(b), len(b))
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b[2:])
	if err != nil {
		t.Fatal(err)
	}
	if pub.Type != tpm2.TPMAlgRSA || pub.NameAlg != tpm2.TPMAlgSHA256 {
		t.Errorf("type 0x%04x nameAlg 0x%04x, want RSA (0x0001) and SHA-256 (0x000b)", pub.Type, pub.NameAlg)
	}
	if got := binary.BigEndian.Uint32(tpm2.Marshal(pub.ObjectAttributes)); got != w.attributes {
		t.Errorf("attributes 0x%08x, want 0x%08x", got, w.attributes)
	}
	if got := hex.EncodeToString(pub.AuthPolicy.Buffer); got != w.authPolicy {
		t.Errorf("authPolicy %q, want %q", got, w.authPolicy)
	}
	rsaParms, err := pub.Parameters.RSADetail()
	if err != nil {
		t.Fatal(err)
	}
	keyBits, err := rsaParms.Symmetric.KeyBits.AES()
	if err != nil {
		t.Fatal(err)
	}
	mode, err := rsaParms.Symmetric.Mode.AES()
	if err != nil {
		t.Fatal(err)
	}
	if rsaParms.Symmetric.Algorithm != tpm2.TPMAlgAES || *keyBits != 128 || *mode != tpm2.TPMAlgCFB {
		t.Errorf("symmetric %v/%d/%v, want AES-128-CFB", rsaParms.Symmetric.Algorithm, *keyBits, *mode)
	}
	if rsaParms.Scheme.Scheme != tpm2.TPMAlgNull || rsaParms.KeyBits != 2048 || rsaParms.Exponent != 0 {
		t.Errorf("scheme 0x%04x keyBits %d exponent %d, want NULL, 2048, 0",
			rsaParms.Scheme.Scheme, rsaParms.KeyBits, rsaParms.Exponent)
	}
	n, err := pub.Unique.RSA()
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Buffer) != 256 || bytes.Equal(n.Buffer, make([]byte, 256)) {
		t.Errorf("modulus of %d bytes (all zero: %v), want a real 256-byte modulus",
			len(n.Buffer), bytes.Equal(n.Buffer, make([]byte, 256)))
	}
}

func TestSimulatorSRKCreatedAndPersisted(t *testing.T) {
	s := newSim(t)
	ctx := ctxT(t)
	srk, err := s.open(Config{}).StorageRootKey(ctx)
	if err != nil {
		t.Fatalf("StorageRootKey on a blank TPM: %v", err)
	}
	keyFields{attributes: 0x00030472}.check(t, srk)
	if got := s.readPublic(SRKHandle); !bytes.Equal(got, srk) {
		t.Errorf("what the TPM holds at 0x81000001 differs from the SRK returned")
	}
	s.reboot()
	again, err := s.open(Config{}).StorageRootKey(ctx)
	if err != nil || !bytes.Equal(again, srk) {
		t.Errorf("SRK after reboot: err %v, same bytes %v", err, bytes.Equal(again, srk))
	}
}

func TestSimulatorIdentity(t *testing.T) {
	s := newSim(t)
	ctx := ctxT(t)
	id, err := s.open(Config{}).Identity(ctx)
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	if id.RegistrationID != identity.DeriveRegistrationID(id.EndorsementKey) || len(id.RegistrationID) != 52 {
		t.Errorf("registration ID %q is not the one derived from the EK", id.RegistrationID)
	}
	if !bytes.Equal(id.EndorsementKey, s.readPublic(EKHandle)) || !bytes.Equal(id.StorageRootKey, s.readPublic(SRKHandle)) {
		t.Errorf("identity's keys differ from those persisted")
	}
	if id.EKCertificate != nil {
		t.Errorf("EK certificate %d bytes on a TPM without one, want nil", len(id.EKCertificate))
	}
	hs := s.persistentHandles()
	if len(hs) != 2 || hs[0] != SRKHandle || hs[1] != EKHandle {
		t.Errorf("persistent handles % x, want exactly 81000001 and 81010001", hs)
	}
}

func TestSimulatorEndorsementPassword(t *testing.T) {
	s := newSim(t)
	ctx := ctxT(t)
	s.setAuth(tpm2.TPMRHEndorsement, "endorse-pw")

	_, err := s.open(Config{}).EndorsementKey(ctx)
	wantAuthError(t, err, HierarchyEndorsement, "the endorsement hierarchy has a password; supply it with OOB_ENDORSEMENT_AUTH or --endorsement-auth-file")

	_, err = s.open(Config{EndorsementAuth: []byte("wrong")}).EndorsementKey(ctx)
	wantAuthError(t, err, HierarchyEndorsement, "the endorsement hierarchy password given is wrong; check OOB_ENDORSEMENT_AUTH or --endorsement-auth-file")

	ek, err := s.open(Config{EndorsementAuth: []byte("endorse-pw")}).EndorsementKey(ctx)
	if err != nil {
		t.Fatalf("with the endorsement password: %v", err)
	}
	if !bytes.Equal(ek, s.readPublic(EKHandle)) {
		t.Errorf("EK not persisted")
	}
	// Once persisted, reading it needs no password.
	if _, err := s.open(Config{}).EndorsementKey(ctx); err != nil {
		t.Errorf("reading the persisted EK without the password: %v", err)
	}
}

func TestSimulatorOwnerPassword(t *testing.T) {
	s := newSim(t)
	ctx := ctxT(t)
	s.setAuth(tpm2.TPMRHOwner, "owner-pw")

	_, err := s.open(Config{}).EndorsementKey(ctx)
	wantAuthError(t, err, HierarchyOwner, "the owner hierarchy has a password; supply it with OOB_OWNER_AUTH or --owner-auth-file")
	_, err = s.open(Config{}).StorageRootKey(ctx)
	wantAuthError(t, err, HierarchyOwner, "OOB_OWNER_AUTH or --owner-auth-file")

	id, err := s.open(Config{OwnerAuth: []byte("owner-pw")}).Identity(ctx)
	if err != nil {
		t.Fatalf("with the owner password: %v", err)
	}
	// The SRK is the EK's size less the 32-byte authPolicy it does not have.
	if len(id.EndorsementKey) != 316 || len(id.StorageRootKey) != 284 {
		t.Errorf("EK %d bytes, SRK %d bytes, want 316 and 284", len(id.EndorsementKey), len(id.StorageRootKey))
	}
}

func wantAuthError(t *testing.T, err error, hierarchy, msg string) {
	t.Helper()
	t.Log(err)
	var e *Error
	switch {
	case !errors.Is(err, ErrHierarchyAuth):
		t.Fatalf("got %v, want ErrHierarchyAuth", err)
	case !errors.Is(err, tpm2.TPMRCBadAuth) && !errors.Is(err, tpm2.TPMRCAuthFail):
		t.Errorf("cause of %v is not the TPM's authorization failure", err)
	case !errors.As(err, &e) || e.Hierarchy != hierarchy:
		t.Errorf("hierarchy of %v is not %s", err, hierarchy)
	case !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), "tpm: "):
		t.Errorf("message %q does not say %q", err, msg)
	}
}

func TestSimulatorEndorsementDisabled(t *testing.T) {
	for _, persisted := range []bool{false, true} {
		name := "blank"
		if persisted {
			name = "EK already persisted"
		}
		t.Run(name, func(t *testing.T) {
			s := newSim(t)
			ctx := ctxT(t)
			if persisted {
				if _, err := s.open(Config{}).EndorsementKey(ctx); err != nil {
					t.Fatal(err)
				}
			}
			s.disable(tpm2.TPMRHEndorsement)
			_, err := s.open(Config{}).EndorsementKey(ctx)
			t.Log(err)
			var e *Error
			if !errors.Is(err, ErrHierarchyDisabled) || !errors.As(err, &e) || e.Hierarchy != HierarchyEndorsement {
				t.Fatalf("got %v, want ErrHierarchyDisabled for the endorsement hierarchy", err)
			}
			if !strings.Contains(err.Error(), "the endorsement hierarchy is disabled") {
				t.Errorf("message %q does not say the endorsement hierarchy is disabled", err)
			}
		})
	}
}

func TestSimulatorWrongKeys(t *testing.T) {
	signing := srkTemplate()
	signing.ObjectAttributes.Decrypt = false
	signing.ObjectAttributes.SignEncrypt = true
	signing.ObjectAttributes.Restricted = false
	signing.Parameters = tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
		Scheme: tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull}, KeyBits: 2048,
		Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
	})
	for _, tc := range []struct {
		name    string
		h       tpm2.TPMHandle
		tmpl    tpm2.TPMTPublic
		handle  uint32
		read    func(*TPM, context.Context) ([]byte, error)
		kind    error
		sayings []string
	}{
		{
			name: "ECC EK", h: tpm2.TPMRHEndorsement, tmpl: tpm2.ECCEKTemplate, handle: EKHandle,
			read: (*TPM).EndorsementKey, kind: ErrEKNotRSA2048,
			sayings: []string{"is an ECC key (NIST P-256), not RSA-2048", "DPS TPM attestation needs an RSA-2048 EK", "tpm2_evictcontrol -C o -c 0x81010001"},
		},
		{
			name: "ECC SRK", h: tpm2.TPMRHOwner, tmpl: tpm2.ECCSRKTemplate, handle: SRKHandle,
			read: (*TPM).StorageRootKey, kind: ErrSRKUnusable,
			sayings: []string{"is an ECC key (NIST P-256); DPS TPM attestation needs an RSA-2048 storage root key", "tpm2_evictcontrol -C o -c 0x81000001"},
		},
		{
			name: "RSA signing key as SRK", h: tpm2.TPMRHOwner, tmpl: signing, handle: SRKHandle,
			read: (*TPM).StorageRootKey, kind: ErrSRKUnusable,
			sayings: []string{"not a restricted decryption key"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t)
			s.persist(tc.h, tc.tmpl, tc.handle)
			before := s.readPublic(tc.handle)
			_, err := tc.read(s.open(Config{}), ctxT(t))
			t.Log(err)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			for _, say := range tc.sayings {
				if !strings.Contains(err.Error(), say) {
					t.Errorf("message %q does not say %q", err, say)
				}
			}
			if !bytes.Equal(s.readPublic(tc.handle), before) {
				t.Errorf("the key found was changed")
			}
		})
	}
}

// testCert returns a DER certificate for the EK at least minSize bytes long, signed by a
// throwaway CA, as a manufacturer's would be.
func testCert(t *testing.T, ek []byte, minSize int) []byte {
	t.Helper()
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ek[2:])
	if err != nil {
		t.Fatal(err)
	}
	n, err := pub.Unique.RSA()
	if err != nil {
		t.Fatal(err)
	}
	ekPub := &rsa.PublicKey{N: new(big.Int).SetBytes(n.Buffer), E: 65537}
	ca, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "test EK"},
		Issuer:       pkix.Name{CommonName: "test TPM manufacturer CA"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		// Padding that makes the certificate span more than one NV read.
		ExtraExtensions: []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 99999, 1}, Value: bytes.Repeat([]byte{0x04}, minSize)}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, ekPub, ca)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSimulatorEKCertificate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		authRead bool
		header   bool
		pad      int
	}{
		{name: "plain DER, index readable with its own auth", authRead: true},
		{name: "padded index, readable by the owner only", pad: 100},
		{name: "TCG header and padding", authRead: true, header: true, pad: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t)
			ctx := ctxT(t)
			dev := s.open(Config{})
			if cert, err := dev.EKCertificate(ctx); cert != nil || err != nil {
				t.Fatalf("no certificate yet: got %d bytes, %v; want nil, nil", len(cert), err)
			}
			ek, err := dev.EndorsementKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cert := testCert(t, ek, 1100)
			if len(cert) <= dev.nvChunk {
				t.Fatalf("certificate of %d bytes fits one NV read of %d", len(cert), dev.nvChunk)
			}
			stored := cert
			if tc.header {
				stored = binary.BigEndian.AppendUint16([]byte{0x10, 0x01, 0x00}, uint16(len(cert)))
				stored = append(stored, cert...)
			}
			s.defineNV(EKCertIndex, len(stored)+tc.pad, stored, tc.authRead)
			// A defined but unwritten index is no certificate either; here it is written.
			s.nvReads.Store(0)
			got, err := dev.EKCertificate(ctx)
			if err != nil {
				t.Fatalf("EKCertificate: %v", err)
			}
			if !bytes.Equal(got, cert) {
				t.Fatalf("read back %d bytes, want the %d-byte certificate written", len(got), len(cert))
			}
			size := len(stored) + tc.pad
			if want := int32((size + dev.nvChunk - 1) / dev.nvChunk); s.nvReads.Load() != want {
				t.Errorf("%d NV reads for %d bytes in chunks of %d, want %d", s.nvReads.Load(), size, dev.nvChunk, want)
			}
			parsed, err := x509.ParseCertificate(got)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := ekModulus(ek)
			if parsed.PublicKey.(*rsa.PublicKey).N.Cmp(n) != 0 {
				t.Errorf("certificate's key is not the EK")
			}
		})
	}
}

func TestSimulatorNVChunkFromTPM(t *testing.T) {
	s := newSim(t)
	// The reference simulator's MAX_NV_BUFFER_SIZE.
	if got := s.open(Config{}).nvChunk; got != 1024 {
		t.Errorf("NV chunk %d, want the simulator's TPM_PT_NV_BUFFER_MAX of 1024", got)
	}
}
