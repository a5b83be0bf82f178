package scan

import (
	"fmt"
	"testing"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
)

// DPS away or throttling queues an enrollment; a refusal or a conflict does not.
func TestTransient(t *testing.T) {
	for err, want := range map[error]bool{
		fmt.Errorf("x: %w", dps.ErrThrottled): true,
		dps.ErrUnavailable:                    true,
		dps.ErrUnauthorized:                   false,
		&enroll.ConflictError{}:               false,
	} {
		if transient(err) != want {
			t.Errorf("transient(%v) = %v", err, !want)
		}
	}
}
