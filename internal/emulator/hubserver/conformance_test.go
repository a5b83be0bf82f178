package hubserver_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/nodetest"
	"github.com/oobtpm/oob/pkg/sas"
)

// nodeStep is one JSON line printed by scripts/hubconformance/device.js.
type nodeStep struct {
	Step   string          `json:"step"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestNodeDeviceClient runs Microsoft's Node.js device client (azure-iot-device-mqtt) against the
// hub: it connects with a symmetric-key connection string, sends a message with properties, reads
// the seeded twin, reports a property and reads it back; a wrong key is refused. The client
// connects to its connection string's HostName on port 8883 only, so the hub listens on
// 127.0.0.1:8883 with a certificate for localhost (root is needed, as in CI). It runs only when
// OOB_E2E is set.
func TestNodeDeviceClient(t *testing.T) {
	if os.Getenv("OOB_E2E") == "" {
		t.Skip("set OOB_E2E=1 to run Microsoft's Node.js device client against the hub")
	}
	scriptDir, err := filepath.Abs(filepath.Join("..", "..", "..", "scripts", "hubconformance"))
	if err != nil {
		t.Fatal(err)
	}
	nodetest.Install(t, scriptDir)

	dir := t.TempDir()
	ca, err := tlsca.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	const host, id = "localhost", "node-device"
	key := sas.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	reg := &hubserver.MemoryRegistry{}
	reg.Put(host, hubserver.Device{ID: id, Auth: hubserver.Auth{PrimaryKey: key}, InitialTwin: hubserver.InitialTwin{
		Desired: json.RawMessage(`{"interval":60}`),
	}})
	srv, err := hubserver.New(hubserver.Config{Registry: reg, TLS: tlsca.TLSConfig(cert)})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.LockAzurePorts(t)
	ln, err := net.Listen("tcp", "127.0.0.1:8883")
	if err != nil {
		t.Fatalf("the Node client needs port 8883: %v (run as root with the port free)", err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	wrong := sas.NewKey([]byte("fedcba9876543210fedcba9876543210"))
	cmd := exec.Command("node", "device.js")
	cmd.Dir = scriptDir
	cmd.Env = append(os.Environ(),
		"NODE_EXTRA_CA_CERTS="+filepath.Join(dir, tlsca.CertFile),
		"DEVICE_CONNECTION_STRING=HostName="+host+";DeviceId="+id+";SharedAccessKey="+key.Base64(),
		"BAD_CONNECTION_STRING=HostName="+host+";DeviceId="+id+";SharedAccessKey="+wrong.Base64(),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node device.js: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	steps := map[string]nodeStep{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var s nodeStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		steps[s.Step] = s
	}
	for _, name := range []string{"open", "sendEvent", "getTwin", "updateReported", "getTwinAgain", "close"} {
		if s := steps[name]; !s.OK {
			t.Errorf("step %s failed: %+v\n%s", name, s.Error, stderr.Bytes())
		}
	}
	if s := steps["openWithWrongKey"]; s.OK || s.Error == nil || !strings.Contains(s.Error.Name, "Unauthorized") {
		t.Errorf("a wrong key was not refused as unauthorized: %+v", s)
	}

	var twin struct{ Desired, Reported map[string]any }
	_ = json.Unmarshal(steps["getTwin"].Result, &twin)
	if twin.Desired["interval"] != float64(60) || twin.Desired["$version"] != float64(1) {
		t.Errorf("Node client's desired properties = %v", twin.Desired)
	}
	var again struct{ Reported map[string]any }
	_ = json.Unmarshal(steps["getTwinAgain"].Result, &again)
	if conf, _ := again.Reported["conformance"].(map[string]any); conf["sdk"] != "azure-iot-device-mqtt" || again.Reported["$version"] != float64(2) {
		t.Errorf("Node client's reported properties after its update = %v", again.Reported)
	}

	msgs := srv.Messages(host, id)
	if len(msgs) != 1 {
		t.Fatalf("hub recorded %d messages from the Node client, want 1", len(msgs))
	}
	m := msgs[0]
	if string(m.Payload) != `{"temperature":21.5}` || m.Properties["kind"] != "conformance" || m.Properties["note"] != "a b+c" {
		t.Errorf("recorded message %q with properties %v", m.Payload, m.Properties)
	}
	if m.SystemProperties["messageId"] != "node-1" || m.SystemProperties["contentType"] != "application/json" || m.SystemProperties["contentEncoding"] != "utf-8" {
		t.Errorf("recorded system properties %v", m.SystemProperties)
	}
	t.Logf("Node client's topic: %s", m.Topic)
}
