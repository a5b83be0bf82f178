package tpm

import (
	"context"
	"errors"
	"fmt"

	"github.com/oobtpm/oob/pkg/ekcert"

	"github.com/google/go-tpm/tpm2"
)

// NV buffer bounds. A TPM that does not report TPM_PT_NV_BUFFER_MAX gets the smallest size PC
// Client TPMs implement; a reported size is capped so that a read's response always fits the
// 4 KiB response buffer go-tpm's device transport reads into.
const (
	defaultNVChunk = 512
	maxNVChunk     = 2048
)

// nvChunkSize returns how many bytes one TPM2_NV_Read asks for, given TPM_PT_NV_BUFFER_MAX.
func nvChunkSize(reported uint32) int {
	switch {
	case reported == 0:
		return defaultNVChunk
	case reported > maxNVChunk:
		return maxNVChunk
	}
	return int(reported)
}

// EKCertificate returns the manufacturer's RSA EK certificate from NV index EKCertIndex, as
// DER, without any header or padding the NV index holds around it. It returns nil and no error
// when the TPM has no EK certificate.
func (t *TPM) EKCertificate(ctx context.Context) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ekCertificate(ctx)
}

func (t *TPM) ekCertificate(ctx context.Context) ([]byte, error) {
	raw, err := t.readNV(ctx, tpm2.TPMHandle(EKCertIndex))
	if err != nil || raw == nil {
		return nil, err
	}
	cert, err := ekcert.Unwrap(raw)
	if err != nil {
		return nil, newError(ErrEKCertificate, err, "NV index 0x%08x should hold the EK certificate but "+
			"holds %d bytes that are not one", EKCertIndex, len(raw))
	}
	return cert, nil
}

// readNV reads a whole NV index in chunks of at most t.nvChunk bytes. It returns nil and no error
// when the index is not defined or was never written.
func (t *TPM) readNV(ctx context.Context, index tpm2.TPMHandle) ([]byte, error) {
	op := fmt.Sprintf("reading NV index 0x%08x", uint32(index))
	pubRsp, err := run(ctx, t, tpm2.NVReadPublic{NVIndex: index})
	if errors.Is(err, tpm2.TPMRCHandle) {
		return nil, nil
	}
	if err != nil {
		return nil, t.classify(op, "", err)
	}
	pub, err := pubRsp.NVPublic.Contents()
	if err != nil {
		return nil, malformed(err, "the public area of NV index 0x%08x", uint32(index))
	}
	if pub.NVIndex != index {
		return nil, malformed(nil, "asked for NV index 0x%08x, got 0x%08x", uint32(index), uint32(pub.NVIndex))
	}
	if !pub.Attributes.Written {
		return nil, nil
	}
	auth, hierarchy, err := t.nvReadAuth(index, pubRsp.NVName, pub.Attributes)
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, pub.DataSize)
	for off := 0; off < int(pub.DataSize); {
		n := min(t.nvChunk, int(pub.DataSize)-off)
		rsp, err := run(ctx, t, tpm2.NVRead{
			AuthHandle: auth,
			NVIndex:    tpm2.NamedHandle{Handle: index, Name: pubRsp.NVName},
			Size:       uint16(n),
			Offset:     uint16(off),
		})
		if err != nil {
			return nil, t.classify(op, hierarchy, err)
		}
		if len(rsp.Data.Buffer) != n {
			return nil, malformed(nil, "asked NV index 0x%08x for %d bytes at %d, got %d",
				uint32(index), n, off, len(rsp.Data.Buffer))
		}
		data = append(data, rsp.Data.Buffer...)
		off += n
	}
	return data, nil
}

// nvReadAuth chooses how to authorize reading an NV index. Manufacturers' certificate indices
// are readable with the index's own empty password (AUTHREAD) or the owner's (OWNERREAD); the
// first needs no secret, so it is preferred.
func (t *TPM) nvReadAuth(index tpm2.TPMHandle, name tpm2.TPM2BName, a tpm2.TPMANV) (tpm2.AuthHandle, string, error) {
	switch {
	case a.AuthRead:
		return tpm2.AuthHandle{Handle: index, Name: name, Auth: tpm2.PasswordAuth(nil)}, "", nil
	case a.OwnerRead:
		return tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(t.ownerAuth)}, HierarchyOwner, nil
	}
	return tpm2.AuthHandle{}, "", fmt.Errorf("tpm: NV index 0x%08x is readable neither with its own "+
		"password nor the owner's, so it cannot be read here", uint32(index))
}
