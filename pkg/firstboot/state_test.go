package firstboot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStateRoundTripAndMarker(t *testing.T) {
	dir := t.TempDir()
	st, err := LoadState(dir)
	if err != nil || st.Stage != StageNew {
		t.Fatalf("a new directory: %+v %v", st, err)
	}
	want := State{Stage: StageRegistered, RegistrationID: "dev-1", AssignedHub: "hub", DeviceID: "dev-1", Attempts: 3, Updated: time.Now().UTC().Truncate(time.Second)}
	if err := SaveState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil || got != want {
		t.Fatalf("LoadState = %+v %v, want %+v", got, err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, FinalizedFile)); err == nil {
		t.Fatal("the finalized marker exists before the device is finalized")
	}
	want.Stage = StageFinalized
	if err := SaveState(dir, want); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FinalizedFile)); err != nil {
		t.Fatalf("no finalized marker: %v", err)
	}
	// The marker alone (the state file lost) still means finalized: the code is never shown again.
	os.Remove(filepath.Join(dir, StateFile))
	if got, err := LoadState(dir); err != nil || got.Stage != StageFinalized {
		t.Fatalf("marker without state: %+v %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("a temporary file was left behind: %s", e.Name())
		}
	}
}

func TestLoadStateRefusesForeignFile(t *testing.T) {
	dir := t.TempDir()
	for _, body := range []string{`{"stage": "done"}`, `{"stage": "shown", "extra": 1}`, `not json`} {
		os.WriteFile(filepath.Join(dir, StateFile), []byte(body), 0o600)
		if _, err := LoadState(dir); err == nil || !strings.Contains(err.Error(), "move it away") {
			t.Errorf("state %s: %v", body, err)
		}
	}
}

func TestStagesOnlyCompareForward(t *testing.T) {
	if !StageConnected.AtLeast(StageRegistered) || StageShown.AtLeast(StageRegistered) || !StageNew.AtLeast(StageNew) {
		t.Fatal("stage order is wrong")
	}
}
