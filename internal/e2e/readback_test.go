package e2e

import "testing"

// assertReadsBack checks a picture of the agent's screen as a technician's tools would see
// it: both reference decoders read exactly the payload the agent reports, and the companion
// reads the agent's identity from it.
func assertReadsBack(t *testing.T, png string, id agentIdentity) {
	t.Helper()
	for _, d := range []struct {
		name string
		read func(*testing.T, string) string
	}{{"zbarimg", zbar}, {"ZXingReader", zxing}} {
		if got := d.read(t, png); got != id.Payload {
			t.Errorf("%s read %q from %s\nwant %q", d.name, got, png, id.Payload)
		}
	}
	if d := companionDecode(t, png); d.RegistrationID != id.RegistrationID || d.EndorsementKey != id.EndorsementKey {
		t.Errorf("companion read %+v from %s\nagent reported %+v", d, png, id)
	}
}
