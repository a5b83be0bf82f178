package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRunReportsEachCheckInOrder(t *testing.T) {
	var seen []string
	rep := Run(context.Background(), []Check{
		{Name: "a", Title: "first", Run: func(context.Context) Finding { return Okf("fine") }},
		{Name: "b", Title: "second", Run: func(context.Context) Finding { return Warnf("look", "odd") }},
		{Name: "c", Title: "third", Run: func(context.Context) Finding { return Failf("fix it", "broken") }},
	}, func(r Result) { seen = append(seen, r.Name) })
	if strings.Join(seen, ",") != "a,b,c" {
		t.Fatalf("progress saw %v, want a,b,c", seen)
	}
	if !rep.Blocked() {
		t.Fatal("a failed check must block")
	}
	if got := rep.Results[1].Status; got != Warn {
		t.Fatalf("second check: %s, want warn", got)
	}
}

func TestWarningsAloneDoNotBlock(t *testing.T) {
	rep := Run(context.Background(), []Check{
		{Name: "a", Title: "a", Run: func(context.Context) Finding { return Warnf("x", "y") }},
		{Name: "b", Title: "b", Run: func(context.Context) Finding { return Skipf("n/a") }},
	}, nil)
	if rep.Blocked() {
		t.Fatal("warnings and skipped checks must not block")
	}
}

func TestAPanickingCheckFailsAndTheOthersRun(t *testing.T) {
	rep := Run(context.Background(), []Check{
		{Name: "p", Title: "panics", Run: func(context.Context) Finding { panic("boom") }},
		{Name: "n", Title: "next", Run: func(context.Context) Finding { return Okf("ran") }},
	}, nil)
	if r := rep.Results[0]; r.Status != Fail || !strings.Contains(r.Detail, "boom") {
		t.Fatalf("panicking check: %+v", r)
	}
	if rep.Results[1].Status != OK {
		t.Fatal("the check after a panicking one did not run")
	}
}

func TestAnOverrunningCheckFailsAtItsTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	rep := Run(context.Background(), []Check{{
		Name: "slow", Title: "slow", Timeout: 20 * time.Millisecond,
		// It ignores its context, as a stuck system call would.
		Run: func(context.Context) Finding { <-release; return Okf("late") },
	}}, nil)
	if r := rep.Results[0]; r.Status != Fail || !strings.Contains(r.Detail, "no answer within 20ms") {
		t.Fatalf("overrunning check: %+v", r)
	}
}

func TestAnInterruptedDoctorSkipsTheRest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := Run(ctx, []Check{{Name: "w", Title: "waits", Run: func(ctx context.Context) Finding {
		<-ctx.Done()
		return Okf("never")
	}}}, nil)
	if r := rep.Results[0]; r.Status != Skipped {
		t.Fatalf("interrupted check: %+v", r)
	}
	if rep.Blocked() {
		t.Fatal("an interruption is not a failure of the device")
	}
}

func TestTextShowsMarksAndWhatToDo(t *testing.T) {
	rep := Report{Results: []Result{
		{Name: "a", Title: "TPM", Finding: Okf("found /dev/tpmrm0")},
		{Name: "b", Title: "Clock", Finding: Failf("set the time (timedatectl set-ntp true)", "1h0m0s behind DPS\nreally")},
	}}
	var out bytes.Buffer
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	want := "✔ TPM: found /dev/tpmrm0\n" +
		"✘ Clock: 1h0m0s behind DPS really\n" +
		"  → set the time (timedatectl set-ntp true)\n" +
		"2 checks: 1 ok, 0 warnings, 1 failed, 0 skipped; onboarding is blocked: fix the ✘ lines above\n"
	if out.String() != want {
		t.Fatalf("text:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestJSONNamesEveryCheck(t *testing.T) {
	rep := Report{Results: []Result{{Name: "dps.tls", Title: "TLS", Finding: Failf("pass --ca", "unknown authority")}}}
	var out bytes.Buffer
	if err := rep.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Blocked bool
		Checks  []map[string]string
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !got.Blocked || len(got.Checks) != 1 || got.Checks[0]["name"] != "dps.tls" ||
		got.Checks[0]["status"] != "fail" || got.Checks[0]["fix"] != "pass --ca" {
		t.Fatalf("json: %s", out.String())
	}
	var empty bytes.Buffer
	_ = Report{}.WriteJSON(&empty)
	if !strings.Contains(empty.String(), `"checks":[]`) {
		t.Fatalf("an empty report must list no checks as [], got %s", empty.String())
	}
}
