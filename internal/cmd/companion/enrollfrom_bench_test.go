package companion

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
)

// BenchmarkEnrollFrom10000 runs `companion enroll --from` on a file of 10,000 new devices (JSON
// lines; one EK, each row its own OEM registration ID) against the emulator over TLS: rows
// checked, bulk creates of ten, every outcome journaled (fsynced).
func BenchmarkEnrollFrom10000(b *testing.B) {
	const rows = 10000
	emu := emulatortest.Start(b)
	b.Setenv(dpsflags.EnvConnectionString, emu.ConnectionString.Secret())
	ek := b64(ektest.New(b))
	dir := b.TempDir()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var file bytes.Buffer
		for r := range rows {
			fmt.Fprintf(&file, `{"registrationId":"bench-%03d-%05d","endorsementKey":%q}`+"\n", i, r, ek)
		}
		path := filepath.Join(dir, fmt.Sprintf("rows-%d.jsonl", i))
		if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		var out, errOut bytes.Buffer
		cmd := quiet(NewCmdEnroll(cli.Test(nil, &out, &errOut), nil))
		cmd.SetArgs([]string{"--from", path, "--format", "json", "--journal", filepath.Join(dir, "journal.db"),
			"--ca-file", filepath.Join(emu.Dir, tlsca.CertFile)})
		b.StartTimer()
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			b.Fatalf("%v: %s", err, errOut.String())
		}
		if n := bytes.Count(out.Bytes(), []byte(`"outcome":"created"`)); n != rows {
			b.Fatalf("%d of %d created", n, rows)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
