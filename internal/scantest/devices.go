package scantest

import (
	"sync"
	"testing"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

// Devices returns n fresh devices, each with its own RSA-2048 endorsement key made from the TCG
// default template and the registration ID derived from it, as the agent shows them.
//
// Every device's screen (Picture of its v1 code) is one the scan's fast decoder reads. About one
// screen in five hundred defeats it (4 of 2000 when measured), however often it is shown, since
// the pictures of a video repeat exactly where a camera's would vary; a key whose screen does is
// replaced, so that tests of what the scan does with devices do not fail by the draw. Reading
// is measured by pkg/qr/reader's tests and make bench, not here.
func Devices(tb testing.TB, n int) []identity.Identity {
	tb.Helper()
	return Labelled(tb, make([]string, n)...)
}

// Labelled returns one fresh device for each label, carrying that label ("" for none), as
// Devices makes them.
func Labelled(tb testing.TB, labels ...string) []identity.Identity {
	tb.Helper()
	ids := make([]identity.Identity, len(labels))
	errs := make([]error, len(labels))
	// Key generation is the slow part of making a device: spread it over the cores.
	var wg sync.WaitGroup
	for i, label := range labels {
		wg.Go(func() { ids[i], errs[i] = newDevice(label) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatalf("device key: %v", err)
		}
	}
	for i := range ids {
		for tries := 1; !readable(tb, ids[i]); tries++ {
			if tries == 10 {
				tb.Fatalf("ten devices in a row whose screen the fast decoder cannot read: the decoder is broken")
			}
			var err error
			if ids[i], err = newDevice(ids[i].Label); err != nil {
				tb.Fatalf("device key: %v", err)
			}
		}
	}
	return ids
}

// newDevice makes a device with a fresh key.
func newDevice(label string) (identity.Identity, error) {
	ek, err := ektest.Generate()
	if err != nil {
		return identity.Identity{}, err
	}
	return identity.Identity{RegistrationID: identity.DeriveRegistrationID(ek), EndorsementKey: ek, Label: label}, nil
}

// readable reports whether the scan's fast decoder reads the device's screen.
func readable(tb testing.TB, id identity.Identity) bool {
	tb.Helper()
	text := Payload(tb, id, identity.FormatV1)
	d := reader.Decoder{Effort: reader.Fast, FirstOnly: true}
	res, err := d.Decode(Picture(tb, Segment{Text: text}))
	return err == nil && res[0].Text == text
}
