package ekcert

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	x509ext "github.com/google/go-attestation/x509"
)

// The TCG's attribute types in an EK certificate's subjectAltName directoryName (TCG EK
// Credential Profile, section 3.2.9).
var (
	oidSubjectAltName  = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidTPMManufacturer = asn1.ObjectIdentifier{2, 23, 133, 2, 1}
	oidTPMModel        = asn1.ObjectIdentifier{2, 23, 133, 2, 2}
	oidTPMVersion      = asn1.ObjectIdentifier{2, 23, 133, 2, 3}
)

// TPMInfo is what an EK certificate's TCG subjectAltName says of the TPM, as written there.
type TPMInfo struct {
	// Manufacturer is the TCG vendor ID as "id:" and 8 hex digits, e.g. "id:49465800".
	Manufacturer string `json:"manufacturer"`
	// Model is the maker's part name, e.g. "SLB9670".
	Model string `json:"model"`
	// Firmware is the firmware version, usually "id:" and 8 hex digits.
	Firmware string `json:"firmware"`
}

// ManufacturerName returns the maker's name for Manufacturer from the TCG vendor ID registry,
// or "" for an ID it does not list.
func (i TPMInfo) ManufacturerName() string {
	id, ok := hexID(i.Manufacturer)
	if !ok {
		return ""
	}
	return vendors[id]
}

// FirmwareVersion returns Firmware as major.minor when it is "id:" and 8 hex digits (the upper
// and lower 16 bits, as TPM_PT_FIRMWARE_VERSION_1 holds them), otherwise Firmware as written.
func (i TPMInfo) FirmwareVersion() string {
	id, ok := hexID(i.Firmware)
	if !ok {
		return i.Firmware
	}
	return strconv.FormatUint(uint64(id>>16), 10) + "." + strconv.FormatUint(uint64(id&0xffff), 10)
}

func hexID(s string) (uint32, bool) {
	h, ok := strings.CutPrefix(strings.ToLower(s), "id:")
	if !ok || len(h) != 8 {
		return 0, false
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return 0, false
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}

// vendors are TCG vendor IDs (TCG Vendor ID Registry) of TPM makers.
var vendors = map[uint32]string{
	0x00001014: "IBM (swtpm)",
	0x414D4400: "AMD",
	0x41544D4C: "Atmel",
	0x4252434D: "Broadcom",
	0x4353434F: "Cisco",
	0x464C5953: "Flyslice Technologies",
	0x474F4F47: "Google",
	0x48504500: "HPE",
	0x48495349: "Huawei (HiSilicon)",
	0x49424D00: "IBM",
	0x49465800: "Infineon",
	0x494E5443: "Intel",
	0x4C454E00: "Lenovo",
	0x4D534654: "Microsoft",
	0x4E534D20: "National Semiconductor",
	0x4E545A00: "Nationz",
	0x4E544300: "Nuvoton",
	0x51434F4D: "Qualcomm",
	0x524F4343: "Fuzhou Rockchip",
	0x534D5343: "SMSC",
	0x534D534E: "Samsung",
	0x534E5300: "Sinosun",
	0x53544D20: "STMicroelectronics",
	0x54584E00: "Texas Instruments",
	0x57454300: "Winbond",
}

// tcgSubjectAltName reads the TCG directoryName from the certificate's subjectAltName and, once
// read, takes the extension off crypto/x509's unhandled critical list so Verify accepts it.
func tcgSubjectAltName(cert *x509.Certificate) (TPMInfo, error) {
	var info TPMInfo
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		if len(cert.DNSNames)+len(cert.EmailAddresses)+len(cert.IPAddresses)+len(cert.URIs) > 0 {
			return info, errors.New("the subjectAltName names hosts or addresses, not a TPM")
		}
		san, err := x509ext.ParseSubjectAltName(ext)
		if err != nil {
			return info, fmt.Errorf("subjectAltName: %v", err)
		}
		for _, name := range san.DirectoryNames {
			for _, attr := range name.Names {
				var dst *string
				switch {
				case attr.Type.Equal(oidTPMManufacturer):
					dst = &info.Manufacturer
				case attr.Type.Equal(oidTPMModel):
					dst = &info.Model
				case attr.Type.Equal(oidTPMVersion):
					dst = &info.Firmware
				default:
					continue
				}
				s, ok := attr.Value.(string)
				if !ok || *dst != "" {
					return info, fmt.Errorf("subjectAltName: attribute %s is repeated or not a string", attr.Type)
				}
				*dst = s
			}
		}
		if info.Manufacturer == "" {
			return info, errors.New("the subjectAltName has no TPM manufacturer (2.23.133.2.1)")
		}
		unhandled := cert.UnhandledCriticalExtensions[:0]
		for _, id := range cert.UnhandledCriticalExtensions {
			if !id.Equal(oidSubjectAltName) {
				unhandled = append(unhandled, id)
			}
		}
		cert.UnhandledCriticalExtensions = unhandled
	}
	return info, nil
}
