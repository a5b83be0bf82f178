package agent

import (
	"os"
	"testing"

	"github.com/oobtpm/oob/internal/swtpmtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	swtpmtest.Cleanup()
	os.Exit(code)
}
