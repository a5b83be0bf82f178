package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
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

// requireE2E skips the test when what it needs is missing, unless OOB_E2E=1 asks for it to run,
// in which case the test fails naming what to install.
func requireE2E(t *testing.T, what, install string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("OOB_E2E") == "1" {
		t.Fatalf("%s is missing: install %s", what, install)
	}
	t.Skipf("%s is missing (set OOB_E2E=1 to make this a failure)", what)
}

// TestNodeSDKConformance runs Microsoft's Node.js service client (azure-iot-provisioning-service)
// against the emulator binary and checks what it saw: statuses, error classes, error bodies,
// ETags, paging, and that its view of an enrollment and a registration state is the one the
// emulator gives any other client. The Node client connects to its connection string's HostName
// on port 443 only, so the emulator listens on 127.0.0.1:443 (root is needed, as in CI).
func TestNodeSDKConformance(t *testing.T) {
	_, nodeErr := exec.LookPath("node")
	requireE2E(t, "node", "the Debian package nodejs", nodeErr == nil)
	_, npmErr := exec.LookPath("npm")
	requireE2E(t, "npm", "the Debian package npm", npmErr == nil)
	probe, err := net.Listen("tcp", "127.0.0.1:443")
	requireE2E(t, "port 127.0.0.1:443", "nothing: run as root with the port free", err == nil)
	probe.Close()

	scriptDir, err := filepath.Abs(filepath.Join("..", "..", "scripts", "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(scriptDir, "node_modules", "azure-iot-provisioning-service")); err != nil {
		cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		cmd.Dir = scriptDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", scriptDir, err, out)
		}
	}

	dir := t.TempDir()
	p := startEmulator(t, dir, "--listen", "127.0.0.1:443")
	if cs := readConnectionString(t, dir); cs["HostName"] != "localhost" {
		t.Fatalf("on port 443 the connection string's HostName must be bare: %q", cs["HostName"])
	}
	c := newClient(t, dir, p.addr)
	token, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	seeded := seedRegistration(t, p.admin, strings.TrimSpace(string(token)), "conf-tpm")

	ek := base64.StdEncoding.EncodeToString(testEK(t))
	cmd := exec.Command("node", "service.js", dir)
	cmd.Dir = scriptDir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+filepath.Join(dir, "ca.pem"), "EK_BASE64="+ek, "CONFORMANCE_PREFIX=conf")
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
	if want := []string{"conf-sym-1", "conf-sym-2", "conf-tpm"}; !reflect.DeepEqual(seen, want) {
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

// testEK returns an RSA-2048 EK TPM2B_PUBLIC (TCG default template), size prefix included.
func testEK(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	policy, _ := hex.DecodeString("837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa")
	var pub bytes.Buffer
	for _, v := range []any{uint16(0x0001), uint16(0x000B), uint32(0x000300B2), uint16(len(policy)), policy,
		uint16(0x0006), uint16(128), uint16(0x0043), uint16(0x0010), uint16(2048), uint32(0), uint16(256), k.N.FillBytes(make([]byte, 256))} {
		if b, ok := v.([]byte); ok {
			pub.Write(b)
		} else {
			_ = binary.Write(&pub, binary.BigEndian, v)
		}
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(pub.Len())), pub.Bytes()...)
}
