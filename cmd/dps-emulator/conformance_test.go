package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/nodetest"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// nodeStep is one JSON line printed by scripts/conformance/service.js.
type nodeStep struct {
	Step    string            `json:"step"`
	OK      bool              `json:"ok"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Result  json.RawMessage   `json:"result"`
	Error   *struct {
		Name   string          `json:"name"`
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"error"`
}

// TestNodeSDKConformance runs Microsoft's Node.js service client (azure-iot-provisioning-service)
// against the emulator binary and checks what it saw: statuses, error classes, error bodies,
// ETags, paging, and that its view of an enrollment and a registration state is the one the
// emulator gives any other client. Our own client (pkg/dps) and the Node client then read each
// other's enrollments and registration states and must agree field by field. The Node client connects to its connection string's HostName
// on port 443 only, so the emulator listens on 127.0.0.1:443 (root is needed, as in CI).
func TestNodeSDKConformance(t *testing.T) {
	scriptDir, err := filepath.Abs(filepath.Join("..", "..", "scripts", "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Install(t, scriptDir)
	nodetest.LockAzurePorts(t)
	probe, err := net.Listen("tcp", "127.0.0.1:443")
	nodetest.Require(t, "port 127.0.0.1:443", "nothing: run as root with the port free", err == nil)
	probe.Close()

	dir := t.TempDir()
	p := startEmulator(t, dir, "--listen", "127.0.0.1:443")
	if cs := readConnectionString(t, dir); cs["HostName"] != "localhost" {
		t.Fatalf("on port 443 the connection string's HostName must be bare: %q", cs["HostName"])
	}
	c := newClient(t, dir, p.Addr)
	token, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	seeded := seedRegistration(t, p.Admin, strings.TrimSpace(string(token)), "conf-tpm")

	// Our client makes an enrollment with everything a technician sets, for the Node client to
	// read; both have a registration state.
	ek := base64.StdEncoding.EncodeToString(ektest.New(t))
	ours := newDPSClient(t, dir)
	madeByGo, err := ours.CreateOrUpdateEnrollment(t.Context(), &dpsapi.IndividualEnrollment{
		RegistrationID:     "conf-go",
		DeviceID:           "conf-go-device",
		Attestation:        &dpsapi.Attestation{Type: dpsapi.AttestationTPM, TPM: &dpsapi.TPMAttestation{EndorsementKey: ek}},
		Capabilities:       &dpsapi.Capabilities{IoTEdge: true},
		ProvisioningStatus: dpsapi.StatusDisabled,
		InitialTwin: &dpsapi.InitialTwin{
			Tags:       json.RawMessage(`{"made":"go","line":{"n":4,"bays":[1,2]}}`),
			Properties: &dpsapi.InitialTwinProperties{Desired: json.RawMessage(`{"interval":60}`)},
		},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"conf-go", "conf-node"} {
		seedRegistration(t, p.Admin, strings.TrimSpace(string(token)), id)
	}

	cmd := exec.Command("node", "service.js", dir)
	cmd.Dir = scriptDir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+filepath.Join(dir, "ca.pem"), "EK_BASE64="+ek, "CONFORMANCE_PREFIX=conf", "GO_ENROLLMENT_ID=conf-go")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node service.js: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	steps := map[string]nodeStep{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s nodeStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		steps[s.Step] = s
		order = append(order, s.Step)
	}
	t.Logf("Node SDK steps: %s", strings.Join(order, " "))

	type enr struct {
		RegistrationID     string `json:"registrationId"`
		ETag               string `json:"etag"`
		ProvisioningStatus string `json:"provisioningStatus"`
		Attestation        struct {
			Type string `json:"type"`
			TPM  struct {
				EndorsementKey string `json:"endorsementKey"`
			} `json:"tpm"`
		} `json:"attestation"`
	}
	okStep := func(name string, status int) nodeStep {
		t.Helper()
		s, found := steps[name]
		if !found || !s.OK || (status != 0 && s.Status != status) {
			t.Fatalf("step %s: %+v", name, s)
		}
		return s
	}
	failStep := func(name, errName string, status, code int) {
		t.Helper()
		s, found := steps[name]
		if !found || s.OK || s.Error == nil || s.Error.Status != status || (errName != "" && s.Error.Name != errName) {
			t.Fatalf("step %s: want %s %d, got %+v", name, errName, status, s.Error)
		}
		var body struct {
			ErrorCode  int    `json:"errorCode"`
			TrackingID string `json:"trackingId"`
		}
		if json.Unmarshal(s.Error.Body, &body) != nil || body.ErrorCode != code || body.TrackingID == "" {
			t.Fatalf("step %s: error body %s, want errorCode %d", name, s.Error.Body, code)
		}
	}
	decode := func(s nodeStep) enr {
		t.Helper()
		var e enr
		if err := json.Unmarshal(s.Result, &e); err != nil {
			t.Fatalf("step %s result: %v", s.Step, err)
		}
		return e
	}

	created := decode(okStep("create", http.StatusOK))
	if created.Attestation.Type != "tpm" || created.Attestation.TPM.EndorsementKey != ek || created.ProvisioningStatus != "enabled" || created.ETag == "" {
		t.Fatalf("create result: %+v", created)
	}
	if h := steps["create"].Headers["etag"]; h != `"`+created.ETag+`"` {
		t.Fatalf("ETag header %q for body etag %q", h, created.ETag)
	}
	if got := okStep("get", http.StatusOK); !jsonEqual(got.Result, steps["create"].Result) {
		t.Fatalf("get differs from create:\n%s\n%s", got.Result, steps["create"].Result)
	}
	updated := decode(okStep("update-with-etag", http.StatusOK))
	if updated.ETag == created.ETag || updated.ProvisioningStatus != "disabled" {
		t.Fatalf("update with etag: %+v", updated)
	}
	failStep("update-with-stale-etag", "InvalidEtagError", http.StatusPreconditionFailed, 412001)

	var bulk struct {
		IsSuccessful bool `json:"isSuccessful"`
		Errors       []struct {
			RegistrationID string `json:"registrationId"`
			ErrorCode      int    `json:"errorCode"`
		} `json:"errors"`
	}
	if json.Unmarshal(okStep("bulk-create", http.StatusOK).Result, &bulk) != nil || bulk.IsSuccessful || len(bulk.Errors) != 1 || bulk.Errors[0].RegistrationID != "conf-tpm" || bulk.Errors[0].ErrorCode != 409001 {
		t.Fatalf("bulk create: %s", steps["bulk-create"].Result)
	}

	var seen []string
	var sym2 json.RawMessage
	for i := 1; ; i++ {
		s, found := steps["query-page-"+strconv.Itoa(i)]
		if !found {
			break
		}
		var page []json.RawMessage
		if !s.OK || json.Unmarshal(s.Result, &page) != nil || len(page) > 2 {
			t.Fatalf("query page %d: %+v", i, s)
		}
		for _, item := range page {
			var e enr
			_ = json.Unmarshal(item, &e)
			seen = append(seen, e.RegistrationID)
			if e.RegistrationID == "conf-sym-2" {
				sym2 = item
			}
		}
		if (s.Headers["x-ms-continuation"] != "") != (i < 2) {
			t.Fatalf("page %d continuation %q", i, s.Headers["x-ms-continuation"])
		}
	}
	if want := []string{"conf-go", "conf-sym-1", "conf-sym-2", "conf-tpm"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("query saw %v, want %v", seen, want)
	}

	if got := okStep("registration-get", http.StatusOK); !jsonEqual(got.Result, seeded) {
		t.Fatalf("registration state as the Node client saw it:\n%s\nas seeded:\n%s", got.Result, seeded)
	}
	okStep("registration-delete", 0)
	failStep("registration-get-after-delete", "", http.StatusNotFound, 404202)
	okStep("bulk-delete", http.StatusOK)
	okStep("get-before-delete", http.StatusOK)
	failStep("delete-with-stale-etag", "InvalidEtagError", http.StatusPreconditionFailed, 412001)
	okStep("delete-with-etag", 0)
	failStep("get-after-delete", "", http.StatusNotFound, 404201)

	// The enrollment the script left behind, read by another client, is what the Node client saw.
	status, body := c.do(http.MethodGet, "/enrollments/conf-sym-2", "")
	if status != http.StatusOK || !jsonEqual(body, sym2) {
		t.Fatalf("conf-sym-2 differs between clients:\nnode: %s\ngo:   %s", sym2, body)
	}

	// What the Node client made and changed, our client reads the same, field by field.
	nodeMade := okStep("node-get", http.StatusOK)
	if updated := decode(okStep("node-update", http.StatusOK)); updated.ETag != decode(nodeMade).ETag {
		t.Fatalf("node-get etag %q, the update returned %q", decode(nodeMade).ETag, updated.ETag)
	}
	readByGo, err := ours.GetEnrollment(t.Context(), "conf-node")
	if err != nil {
		t.Fatal(err)
	}
	want := enrollmentView{RegistrationID: "conf-node", DeviceID: "conf-node-device", EndorsementKey: ek, ProvisioningStatus: "disabled", IoTEdge: true,
		Tags: map[string]any{"made": "node", "line": map[string]any{"n": 3.0, "bays": []any{7.0, 8.0}}}, Desired: map[string]any{"interval": 15.0, "mode": "eco"}}
	compareViews(t, "conf-node", "node", nodeView(t, nodeMade.Result), "go", ourView(readByGo), want)
	readState, err := ours.GetRegistrationState(t.Context(), "conf-node")
	if err != nil {
		t.Fatal(err)
	}
	compareStates(t, "conf-node registration", nodeStateView(t, okStep("node-registration", http.StatusOK).Result), ourStateView(readState))

	// What our client made, the Node client reads the same; and it is still what we made.
	readByGo, err = ours.GetEnrollment(t.Context(), "conf-go")
	if err != nil {
		t.Fatal(err)
	}
	want = enrollmentView{RegistrationID: "conf-go", DeviceID: "conf-go-device", EndorsementKey: ek, ProvisioningStatus: "disabled", IoTEdge: true,
		Tags: map[string]any{"made": "go", "line": map[string]any{"n": 4.0, "bays": []any{1.0, 2.0}}}, Desired: map[string]any{"interval": 60.0}}
	compareViews(t, "conf-go", "node", nodeView(t, okStep("go-get", http.StatusOK).Result), "go", ourView(readByGo), want)
	made := ourView(madeByGo)
	made.State = ourView(readByGo).State // the create's answer predates the seeded registration
	compareViews(t, "conf-go", "as created", made, "as read", ourView(readByGo), want)
	readState, err = ours.GetRegistrationState(t.Context(), "conf-go")
	if err != nil {
		t.Fatal(err)
	}
	compareStates(t, "conf-go registration", nodeStateView(t, okStep("go-registration", http.StatusOK).Result), ourStateView(readState))
}

// newDPSClient is our pkg/dps client for the emulator in dir, from the files it wrote there.
func newDPSClient(t *testing.T, dir string) *dps.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "service-connection-string"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sas.ParseConnectionString(string(b))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := cafile.Load(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dps.New(cs, dps.Options{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrollmentView is what two clients must agree on about an enrollment. Twin collections are
// decoded JSON values; timestamps are instants, so 7 and 3 fractional digits of one time agree.
type enrollmentView struct {
	RegistrationID, DeviceID, EndorsementKey, ProvisioningStatus, ETag string
	IoTEdge                                                            bool
	Tags, Desired                                                      any
	Created, Updated                                                   time.Time
	State                                                              stateView
}

// stateView is what two clients must agree on about a registration state.
type stateView struct {
	RegistrationID, DeviceID, AssignedHub, Status, Substatus, ETag string
	Created, Updated                                               time.Time
}

// ourView reads an enrollment as pkg/dps decoded it.
func ourView(e *dpsapi.IndividualEnrollment) enrollmentView {
	v := enrollmentView{RegistrationID: e.RegistrationID, DeviceID: e.DeviceID, ProvisioningStatus: string(e.ProvisioningStatus),
		ETag: e.ETag, Created: e.CreatedDateTimeUTC, Updated: e.LastUpdatedDateTimeUTC}
	if e.Attestation != nil && e.Attestation.TPM != nil {
		v.EndorsementKey = e.Attestation.TPM.EndorsementKey
	}
	if e.Capabilities != nil {
		v.IoTEdge = e.Capabilities.IoTEdge
	}
	if tw := e.InitialTwin; tw != nil {
		_ = json.Unmarshal(tw.Tags, &v.Tags)
		if tw.Properties != nil {
			_ = json.Unmarshal(tw.Properties.Desired, &v.Desired)
		}
	}
	if e.RegistrationState != nil {
		v.State = ourStateView(e.RegistrationState)
	}
	return v
}

func ourStateView(s *dpsapi.DeviceRegistrationState) stateView {
	return stateView{RegistrationID: s.RegistrationID, DeviceID: s.DeviceID, AssignedHub: s.AssignedHub, Status: string(s.Status),
		Substatus: string(s.Substatus), ETag: s.ETag, Created: s.CreatedDateTimeUTC, Updated: s.LastUpdatedDateTimeUTC}
}

// nodeView reads an enrollment as the Node client printed it, member by member, without pkg/dps.
func nodeView(t *testing.T, raw json.RawMessage) enrollmentView {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("node enrollment %s: %v", raw, err)
	}
	iotEdge, _ := member(doc, "capabilities", "iotEdge").(bool)
	v := enrollmentView{
		RegistrationID: text(doc, "registrationId"), DeviceID: text(doc, "deviceId"),
		EndorsementKey: text(doc, "attestation", "tpm", "endorsementKey"), ProvisioningStatus: text(doc, "provisioningStatus"),
		ETag: text(doc, "etag"), IoTEdge: iotEdge,
		Tags: member(doc, "initialTwin", "tags"), Desired: member(doc, "initialTwin", "properties", "desired"),
		Created: instant(t, doc, "createdDateTimeUtc"), Updated: instant(t, doc, "lastUpdatedDateTimeUtc"),
	}
	if st, ok := doc["registrationState"].(map[string]any); ok {
		v.State = nodeState(t, st)
	}
	return v
}

func nodeStateView(t *testing.T, raw json.RawMessage) stateView {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("node registration state %s: %v", raw, err)
	}
	return nodeState(t, doc)
}

func nodeState(t *testing.T, doc map[string]any) stateView {
	return stateView{RegistrationID: text(doc, "registrationId"), DeviceID: text(doc, "deviceId"), AssignedHub: text(doc, "assignedHub"),
		Status: text(doc, "status"), Substatus: text(doc, "substatus"), ETag: text(doc, "etag"),
		Created: instant(t, doc, "createdDateTimeUtc"), Updated: instant(t, doc, "lastUpdatedDateTimeUtc")}
}

// member follows path through nested JSON objects; nil when any step is missing.
func member(doc any, path ...string) any {
	for _, k := range path {
		m, _ := doc.(map[string]any)
		doc = m[k]
	}
	return doc
}

func text(doc any, path ...string) string {
	s, _ := member(doc, path...).(string)
	return s
}

// instant parses a timestamp member; a missing one is the zero time, a malformed one a failure.
func instant(t *testing.T, doc any, path ...string) time.Time {
	t.Helper()
	s := text(doc, path...)
	if s == "" {
		return time.Time{}
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("%v = %q: %v", path, s, err)
	}
	return tm
}

// compareViews reports every field on which two views of one enrollment differ, and every field
// of want (the values the test set) that they do not have; both views must carry an ETag, both
// timestamps and a registration state.
func compareViews(t *testing.T, what, aName string, a enrollmentView, bName string, b, want enrollmentView) {
	t.Helper()
	differ(t, what, aName, a, bName, b)
	if a.ETag == "" || a.Created.IsZero() || a.Updated.IsZero() || a.State.ETag == "" {
		t.Errorf("%s: %s view lacks its etag, timestamps or registration state: %+v", what, aName, a)
	}
	want.ETag, want.Created, want.Updated, want.State = a.ETag, a.Created, a.Updated, a.State
	differ(t, what, "set", want, aName, a)
}

func compareStates(t *testing.T, what string, node, ours stateView) {
	t.Helper()
	differ(t, what, "node", node, "go", ours)
	if node.Status != "assigned" || node.AssignedHub != "hub.localhost" || node.ETag == "" || node.Created.IsZero() {
		t.Errorf("%s: not the seeded state: %+v", what, node)
	}
}

// differ reports each field of two values of one struct type that is not the same in both;
// timestamps are compared as instants and nested structs field by field.
func differ(t *testing.T, what, aName string, a any, bName string, b any) {
	t.Helper()
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		name := what + ": " + va.Type().Field(i).Name
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		switch ta, isTime := fa.(time.Time); {
		case isTime:
			if !ta.Equal(fb.(time.Time)) {
				t.Errorf("%s differs: %s %v, %s %v", name, aName, fa, bName, fb)
			}
		case va.Field(i).Kind() == reflect.Struct:
			differ(t, name, aName, fa, bName, fb)
		case !reflect.DeepEqual(fa, fb):
			t.Errorf("%s differs: %s %#v, %s %#v", name, aName, fa, bName, fb)
		}
	}
}

// seedRegistration stores a registration state through the admin endpoint and returns it.
func seedRegistration(t *testing.T, admin, token, id string) json.RawMessage {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+admin+"/admin/registrations/"+id,
		strings.NewReader(`{"status":"assigned","substatus":"initialAssignment","assignedHub":"hub.localhost","deviceId":"`+id+`-device"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var raw json.RawMessage
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&raw) != nil {
		t.Fatalf("seed registration: %d", res.StatusCode)
	}
	return raw
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
