package agent

import (
	"fmt"
	"io"

	"github.com/oobtpm/oob/pkg/ekcert"
)

// ekCertJSON is what `identity --format json` says of the EK certificate besides its bytes.
type ekCertJSON struct {
	// TPM is the maker, model and firmware the certificate's TCG subjectAltName names.
	TPM *tpmMakerJSON `json:"tpm,omitempty"`
	// MatchesEK is false when the certificate certifies another key than the EK (an EK
	// regenerated after manufacture); absent when the certificate could not be read.
	MatchesEK *bool `json:"matchesEk,omitempty"`
	// Quirks lists what in the certificate departs from the standards and was accepted.
	Quirks []string `json:"quirks,omitempty"`
	// Problem says why the certificate is unreadable or does not match the EK.
	Problem string `json:"problem,omitempty"`
}

type tpmMakerJSON struct {
	Manufacturer     string `json:"manufacturer"`
	ManufacturerName string `json:"manufacturerName,omitempty"`
	Model            string `json:"model"`
	Firmware         string `json:"firmware"`
	FirmwareVersion  string `json:"firmwareVersion,omitempty"`
}

// describeEKCert reads the EK certificate from NV and checks it against the EK.
func describeEKCert(cert, ek []byte) *ekCertJSON {
	if len(cert) == 0 {
		return nil
	}
	c, err := ekcert.Parse(cert)
	if err != nil {
		return &ekCertJSON{Problem: err.Error()}
	}
	out := &ekCertJSON{Quirks: c.Quirks}
	if c.TPM.Manufacturer != "" {
		out.TPM = &tpmMakerJSON{
			Manufacturer: c.TPM.Manufacturer, ManufacturerName: c.TPM.ManufacturerName(),
			Model: c.TPM.Model, Firmware: c.TPM.Firmware, FirmwareVersion: c.TPM.FirmwareVersion(),
		}
	}
	matches := true
	if err := c.MatchEK(ek); err != nil {
		matches = false
		out.Problem = err.Error()
	}
	out.MatchesEK = &matches
	return out
}

// writeEKCertText adds the certificate's lines to identity's text output.
func writeEKCertText(w io.Writer, info *ekCertJSON) {
	if info == nil {
		return
	}
	if t := info.TPM; t != nil {
		maker := t.Manufacturer
		if t.ManufacturerName != "" {
			maker = t.ManufacturerName + " (" + t.Manufacturer + ")"
		}
		fmt.Fprintf(w, "TPM maker:\t%s\n", maker)
		fmt.Fprintf(w, "TPM model:\t%s\n", t.Model)
		fmt.Fprintf(w, "TPM firmware:\t%s (%s)\n", t.FirmwareVersion, t.Firmware)
	}
	switch {
	case info.MatchesEK == nil:
		fmt.Fprintf(w, "EK certificate check:\tunreadable: %s\n", info.Problem)
	case !*info.MatchesEK:
		fmt.Fprintf(w, "EK certificate check:\tDOES NOT MATCH THE EK: %s\n", info.Problem)
	default:
		fmt.Fprintf(w, "EK certificate check:\tcertifies this EK\n")
	}
}
