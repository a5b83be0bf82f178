package finalize

import (
	"errors"
	"fmt"
)

// Reasons a unit cannot be switched; a UnitError wraps one of them or systemd's own error.
var (
	// ErrUnitNotFound: no unit file by that name in the root's unit search paths.
	ErrUnitNotFound = errors.New("no such unit file (is it installed in the image, under /usr/lib/systemd/system or /etc/systemd/system?)")
	// ErrNoInstall: the unit file has no [Install] section, so enabling it would do nothing
	// (systemctl calls such a unit "static"); give it one, such as WantedBy=multi-user.target.
	ErrNoInstall = errors.New("the unit has no [Install] section, so systemd cannot enable it (add WantedBy=multi-user.target or similar)")
	// ErrMasked: the unit is masked and cannot be enabled until it is unmasked.
	ErrMasked = errors.New("the unit is masked (systemctl unmask it in the image)")
	// ErrStartFailed: systemd's start job for the unit did not finish as "done".
	ErrStartFailed = errors.New("the unit did not start")
)

// UnitError says which unit a step failed on and why.
type UnitError struct {
	Action Action
	Unit   string
	Err    error
}

func (e *UnitError) Error() string {
	return fmt.Sprintf("finalize: cannot %s %s: %v", e.Action, e.Unit, e.Err)
}

func (e *UnitError) Unwrap() error { return e.Err }
