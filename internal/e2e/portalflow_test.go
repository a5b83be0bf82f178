package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/hubclient"
)

// The hub the factory allows the machine maker, as DPS assigns it and the emulated hub serves it.
const portalHub = "hub.oob.test"

// The seed's whole second half with the real programs: the factory certifies a board and ships
// it; its first boot waits, showing its label's URL; the machine maker's user, invited by the
// portal, opens that URL in chromium and activates the board with the keyboard alone (location
// and chassis number, the hub the factory allowed); the board registers by X.509, connects to
// that hub, finds the metadata in its twin, and finalizes; once its workload is on the hub the
// portal's board list says it is connected, as the portal read it from the hub's service API.
func TestPortalActivationOnboardsTheBoard(t *testing.T) {
	exe := chromiumPath(t)
	hubL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svcL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{HubListener: hubL, HubServiceListener: svcL, HubHostName: portalHub})
	caFile := filepath.Join(emu.Dir, tlsca.CertFile)
	emuEnv := []string{"DPS_CONNECTION_STRING=" + emu.ConnectionString.Secret(), "DPS_CA_FILE=" + caFile}
	data := t.TempDir()
	factoryCmd := func(args ...string) string {
		t.Helper()
		return runEnv(t, emuEnv, "oob-factory", append(args, "--data", data)...)
	}
	factoryCmd("ca", "init")
	startFactory(t, data, emu)

	b := &factoryBoard{guid: "5e6f7a8b-0001-4c2d-9e0f-1a2b3c4d5e6f", state: t.TempDir()}
	imaging := t.TempDir()
	factoryCmd("board", "issue", b.guid, "--out", imaging)
	b.x509 = map[string]any{"certificateFile": filepath.Join(imaging, b.guid+".chain.pem"), "key": filepath.Join(imaging, b.guid+".key.pem")}
	svc := emu.Client(t, dps.Options{})
	waitFor(t, "the board's disabled enrollment", 60*time.Second, func() bool {
		e, err := svc.GetEnrollment(context.Background(), b.guid)
		return err == nil && e.ProvisioningStatus == dpsapi.StatusDisabled
	})

	portal := startPortal(t, data, emu)
	labels := t.TempDir()
	factoryCmd("label", "--portal-url", portal+"/a", "--out", labels, b.guid)
	factoryCmd("customer", "add", "acme")
	factoryCmd("customer", "hub", "add", "acme", portalHub)
	factoryCmd("ship", "--customer", "acme", b.guid)
	invite := strings.TrimSpace(runEnv(t, nil, "oob-portal", "user", "invite", "--data", data, "--customer", "acme",
		"--email", "ann@acme.example", "--role", "activator", "--portal-url", portal))

	b.x509["activationFile"] = filepath.Join(labels, b.guid+".url")
	b.dev = newBoardDevice(t, emu, hubL.Addr().String(), b)
	agent := b.dev.start(t)
	waitFor(t, "the board waiting for activation", 60*time.Second, func() bool {
		out, _, err := runCode(t, nil, "oob-agent", "done", "--config", b.dev.config)
		return err == nil && strings.Contains(out, "Enrollment disabled: waiting for activation")
	})
	labelURL, err := os.ReadFile(filepath.Join(labels, b.guid+".url"))
	if err != nil {
		t.Fatal(err)
	}

	c := newBrowser(t, exe)
	c.do("the invitation", chromedp.Navigate(invite), chromedp.WaitVisible(chromedp.ID("again")))
	c.tabTo("password")
	c.keys(pwE2E + "\t" + pwE2E + "\r")
	c.do("signed in", chromedp.WaitVisible(chromedp.CSS(".signout button")))
	c.do("the label's URL", chromedp.Navigate(strings.TrimSpace(string(labelURL))), chromedp.WaitVisible(chromedp.ID("m_location")))
	c.shot("e2e-activate")
	c.tabTo("m_location")
	c.keys("Hall 3, Lyon")
	c.tabTo("m_chassisNumber")
	c.keys("CH-0042\r")
	c.do("activated", chromedp.WaitVisible(chromedp.CSS(".ok")))
	c.shot("e2e-activated")

	if err := agent.wait(t, "onboarding after the activation", 90*time.Second); err != nil {
		t.Fatalf("the agent exited with %v", err)
	}
	b.dev.assertHandedOver(t)
	reg, err := svc.GetRegistrationState(context.Background(), b.guid)
	if err != nil || reg.Status != dpsapi.RegistrationAssigned || reg.AssignedHub != portalHub {
		t.Fatalf("DPS's registration of the board: %+v, %v", reg, err)
	}
	var desired map[string]any
	raw, err := os.ReadFile(filepath.Join(b.state, "desired.json"))
	if err == nil {
		err = json.Unmarshal(raw, &desired)
	}
	if err != nil || desired["location"] != "Hall 3, Lyon" || desired["chassisNumber"] != "CH-0042" {
		t.Errorf("the twin's desired properties the agent kept: %s (%v)", raw, err)
	}
	twin, ok := emu.Hub.Twin(portalHub, b.guid)
	if !ok || twin.Desired["location"] != "Hall 3, Lyon" || twin.Desired["chassisNumber"] != "CH-0042" {
		t.Errorf("the hub's twin of the board: %+v", twin.Desired)
	}

	// The agent has handed over and left the hub: the portal says so; then the workload comes
	// online with the board's certificate, and the portal says that.
	var list string
	boardList := func(want string) func() bool {
		return func() bool {
			c.do("the board list", chromedp.Navigate(portal+"/boards"))
			list, _ = chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS("main")))
			return strings.Contains(list, b.guid) && strings.Contains(list, want)
		}
	}
	waitFor(t, "the portal showing the board disconnected once the agent left", 60*time.Second, boardList(", disconnected since"))
	workload := connectWorkload(t, emu, hubL.Addr().String(), b)
	defer workload.Close()
	waitFor(t, "the portal showing the board connected", 60*time.Second, boardList(", connected since"))
	c.shot("e2e-connected")
}

const pwE2E = "a long passphrase for ann"

// startPortal runs `oob-portal serve` on the factory's records with the emulator's DPS and hub
// service API, reading connection states every second, and returns its base URL.
func startPortal(t *testing.T, data string, emu *emulatortest.Emulator) string {
	t.Helper()
	caFile := filepath.Join(emu.Dir, tlsca.CertFile)
	cmd := exec.Command(filepath.Join(bin, "oob-portal"), "serve", "--data", data, "--listen", "127.0.0.1:0",
		"--hostname", "127.0.0.1", "--ca-file", caFile, "--hub-ca-file", caFile, "--hub-endpoint", emu.HubServiceAddr, "--hub-refresh", "1s")
	cmd.Env = append(os.Environ(), "DPS_CONNECTION_STRING="+emu.ConnectionString.Secret(),
		"IOTHUB_CONNECTION_STRINGS="+emu.HubConnectionString(t, portalHub).Secret())
	return startServing(t, cmd, "/")
}

// connectWorkload connects to the board's hub as the board, with its factory certificate, as
// the workload it handed over to would.
func connectWorkload(t *testing.T, emu *emulatortest.Emulator, hubAddr string, b *factoryBoard) *hubclient.Conn {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(b.x509["certificateFile"].(string), b.x509["key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := cafile.Load(filepath.Join(emu.Dir, tlsca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := hubclient.Connect(ctx, hubclient.Config{HubHost: portalHub, DeviceID: b.guid, Address: hubAddr, RootCAs: roots, Certificate: &cert})
	if err != nil {
		t.Fatalf("the workload's hub connection: %v", err)
	}
	return conn
}

// browser is headless chromium for one test, at a phone's size, its screenshots written to
// $OOB_PORTAL_SCREENSHOTS or the test's temporary directory.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

// chromiumPath is Debian's chromium; without it the test fails under OOB_E2E=1, else skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("OOB_E2E") == "1" {
			t.Fatal("chromium is not installed (the Debian package chromium: scripts/deps.sh test)")
		}
		t.Skip("chromium is not installed (install the Debian package chromium; OOB_E2E=1 makes this a failure)")
	}
	return path
}

func newBrowser(t *testing.T, exe string) *browser {
	shots := os.Getenv("OOB_PORTAL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.IgnoreCertErrors, chromedp.WindowSize(412, 915), chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, stop := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(stop)
	return &browser{t: t, ctx: ctx, shots: shots}
}

func (c *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		loc, _ := chromedp.Run(c.ctx, chromedp.Location())
		body, _ := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS("body")))
		c.t.Fatalf("%s: %v (at %s: %s)", what, err, loc, body)
	}
}

// keys types text into whatever has the focus, as a keyboard does (a tab moves on, a return
// submits).
func (c *browser) keys(text string) {
	c.t.Helper()
	c.do("typing", chromedp.KeyEvent(text))
}

// tabTo presses Tab until the element with that ID has the focus, as a keyboard user moves
// through the page; it fails when 40 presses do not get there.
func (c *browser) tabTo(id string) {
	c.t.Helper()
	for range 40 {
		focused, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
		if err != nil {
			c.t.Fatal(err)
		}
		if focused == id {
			return
		}
		c.do("a tab", chromedp.KeyEvent("\t"))
	}
	c.t.Fatalf("40 tabs did not reach #%s", id)
}

func (c *browser) shot(name string) {
	c.t.Helper()
	b, err := chromedp.Run(c.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(c.shots, name+".png"), b, 0o644); err != nil {
		c.t.Fatal(err)
	}
}
