package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/agent"
	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/journal"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// twinTags decodes an enrollment's initial twin tags.
func twinTags(t *testing.T, e *dpsapi.IndividualEnrollment) map[string]string {
	t.Helper()
	tags := map[string]string{}
	if e == nil || e.InitialTwin == nil || json.Unmarshal(e.InitialTwin.Tags, &tags) != nil {
		t.Errorf("enrollment without string tags: %+v", e)
	}
	return tags
}

func fromResults(t *testing.T, out string) map[string]enrollFromRow {
	t.Helper()
	got := map[string]enrollFromRow{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r enrollFromRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		got[r.RegistrationID] = r
	}
	return got
}

// Bad rows stop everything before DPS: each is named by its line. Then good, already enrolled
// and conflicting rows are enrolled in bulk, the conflict left as it was (exit 4), every outcome
// journaled; a second run of the same file changes nothing.
func TestEnrollFromRows(t *testing.T) {
	emu := emulatortest.Start(t)
	svc := emu.Client(t, dps.Options{})
	ctx := context.Background()
	devs := make([]journalDevice, 14)
	for i := range devs {
		id := ektest.Identity(t, "")
		devs[i] = journalDevice{id.RegistrationID, id.EndorsementKey}
	}
	// devs[0] already enrolled with its key; devs[1]'s registration ID enrolled with another.
	if _, err := svc.CreateOrUpdateEnrollment(ctx, ektest.Enrollment(devs[0].regID, devs[0].ek), ""); err != nil {
		t.Fatal(err)
	}
	other := ektest.New(t)
	if _, err := svc.CreateOrUpdateEnrollment(ctx, ektest.Enrollment(devs[1].regID, other), ""); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i, d := range devs {
		lines = append(lines, fmt.Sprintf(`{"registrationId":%q,"endorsementKey":%q,"deviceId":"dev-%d","tags":{"row":"%d"}}`, d.regID, b64(d.ek), i, i))
	}
	jpath := filepath.Join(t.TempDir(), "journal.db")
	bad := append(append([]string{}, lines...),
		`{"registrationId":"x","endorsementKey":"AAAA"}`,
		lines[3],
		`{"registrationId":"y","endorsementKey":"`+b64(devs[4].ek)+`","colour":"red"}`)
	_, stderr, err := runCmd(t, emu, enrollCmd, "--from", writeFile(t, "bad.jsonl", strings.Join(bad, "\n")), "--journal", jpath)
	if err == nil || cli.ExitCode(err, &strings.Builder{}) != 1 {
		t.Fatalf("bad rows: %v", err)
	}
	for _, want := range []string{"line 15:", "line 16: registration ID", "already on line 4", "line 17:", "colour", "3 of 17 rows are bad"} {
		if !strings.Contains(stderr+err.Error(), want) {
			t.Errorf("the report lacks %q:\n%s%v", want, stderr, err)
		}
	}
	if _, err := svc.GetEnrollment(ctx, devs[2].regID); !errors.Is(err, dps.ErrNotFound) {
		t.Fatalf("a good row was enrolled though the file had bad rows: %v", err)
	}

	good := writeFile(t, "good.jsonl", strings.Join(lines, "\n")+"\n")
	out, _, err := runCmd(t, emu, enrollCmd, "--from", good, "--journal", jpath, "--format", "json", "--tag", "batch=7")
	var conflict *cli.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("want exit 4 for the conflicting row, got %v", err)
	}
	got := fromResults(t, out)
	if len(got) != len(devs) || got[devs[0].regID].Outcome != "already-enrolled" || got[devs[1].regID].Outcome != "conflict" ||
		got[devs[1].regID].Line != 2 || !strings.Contains(got[devs[1].regID].Error, "different") && got[devs[1].regID].Error == "" {
		t.Fatalf("results %+v", got)
	}
	for _, d := range devs[2:] {
		if got[d.regID].Outcome != "created" {
			t.Errorf("%s: %+v", d.regID, got[d.regID])
		}
	}
	e, err := svc.GetEnrollment(ctx, devs[5].regID)
	if err != nil || e.DeviceID != "dev-5" || twinTags(t, e)["row"] != "5" || twinTags(t, e)["batch"] != "7" {
		t.Errorf("enrollment of row 6: %+v, %v", e, err)
	}
	if e, err := svc.GetEnrollment(ctx, devs[1].regID); err != nil || e.Attestation.TPM.EndorsementKey != b64(other) {
		t.Errorf("the conflicting enrollment was changed: %v", err)
	}
	j, err := journal.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	settled, err := j.Settled()
	j.Close()
	if err != nil || len(settled) != len(devs) {
		t.Errorf("journal settled %d devices, %v; want %d", len(settled), err, len(devs))
	}

	// Again: nothing new; the table names each row.
	out, _, err = runCmd(t, emu, enrollCmd, "--from", good, "--journal", jpath)
	if !errors.As(err, &conflict) || strings.Count(out, "already-enrolled") != len(devs)-1 || !strings.Contains(out, "LINE") {
		t.Errorf("second run: %v\n%s", err, out)
	}
}

type journalDevice struct {
	regID string
	ek    []byte
}

func TestEnrollFromCSV(t *testing.T) {
	emu := emulatortest.Start(t)
	a, b := ektest.Identity(t, ""), ektest.Identity(t, "")
	csv := "registrationId,endorsementKey,ekCertificate,deviceId,tags\n" +
		a.RegistrationID + "," + b64(a.EndorsementKey) + ",,dev-a,line=4;shift=night\n" +
		b.RegistrationID + "," + b64(b.EndorsementKey) + "\n"
	out, stderr, err := runCmd(t, emu, enrollCmd, "--from", writeFile(t, "d.csv", csv), "--journal", filepath.Join(t.TempDir(), "j.db"), "--format", "json")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	got := fromResults(t, out)
	if got[a.RegistrationID].Outcome != "created" || got[b.RegistrationID].Line != 3 {
		t.Errorf("%+v", got)
	}
	e, err := emu.Client(t, dps.Options{}).GetEnrollment(context.Background(), a.RegistrationID)
	if err != nil || e.DeviceID != "dev-a" || twinTags(t, e)["shift"] != "night" {
		t.Errorf("%+v %v", e, err)
	}
	_, stderr, err = runCmd(t, emu, enrollCmd, "--from", writeFile(t, "bad.csv", a.RegistrationID+"\n"+"x,y,z,w,v,u\n"), "--journal", filepath.Join(t.TempDir(), "j.db"))
	if err == nil || !strings.Contains(stderr, "line 1: 1 columns") || !strings.Contains(stderr, "line 2: 6 columns") {
		t.Errorf("%v: %s", err, stderr)
	}
}

// --require-ek-cert: a real swtpm's identity with the EK certificate swtpm_setup issued is
// enrolled when its maker's root and intermediate are trusted; a row without a certificate, or
// with the intermediate missing from the folder, is refused and nothing is sent.
func TestEnrollFromRequireEKCert(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	// The line exactly as the device's agent prints it.
	var agentOut, agentErr bytes.Buffer
	ios := cli.Test(strings.NewReader(""), &agentOut, &agentErr)
	identityCmd := agent.NewCmdIdentity(ios, nil)
	identityCmd.SetArgs([]string{"--tpm", spec, "--format", "json"})
	if err := identityCmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("oob-agent identity: %v: %s", err, agentErr.String())
	}
	line := strings.TrimSpace(agentOut.String())
	var id struct {
		RegistrationID string `json:"registrationId"`
		Payload        string `json:"payload"`
	}
	if err := json.Unmarshal([]byte(line), &id); err != nil || id.Payload == "" {
		t.Fatalf("oob-agent identity printed %q", line)
	}
	// The same line with another device's QR payload is refused.
	otherPayload, err := identity.Encode(ektest.Identity(t, ""), identity.FormatV1)
	if err != nil {
		t.Fatal(err)
	}
	mixed := strings.Replace(line, id.Payload, otherPayload, 1)
	plain := ektest.Identity(t, "")
	noCert := fmt.Sprintf(`{"registrationId":%q,"endorsementKey":%q}`, plain.RegistrationID, b64(plain.EndorsementKey))
	roots, rootOnly := swtpmtest.TPMRoots(t, true), swtpmtest.TPMRoots(t, false)
	emu := emulatortest.Start(t)
	jpath := filepath.Join(t.TempDir(), "j.db")
	_, stderr, err := runCmd(t, emu, enrollCmd, "--from", writeFile(t, "a.jsonl", line+"\n"+noCert+"\n"+mixed), "--journal", jpath, "--require-ek-cert", "--tpm-roots", roots)
	if err == nil || !strings.Contains(stderr, "line 2: no EK certificate") || strings.Contains(stderr, "line 1") ||
		!strings.Contains(stderr, "line 3: the payload is another device's") {
		t.Errorf("a row without a certificate: %v: %s", err, stderr)
	}
	_, stderr, err = runCmd(t, emu, enrollCmd, "--from", writeFile(t, "b.jsonl", line), "--journal", jpath, "--require-ek-cert", "--tpm-roots", rootOnly)
	if err == nil || !strings.Contains(stderr, `lacks the certificate of "CN=swtpm-localca"`) {
		t.Errorf("the intermediate missing: %v: %s", err, stderr)
	}
	out, stderr, err := runCmd(t, emu, enrollCmd, "--from", writeFile(t, "c.jsonl", line), "--journal", jpath, "--require-ek-cert", "--tpm-roots", roots, "--format", "json")
	if err != nil || fromResults(t, out)[id.RegistrationID].Outcome != "created" {
		t.Errorf("the certified row: %v: %s %s", err, out, stderr)
	}
	_, _, err = runCmd(t, nil, enrollCmd, "--from", "x", "--require-ek-cert")
	if cli.ExitCode(err, &strings.Builder{}) != 2 {
		t.Errorf("--require-ek-cert without --tpm-roots: %v", err)
	}
}
