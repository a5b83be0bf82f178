package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/oobtpm/oob/internal/mssim"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/sas"
)

// portsLockFile is internal/nodetest's lock on Azure's fixed ports, in os.TempDir(): a test
// listening on 443 and this program never run at once.
const portsLockFile = "oob-azure-ports.lock"

// lockAzurePorts waits for the lock on 443 and 8883 and returns its release.
func lockAzurePorts() (func(), error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), portsLockFile), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// emulator is the dps-emulator process this program started.
type emulator struct {
	cmd     *exec.Cmd
	dir     string
	idScope string
	caFile  string
	svc     *dps.Client
}

// startEmulator starts the emulator on 127.0.0.1:443 with no assignment delay and Retry-After 0,
// no hub (the registrations stop at DPS's answer), and waits for its ready line.
func startEmulator(ctx context.Context, bin, dir string) (*emulator, error) {
	cmd := exec.CommandContext(ctx, bin, "--data", dir, "--listen", "127.0.0.1:443", "--admin-listen", "off", "--hub-listen", "off",
		"--assign-delay", "0", "--device-retry-after", "0")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "emulator.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &emulator{cmd: cmd, dir: dir, caFile: filepath.Join(dir, "ca.pem")}
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.HasPrefix(line, "dps-emulator ready")
	}()
	select {
	case ok := <-ready:
		if !ok {
			e.stop()
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("dps-emulator did not start (port 443 needs root and must be free):\n%s", log)
		}
	case <-time.After(30 * time.Second):
		e.stop()
		return nil, errors.New("dps-emulator not ready within 30 s")
	}
	if err := e.connect(); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

// connect reads the files the emulator wrote and makes its service client.
func (e *emulator) connect() error {
	scope, err := os.ReadFile(filepath.Join(e.dir, "id-scope"))
	if err != nil {
		return err
	}
	e.idScope = strings.TrimSpace(string(scope))
	secret, err := os.ReadFile(filepath.Join(e.dir, "service-connection-string"))
	if err != nil {
		return err
	}
	cs, err := sas.ParseConnectionString(strings.TrimSpace(string(secret)))
	if err != nil {
		return err
	}
	pool, err := cafile.Load(e.caFile)
	if err != nil {
		return err
	}
	e.svc, err = dps.New(cs, dps.Options{RootCAs: pool})
	return err
}

func (e *emulator) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	_ = e.cmd.Wait()
}

// frontEnd is the Microsoft simulator protocol served in front of swtpm for the SDK's tss.js.
type frontEnd struct {
	tpmAddr *net.TCPAddr
	cancel  context.CancelFunc
	done    chan error
}

func simulatorFrontEnd(tpmSpec string) (*frontEnd, error) {
	backend, ok := strings.CutPrefix(tpmSpec, "tcp://")
	if !ok {
		return nil, fmt.Errorf("-tpm %s: want swtpm's tcp://HOST:PORT", tpmSpec)
	}
	tl, pl, err := mssim.ListenPair()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &frontEnd{tpmAddr: tl.Addr().(*net.TCPAddr), cancel: cancel, done: make(chan error, 1)}
	go func() { f.done <- (&mssim.Server{Backend: backend}).Serve(ctx, tl, pl) }()
	return f, nil
}

func (f *frontEnd) stop() {
	f.cancel()
	if err := <-f.done; err != nil {
		fmt.Fprintln(os.Stderr, "regtiming: simulator front-end:", err)
	}
}
