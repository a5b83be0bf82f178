// Package doctor runs a program's checks of what onboarding needs, in order, and reports each
// one: what was found and, when it blocks or may block onboarding, what to do about it.
//
// A check is a function that looks at one thing (a TPM handle, a DNS name, a clock) and returns
// a Finding. Run gives each its own deadline and turns a panicking check into a failed one, so a
// doctor always finishes with a whole report.
package doctor

import (
	"context"
	"fmt"
	"time"
)

// Status is a check's outcome.
type Status string

const (
	OK      Status = "ok"      // nothing to do
	Warn    Status = "warn"    // onboarding can go on, but something is off
	Fail    Status = "fail"    // onboarding is blocked until this is fixed
	Skipped Status = "skipped" // not looked at, because a check before it failed or it does not apply
)

// Finding is what one check found.
type Finding struct {
	Status Status `json:"status"`
	// Detail says what was found, in a sentence, without secrets.
	Detail string `json:"detail"`
	// Fix says what to do; empty when Status is OK.
	Fix string `json:"fix,omitempty"`
}

// Okf returns an OK finding.
func Okf(format string, a ...any) Finding {
	return Finding{Status: OK, Detail: fmt.Sprintf(format, a...)}
}

// Warnf returns a warning with what to do.
func Warnf(fix, format string, a ...any) Finding {
	return Finding{Status: Warn, Detail: fmt.Sprintf(format, a...), Fix: fix}
}

// Failf returns a failure with what to do.
func Failf(fix, format string, a ...any) Finding {
	return Finding{Status: Fail, Detail: fmt.Sprintf(format, a...), Fix: fix}
}

// Skipf returns a finding for a check that was not run, saying why.
func Skipf(format string, a ...any) Finding {
	return Finding{Status: Skipped, Detail: fmt.Sprintf(format, a...)}
}

// DefaultTimeout bounds a check whose Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Check is one thing a doctor looks at.
type Check struct {
	// Name identifies the check for scripts: stable, lower case, dotted ("tpm.ek", "dps.tls").
	Name string
	// Title says what the check looks at, for people ("EK with the standard template").
	Title string
	// Timeout bounds Run; zero means DefaultTimeout.
	Timeout time.Duration
	// Run looks and reports. It must return when its context ends.
	Run func(ctx context.Context) Finding
}

// Result is one check's finding in a report.
type Result struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Finding
	Took time.Duration `json:"-"`
}

// Report is the outcome of a doctor's checks, in the order they ran.
type Report struct {
	Results []Result
}

// Blocked reports whether any check failed: onboarding cannot go on as things are.
func (r Report) Blocked() bool {
	for _, res := range r.Results {
		if res.Status == Fail {
			return true
		}
	}
	return false
}

// Run runs the checks one after the other. Each result is passed to progress, when it is not
// nil, as soon as it is known, so a terminal shows the checks as they finish. A check that
// overruns its timeout fails; one that panics fails with the panic's message.
func Run(ctx context.Context, checks []Check, progress func(Result)) Report {
	var rep Report
	for _, c := range checks {
		res := runOne(ctx, c)
		rep.Results = append(rep.Results, res)
		if progress != nil {
			progress(res)
		}
	}
	return rep
}

func runOne(ctx context.Context, c Check) Result {
	if ctx.Err() != nil {
		return Result{Name: c.Name, Title: c.Title, Finding: Skipf("interrupted")}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	done := make(chan Finding, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Failf("report this as a bug in the program, with the line above",
					"the check itself failed: %v", p)
			}
		}()
		done <- c.Run(cctx)
	}()
	var f Finding
	select {
	case f = <-done:
	case <-cctx.Done():
		if ctx.Err() != nil {
			f = Skipf("interrupted")
		} else {
			f = Failf("check the network and the device, then run the doctor again",
				"no answer within %s", timeout)
		}
	}
	return Result{Name: c.Name, Title: c.Title, Finding: f, Took: time.Since(start)}
}
