package journal

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Format is an export format.
type Format string

// Export formats.
const (
	// CSV is one row per record under a header, for spreadsheets.
	CSV Format = "csv"
	// JSON is one Entry per line (JSON lines), for scripts.
	JSON Format = "json"
)

// csvHeader names Export's CSV columns.
var csvHeader = []string{
	"seq", "time", "kind", "registration_id", "label", "source", "frame", "outcome", "error",
	"reason", "queued", "device_id", "iot_hub", "endorsement_key",
}

// Export writes every record, oldest first, in format f.
func (j *Journal) Export(w io.Writer, f Format) error {
	switch f {
	case JSON:
		enc := json.NewEncoder(w)
		return j.each(func(e Entry) error { return enc.Encode(e) })
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return err
		}
		err := j.each(func(e Entry) error { return cw.Write(csvRow(e)) })
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("journal: unknown export format %q: use csv or json", f)
}

func csvRow(e Entry) []string {
	num := func(n uint64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatUint(n, 10)
	}
	var deviceID, hub string
	if e.Settings != nil {
		deviceID, hub = e.Settings.DeviceID, e.Settings.IoTHub
	}
	var ek string
	if len(e.Device.EndorsementKey) > 0 {
		ek = base64.StdEncoding.EncodeToString(e.Device.EndorsementKey)
	}
	return []string{
		strconv.FormatUint(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano), string(e.Kind),
		e.Device.RegistrationID, e.Device.Label, e.Source, num(uint64(e.Frame)), string(e.Outcome),
		e.Error, e.Reason, num(e.Queued), deviceID, hub, ek,
	}
}
