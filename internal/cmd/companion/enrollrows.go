package companion

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/oobtpm/oob/pkg/ekcert"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/strictjson"
)

// maxRowsBytes bounds an --from file: 10,000 devices with EK certificates are about 40 MB.
const maxRowsBytes = 64 << 20

// enrollRow is one device of an --from file, checked.
type enrollRow struct {
	Line     int
	ID       identity.Verified
	EKCert   []byte // DER, as the row gave it; nil when it gave none
	DeviceID string
	Tags     map[string]string
	// Label and Payload are a JSON line's device label and QR payload, as the agent printed
	// them; empty for CSV. Payload, when given, is the same device's (samePayload).
	Label   string
	Payload string
}

// rowError is a bad row of an --from file.
type rowError struct {
	Line int
	Err  error
}

func (e rowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// readRowsFile reads and checks the --from file at path, as parseRows does.
func readRowsFile(path string) ([]enrollRow, []rowError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	rows, bad, err := parseRows(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, bad, nil
}

// badRowsError reports each bad row of the file at path on w, by its line, and returns the
// error that says how many of total rows were bad and that nothing was done.
func badRowsError(w io.Writer, path string, bad []rowError, total int, nothing string) error {
	for _, b := range bad {
		fmt.Fprintf(w, "%s: %v\n", path, b)
	}
	return fmt.Errorf("%s: %d of %d rows are bad (listed above); %s: fix them and run again", path, len(bad), total, nothing)
}

// rowJSON is one line of JSON lines input: what `oob-agent identity --format json` prints, and
// optionally the IoT Hub device ID and tags.
type rowJSON struct {
	RegistrationID        string            `json:"registrationId"`
	RegistrationIDDerived *bool             `json:"registrationIdDerived"`
	EndorsementKey        string            `json:"endorsementKey"`
	StorageRootKey        string            `json:"storageRootKey"`
	EKCertificate         string            `json:"ekCertificate"`
	EKCertificateInfo     any               `json:"ekCertificateInfo"`
	Label                 string            `json:"label"`
	Payload               string            `json:"payload"`
	QRVersion             int               `json:"qrVersion"`
	DeviceID              string            `json:"deviceId"`
	Tags                  map[string]string `json:"tags"`
}

// csvHeader names the CSV columns; the first line may be this header.
var csvHeader = []string{"registrationId", "endorsementKey", "ekCertificate", "deviceId", "tags"}

// parseRows reads an --from file: JSON lines when its first non-blank character is '{', else
// CSV with the columns of csvHeader (the last three may be empty; tags as KEY=VALUE;KEY=VALUE).
// Every row is checked; the bad ones come back as rowErrors, each naming its line. A
// registration ID given twice is bad on its second line.
func parseRows(r io.Reader) ([]enrollRow, []rowError, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRowsBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxRowsBytes {
		return nil, nil, fmt.Errorf("more than %d MB: split the file", maxRowsBytes>>20)
	}
	var rows []enrollRow
	var bad []rowError
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		rows, bad = parseJSONRows(data)
	} else {
		rows, bad, err = parseCSVRows(data)
		if err != nil {
			return nil, nil, err
		}
	}
	seen := map[string]int{}
	var unique []enrollRow
	for _, row := range rows {
		if first, dup := seen[row.ID.RegistrationID()]; dup {
			bad = append(bad, rowError{row.Line, fmt.Errorf("registration ID %q is already on line %d: give each device once", row.ID.RegistrationID(), first)})
			continue
		}
		seen[row.ID.RegistrationID()] = row.Line
		unique = append(unique, row)
	}
	if len(unique)+len(bad) == 0 {
		return nil, nil, errors.New("no rows: give JSON lines as `oob-agent identity --format json` prints them, or CSV " + strings.Join(csvHeader, ","))
	}
	return unique, bad, nil
}

func parseJSONRows(data []byte) ([]enrollRow, []rowError) {
	var rows []enrollRow
	var bad []rowError
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxRowsBytes)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var j rowJSON
		if err := strictjson.Decode(text, &j); err != nil {
			bad = append(bad, rowError{line, fmt.Errorf("not an identity as `oob-agent identity --format json` prints it: %v", err)})
			continue
		}
		row, err := checkRow(line, j.RegistrationID, j.EndorsementKey, j.StorageRootKey, j.EKCertificate, j.DeviceID, j.Tags)
		if err == nil && j.Payload != "" {
			err = samePayload(row, j.Payload)
		}
		if err != nil {
			bad = append(bad, rowError{line, err})
			continue
		}
		row.Label, row.Payload = j.Label, j.Payload
		rows = append(rows, row)
	}
	return rows, bad
}

// samePayload checks that a row's QR payload, when it has one, is the same device.
func samePayload(row enrollRow, payload string) error {
	p, err := identity.Parse(payload)
	if err != nil {
		return fmt.Errorf("payload: %v", err)
	}
	if p.RegistrationID() != row.ID.RegistrationID() || !bytes.Equal(p.EndorsementKey(), row.ID.EndorsementKey()) {
		return errors.New("the payload is another device's than the registration ID and endorsement key: print the line again with oob-agent identity --format json")
	}
	return nil
}

func parseCSVRows(data []byte) ([]enrollRow, []rowError, error) {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	var rows []enrollRow
	var bad []rowError
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, bad, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("line %d: not CSV: %v; quote fields holding commas or quotes", pe.Line, pe.Err)
			}
			return nil, nil, err
		}
		line, _ := cr.FieldPos(0)
		if first && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), csvHeader[0]) {
			continue
		}
		if len(rec) < 2 || len(rec) > len(csvHeader) {
			bad = append(bad, rowError{line, fmt.Errorf("%d columns; want 2 to %d: %s", len(rec), len(csvHeader), strings.Join(csvHeader, ","))})
			continue
		}
		rec = append(rec, make([]string, len(csvHeader)-len(rec))...)
		tags, err := parseCSVTags(rec[4])
		if err != nil {
			bad = append(bad, rowError{line, err})
			continue
		}
		row, err := checkRow(line, rec[0], rec[1], "", rec[2], rec[3], tags)
		if err != nil {
			bad = append(bad, rowError{line, err})
			continue
		}
		rows = append(rows, row)
	}
}

// parseCSVTags reads "KEY=VALUE;KEY=VALUE".
func parseCSVTags(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	tags := map[string]string{}
	for _, t := range strings.Split(s, ";") {
		k, v, err := enroll.ParseTag(strings.TrimSpace(t))
		if err != nil {
			return nil, fmt.Errorf("tags: %v; write them KEY=VALUE;KEY=VALUE", err)
		}
		if _, dup := tags[k]; dup {
			return nil, fmt.Errorf("tags: %q given twice", k)
		}
		tags[k] = v
	}
	return tags, nil
}

// checkRow verifies one row's identity (the EK's structure, the registration ID) and, when it
// has one, that its EK certificate is readable and certifies that EK.
func checkRow(line int, regID, ek, srk, cert, deviceID string, tags map[string]string) (enrollRow, error) {
	row := enrollRow{Line: line, DeviceID: deviceID, Tags: tags}
	var id identity.Identity
	id.RegistrationID = regID
	var err error
	if id.EndorsementKey, err = base64.StdEncoding.DecodeString(ek); err != nil || len(ek) == 0 {
		return row, errors.New("the endorsement key is not standard base64 of a TPM2B_PUBLIC")
	}
	if srk != "" {
		if id.StorageRootKey, err = base64.StdEncoding.DecodeString(srk); err != nil {
			return row, errors.New("the storage root key is not standard base64")
		}
	}
	if row.ID, err = identity.Verify(id); err != nil {
		return row, err
	}
	if cert != "" {
		if row.EKCert, err = base64.StdEncoding.DecodeString(cert); err != nil {
			return row, errors.New("the EK certificate is not standard base64 of its DER")
		}
		c, err := ekcert.Parse(row.EKCert)
		if err != nil {
			return row, fmt.Errorf("EK certificate: %v", err)
		}
		if err := c.MatchEK(id.EndorsementKey); err != nil {
			return row, err
		}
	}
	s := enroll.Settings{DeviceID: deviceID, Tags: tags}
	if err := s.Validate(); err != nil {
		return row, err
	}
	return row, nil
}
