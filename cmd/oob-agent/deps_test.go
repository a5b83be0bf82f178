package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The agent ships to small devices: it must not carry the decoder, the camera, the emulator,
// the MQTT broker, the TPM simulator, the Debian packager (scripts/mkdeb), the service side of
// DPS and IoT Hub (the DPS service client, AMQP, IoT Hub's service client, websockets), the
// factory's server (its EST server, CA and database), a D-Bus client (finalizing drives systemd
// through systemctl) or the TrueType files and parser (pkg/display draws Go Mono from outlines
// generated from them), whatever the packages it imports grow into.
func TestAgentDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/makiuchi-d/gozxing",
		"github.com/blackjack/webcam",
		"github.com/mochi-mqtt/server",
		"github.com/google/go-tpm-tools/simulator",
		"github.com/oobtpm/oob/internal/emulator",
		"github.com/oobtpm/oob/internal/factory",
		"modernc.org/sqlite",
		"github.com/jackc/pgx",
		"github.com/oobtpm/oob/pkg/camera",
		"github.com/oobtpm/oob/pkg/scan",
		"github.com/godbus/dbus",
		"github.com/coreos/go-systemd",
		"golang.org/x/image/font/gofont",
		"golang.org/x/image/font/opentype",
		"golang.org/x/image/font/sfnt",
		"golang.org/x/text/encoding",
		// scripts/mkdeb packages the agent; the agent does not package itself.
		"github.com/goreleaser/nfpm",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("oob-agent depends on %s", dep)
			}
		}
	}
}
