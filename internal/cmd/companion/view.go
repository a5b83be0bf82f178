package companion

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
)

// printEnrollResult says what enroll did, then shows the enrollment.
func printEnrollResult(ios *cli.IOStreams, res *enroll.Result, label string) error {
	e := res.Enrollment
	switch res.Outcome {
	case enroll.Created:
		fmt.Fprintf(ios.Out, "Enrolled %s.\n", e.RegistrationID)
	case enroll.AlreadyEnrolled:
		fmt.Fprintf(ios.Out, "Already enrolled: %s, with this key. Nothing was changed.\n", e.RegistrationID)
	case enroll.Updated:
		fmt.Fprintf(ios.Out, "Rewrote the enrollment of %s (same key, settings as given).\n", e.RegistrationID)
	case enroll.Replaced:
		fmt.Fprintf(ios.Out, "Replaced the enrollment of %s. The key it had before (%s) was:\n%s\n",
			e.RegistrationID, enroll.Fingerprint(res.PreviousEndorsementKey), res.PreviousEndorsementKey)
	}
	if label != "" {
		fmt.Fprintf(ios.Out, "Device label: %s\n", label)
	}
	return printEnrollment(ios.Out, e)
}

// printEnrollment shows one enrollment as aligned fields, for people.
func printEnrollment(w io.Writer, e *dpsapi.IndividualEnrollment) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(tw, "  %s:\t%s\n", name, value)
		}
	}
	field("Registration ID", e.RegistrationID)
	field("Device ID", deviceID(e))
	field("Status", string(status(e)))
	field("Attestation", attestation(e))
	for _, c := range x509Certificates(e) {
		// DPS names a certificate by its SHA-1 thumbprint, IoT Hub by its SHA-256 one: both, so
		// that either portal's value can be matched.
		field(c.role+" certificate", c.info.SubjectName)
		field("  SHA-1 thumbprint (DPS)", c.info.SHA1Thumbprint)
		field("  SHA-256 thumbprint (IoT Hub)", c.info.SHA256Thumbprint)
		if !c.info.NotAfterUTC.IsZero() {
			field("  Valid", when(c.info.NotBeforeUTC)+" to "+when(c.info.NotAfterUTC))
		}
	}
	field("IoT hub", hub(e))
	if e.Capabilities != nil && e.Capabilities.IoTEdge {
		field("IoT Edge", "yes")
	}
	if e.InitialTwin != nil {
		field("Twin tags", compactJSON(e.InitialTwin.Tags))
		if e.InitialTwin.Properties != nil {
			field("Desired properties", compactJSON(e.InitialTwin.Properties.Desired))
		}
	}
	if r := e.RegistrationState; r != nil {
		field("Registration", registration(r))
	} else {
		field("Registration", "the device has not registered yet")
	}
	field("Created", when(e.CreatedDateTimeUTC))
	field("Updated", when(e.LastUpdatedDateTimeUTC))
	field("ETag", e.ETag)
	return tw.Flush()
}

// enrollmentTable writes enrollments as a table with a header, for people.
type enrollmentTable struct {
	tw *tabwriter.Writer
	n  int
}

func newEnrollmentTable(w io.Writer) *enrollmentTable {
	t := &enrollmentTable{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	fmt.Fprintln(t.tw, "REGISTRATION ID\tDEVICE ID\tSTATUS\tATTESTATION\tREGISTRATION\tUPDATED")
	return t
}

func (t *enrollmentTable) add(e *dpsapi.IndividualEnrollment) {
	reg := "not registered"
	if r := e.RegistrationState; r != nil {
		reg = string(r.Status)
		if r.AssignedHub != "" {
			reg += " to " + r.AssignedHub
		}
	}
	att := "?"
	if e.Attestation != nil {
		att = string(e.Attestation.Type)
	}
	fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.RegistrationID, deviceID(e), status(e), att, reg, when(e.LastUpdatedDateTimeUTC))
	t.n++
}

func (t *enrollmentTable) flush() error { return t.tw.Flush() }

func deviceID(e *dpsapi.IndividualEnrollment) string {
	if e.DeviceID == "" {
		return e.RegistrationID
	}
	return e.DeviceID
}

// status is the enrollment's provisioning status; the service's default when absent is enabled.
func status(e *dpsapi.IndividualEnrollment) dpsapi.ProvisioningStatus {
	if e.ProvisioningStatus == "" {
		return dpsapi.StatusEnabled
	}
	return e.ProvisioningStatus
}

func attestation(e *dpsapi.IndividualEnrollment) string {
	a := e.Attestation
	switch {
	case a == nil:
		return ""
	case a.TPM != nil:
		return "TPM, " + enroll.Fingerprint(a.TPM.EndorsementKey)
	case a.X509 != nil && a.X509.ClientCertificates != nil:
		return "X.509, client certificate"
	case a.X509 != nil && a.X509.CAReferences != nil:
		return "X.509, CA reference " + a.X509.CAReferences.Primary
	}
	return string(a.Type)
}

// enrolledCertificate is one of an X.509 enrollment's client certificates, as DPS reports it.
type enrolledCertificate struct {
	role string // "Primary" or "Secondary"
	info *dpsapi.X509CertificateInfo
}

func x509Certificates(e *dpsapi.IndividualEnrollment) []enrolledCertificate {
	if e.Attestation == nil || e.Attestation.X509 == nil || e.Attestation.X509.ClientCertificates == nil {
		return nil
	}
	var out []enrolledCertificate
	cc := e.Attestation.X509.ClientCertificates
	for _, c := range []enrolledCertificate{{"Primary", infoOf(cc.Primary)}, {"Secondary", infoOf(cc.Secondary)}} {
		if c.info != nil {
			out = append(out, c)
		}
	}
	return out
}

func infoOf(c *dpsapi.X509CertificateWithInfo) *dpsapi.X509CertificateInfo {
	if c == nil {
		return nil
	}
	return c.Info
}

func hub(e *dpsapi.IndividualEnrollment) string {
	switch {
	case len(e.IoTHubs) > 0:
		return strings.Join(e.IoTHubs, ", ") + " (" + string(e.AllocationPolicy) + ")"
	case e.IoTHubHostName != "":
		return e.IoTHubHostName
	case e.AllocationPolicy != "":
		return "chosen by DPS (" + string(e.AllocationPolicy) + ")"
	}
	return "chosen by DPS"
}

func registration(r *dpsapi.DeviceRegistrationState) string {
	s := string(r.Status)
	if r.AssignedHub != "" {
		s += " to " + r.AssignedHub
	}
	if r.DeviceID != "" {
		s += " as " + r.DeviceID
	}
	if r.ErrorCode != 0 {
		s += fmt.Sprintf(" (error %d: %s)", r.ErrorCode, r.ErrorMessage)
	}
	if !r.LastUpdatedDateTimeUTC.IsZero() {
		s += ", " + when(r.LastUpdatedDateTimeUTC)
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// compactJSON shows a twin collection on one line, keys sorted.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		if flat, ok := flatStrings(m); ok {
			return flat
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// flatStrings shows a collection of string values as k=v pairs, as --tag takes them.
func flatStrings(m map[string]any) (string, bool) {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if _, ok := v.(string); !ok {
			return "", false
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k].(string)
	}
	return strings.Join(parts, ", "), true
}
