// Package swtpmtest starts swtpm, a software TPM 2.0 manufactured like a real one (a persisted
// RSA and ECC EK and their certificates in NV), for tests.
package swtpmtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/testio"
)

// Bounds on the waits; they only matter when something is broken, and then a test should fail
// with swtpm's own output rather than hang.
const (
	setupTimeout = 2 * time.Minute
	readyTimeout = 15 * time.Second
	// startAttempts covers the small window in which another process can take the free ports
	// we picked before swtpm binds them.
	startAttempts = 5
)

// Start starts a swtpm TCP server on two adjacent free loopback ports (data, then control), from a copy of a freshly
// manufactured TPM state, and stops it when the test ends. It returns the TPM's address for
// package tpm (tcp://127.0.0.1:PORT) and the same TPM as a tpm2-tools TCTI
// (swtpm:host=127.0.0.1,port=PORT, for TPM2TOOLS_TCTI or --tcti).
//
// Without swtpm installed the test is skipped, unless OOB_E2E=1 asks for every end-to-end test
// to run, in which case it fails naming the Debian packages to install.
func Start(t testing.TB) (spec, tcti string) {
	t.Helper()
	swtpm := Tool(t, "swtpm", "swtpm")
	Tool(t, "swtpm_setup", "swtpm-tools")
	Tool(t, "swtpm_localca", "swtpm-tools")

	src, err := pristineState()
	if err != nil {
		t.Fatalf("swtpmtest: manufacturing a TPM state: %v", err)
	}
	return serveCopy(t, swtpm, src)
}

// Serve starts swtpm as Start does, on a copy of the TPM state another swtpm left in dir (its
// --tpmstate directory, such as a VM's TPM), so that a test reads what that TPM holds without
// changing it.
func Serve(t testing.TB, dir string) (spec, tcti string) {
	t.Helper()
	return serveCopy(t, Tool(t, "swtpm", "swtpm"), dir)
}

// serveCopy copies the TPM state in src to a new directory and serves it.
func serveCopy(t testing.TB, swtpm, src string) (spec, tcti string) {
	t.Helper()
	state := t.TempDir()
	b, err := os.ReadFile(filepath.Join(src, stateFile))
	if err != nil {
		t.Fatalf("swtpmtest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(state, stateFile), b, 0o600); err != nil {
		t.Fatalf("swtpmtest: %v", err)
	}

	var last error
	for range startAttempts {
		port, err := start(t, swtpm, state)
		if err == nil {
			return "tcp://127.0.0.1:" + strconv.Itoa(port), "swtpm:host=127.0.0.1,port=" + strconv.Itoa(port)
		}
		last = err
	}
	t.Fatalf("swtpmtest: %v", last)
	return "", ""
}

// stateFile is where swtpm keeps a TPM 2.0's whole state in its --tpmstate directory.
const stateFile = "tpm2-00.permall"

// start runs one swtpm on state and waits until its data port accepts connections.
func start(t testing.TB, swtpm, state string) (int, error) {
	data, ctrl, err := freePorts()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(swtpm, "socket", "--tpm2",
		"--tpmstate", "dir="+state,
		"--server", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", data),
		"--ctrl", fmt.Sprintf("type=tcp,port=%d,bindaddr=127.0.0.1", ctrl),
		// Powered on and started up by swtpm itself, so clients send TPM commands only and
		// nobody needs swtpm's control protocol.
		"--flags", "not-need-init,startup-clear")
	var out testio.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting swtpm: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(data))
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-exited:
			return 0, fmt.Errorf("swtpm exited before serving on %s: %s", addr, out.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		if err == nil {
			_ = c.Close()
			t.Cleanup(stop)
			return data, nil
		}
		if time.Now().After(deadline) {
			stop()
			return 0, fmt.Errorf("swtpm did not accept connections on %s within %v: %v; output: %s",
				addr, readyTimeout, err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freePorts returns two adjacent loopback TCP ports that were free a moment ago. They must be
// adjacent because tpm2-tools' swtpm TCTI finds the control port at the data port plus one.
func freePorts() (int, int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		next, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		_ = l.Close()
		if err == nil {
			_ = next.Close()
			return port, port + 1, nil
		}
	}
	return 0, 0, errors.New("no two adjacent free loopback ports")
}

// pristine is the manufactured state every Start copies: swtpm_setup takes a second or two
// (creating keys and a certificate authority), so it runs once per test process.
var pristine struct {
	once sync.Once
	dir  string
	err  error
}

// pristineState returns a directory holding a manufactured TPM state, creating it on first use.
func pristineState() (string, error) {
	pristine.once.Do(func() {
		pristine.dir, pristine.err = manufacture()
	})
	return pristine.dir, pristine.err
}

// manufacture runs swtpm_setup as a TPM vendor would: RSA and ECC EKs persisted at 0x81010001
// and 0x81010016, their certificates in NV 0x01c00002 and 0x01c00016. The certificates are
// signed by a local CA created in the same directory, not the system's /var/lib/swtpm-localca,
// so this works without root and parallel test processes do not share a CA.
func manufacture() (string, error) {
	dir, err := os.MkdirTemp("", "oob-swtpmtest-")
	if err != nil {
		return "", err
	}
	ca := filepath.Join(dir, "ca")
	if err := os.Mkdir(ca, 0o700); err != nil {
		return "", err
	}
	localca, err := exec.LookPath("swtpm_localca")
	if err != nil {
		return "", err
	}
	files := map[string]string{
		"localca.conf": fmt.Sprintf("statedir = %[1]s\nsigningkey = %[1]s/signkey.pem\n"+
			"issuercert = %[1]s/issuercert.pem\ncertserial = %[1]s/certserial\n", ca),
		"localca.options": "--platform-manufacturer oob\n--platform-version 1.0\n--platform-model swtpmtest\n",
		"setup.conf": fmt.Sprintf("create_certs_tool = %[2]s\n"+
			"create_certs_tool_config = %[1]s/localca.conf\n"+
			"create_certs_tool_options = %[1]s/localca.options\n"+
			"active_pcr_banks = sha256\n", dir, localca),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "swtpm_setup", "--tpm2", "--create-ek-cert",
		"--tpmstate", dir, "--overwrite", "--config", filepath.Join(dir, "setup.conf"))
	// swtpm_setup otherwise reads per-user defaults from $XDG_CONFIG_HOME; keep it to ours.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("swtpm_setup: %w: %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
		return "", fmt.Errorf("swtpm_setup wrote no %s: %w", stateFile, err)
	}
	return dir, nil
}

// IssuerCert returns the PEM certificate of the CA that signed the EK certificates of every TPM
// Start gives this process: swtpm_localca's intermediate, issued by RootCert.
func IssuerCert(t testing.TB) []byte { return caFile(t, "issuercert.pem") }

// RootCert returns the PEM certificate of swtpm_localca's self-signed root, the one a verifier
// of these TPMs' EK certificates trusts.
func RootCert(t testing.TB) []byte { return caFile(t, "swtpm-localca-rootca-cert.pem") }

// TPMRoots returns a new folder holding RootCert and, when withIssuer, IssuerCert, as a TPM
// makers' trust bundle (`--tpm-roots`) that certifies these TPMs' EKs, or lacks their issuer.
func TPMRoots(t testing.TB, withIssuer bool) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{"swtpm-localca-root.pem": RootCert(t)}
	if withIssuer {
		files["swtpm-localca.pem"] = IssuerCert(t)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func caFile(t testing.TB, name string) []byte {
	t.Helper()
	dir, err := pristineState()
	if err != nil {
		t.Fatalf("swtpmtest: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "ca", name))
	if err != nil {
		t.Fatalf("swtpmtest: %v", err)
	}
	return b
}

// Cleanup removes the manufactured state Start caches for the test process. Call it from
// TestMain after m.Run; without it the state stays in the temporary directory.
func Cleanup() {
	if pristine.dir != "" {
		_ = os.RemoveAll(pristine.dir)
	}
}

// Tool returns the path of an external program a test needs. When it is missing the test is
// skipped, or, with OOB_E2E=1, fails naming the Debian package that provides it.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found (%v): install the Debian package %s (apt-get install %s)",
		name, errors.Unwrap(err), debianPackage, debianPackage)
	if name == "swtpm" || name == "swtpm_setup" || name == "swtpm_localca" {
		msg = fmt.Sprintf("%s not found (%v): install the Debian packages swtpm and swtpm-tools "+
			"(apt-get install swtpm swtpm-tools)", name, errors.Unwrap(err))
	}
	if os.Getenv("OOB_E2E") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
