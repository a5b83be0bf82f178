package scantest

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/oobtpm/oob/pkg/identity"
)

// Devices returns n fresh devices, each with its own RSA-2048 endorsement key made from the TCG
// default template and the registration ID derived from it, as the agent shows them.
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
		wg.Go(func() {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				errs[i] = err
				return
			}
			ek := identity.StandardEK(k.N.FillBytes(make([]byte, identity.ModulusLen)))
			ids[i] = identity.Identity{RegistrationID: identity.DeriveRegistrationID(ek), EndorsementKey: ek, Label: label}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatalf("device key: %v", err)
		}
	}
	return ids
}
