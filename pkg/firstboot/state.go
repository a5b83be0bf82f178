package firstboot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/oobtpm/oob/pkg/atomicfile"
)

// Stage is how far the first boot has come. Stages only move forward.
type Stage string

// Stages, in order.
const (
	StageNew        Stage = "new"
	StageIdentity   Stage = "identity-read"
	StageShown      Stage = "shown"
	StageRegistered Stage = "registered"
	StageConnected  Stage = "hub-connected"
	StageFinalized  Stage = "finalized"
)

var stageOrder = []Stage{StageNew, StageIdentity, StageShown, StageRegistered, StageConnected, StageFinalized}

func (s Stage) index() int {
	for i, o := range stageOrder {
		if o == s {
			return i
		}
	}
	return -1
}

// AtLeast reports whether s is at or past o.
func (s Stage) AtLeast(o Stage) bool { return s.index() >= o.index() }

// State is what the agent remembers across restarts.
type State struct {
	Stage          Stage     `json:"stage"`
	RegistrationID string    `json:"registrationId,omitempty"`
	AssignedHub    string    `json:"assignedHub,omitempty"`
	DeviceID       string    `json:"deviceId,omitempty"`
	Attempts       int       `json:"attempts,omitempty"`
	Updated        time.Time `json:"updated"`
}

// Files in the state directory.
const (
	StateFile = "state.json"
	// FinalizedFile exists once the device is finalized; the agent's unit does not start when it
	// does (ConditionPathExists=!…).
	FinalizedFile = "finalized"
)

// LoadState reads the state in dir; a directory without one is a new device.
func LoadState(dir string) (State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, FinalizedFile)); err == nil {
			// The marker outlived the state file: the device was finalized.
			return State{Stage: StageFinalized}, nil
		}
		return State{Stage: StageNew}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("state: %w", err)
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil || s.Stage.index() < 0 {
		return State{}, fmt.Errorf("state file %s is not one this agent wrote (%v): move it away to start the first boot again",
			filepath.Join(dir, StateFile), err)
	}
	return s, nil
}

// SaveState writes s to dir atomically and durably: a temporary file, fsynced, renamed over the
// old one, then the directory fsynced. At FinalizedFile's stage the marker is written too.
func SaveState(dir string, s State) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := writeDurably(dir, StateFile, append(b, '\n')); err != nil {
		return err
	}
	if s.Stage == StageFinalized {
		return writeDurably(dir, FinalizedFile, []byte(s.Updated.UTC().Format(time.RFC3339)+"\n"))
	}
	return nil
}

func writeDurably(dir, name string, data []byte) error {
	if err := atomicfile.Write(filepath.Join(dir, name), data, 0o600); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}
