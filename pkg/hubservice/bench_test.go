package hubservice_test

import (
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/hubservice"
	"github.com/oobtpm/oob/pkg/sas"
)

// BenchmarkDevice reads a connected device's state from the emulator's service API over one
// kept-alive TLS connection: a token signed and a request answered per read.
func BenchmarkDevice(b *testing.B) {
	emu := emulatortest.StartWithHubs(b)
	dev := emu.RegisterSymmetricKey(b, "bench-board", hubA)
	emu.ConnectHub(b, dev)
	c, err := hubservice.New([]sas.ConnectionString{emu.HubConnectionString(b, hubA)}, hubservice.Options{RootCAs: emu.RootCAs, Address: emu.HubServiceAddr})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		if _, err := c.Device(b.Context(), hubA, dev.DeviceID); err != nil {
			b.Fatal(err)
		}
	}
}
