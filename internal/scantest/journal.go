package scantest

import (
	"testing"

	"github.com/oobtpm/oob/pkg/journal"
)

// Pending returns the registration IDs of the enrollments j still has to send, oldest first.
func Pending(t testing.TB, j *journal.Journal) []string {
	t.Helper()
	p, err := j.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range p {
		ids = append(ids, e.Device.RegistrationID)
	}
	return ids
}
