package companion

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/ektest"
)

// BenchmarkLabel10000 runs `companion label` on a CSV file of 10,000 devices (one EK, each row
// its own OEM registration ID, so every payload differs) in each output: rows checked, payloads
// built and encoded, every label laid out at 50×30 mm and 203 dpi, the files written.
func BenchmarkLabel10000(b *testing.B) {
	const rows = 10000
	ek := b64(ektest.New(b))
	var file bytes.Buffer
	for r := range rows {
		fmt.Fprintf(&file, "bench-%05d,%s\n", r, ek)
	}
	dir := b.TempDir()
	from := filepath.Join(dir, "rows.csv")
	if err := os.WriteFile(from, file.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"pdf", "png", "zpl"} {
		b.Run(format, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				out := filepath.Join(dir, fmt.Sprintf("%s-%d", format, i))
				var stdout, stderr bytes.Buffer
				cmd := quiet(NewCmdLabel(cli.Test(nil, &stdout, &stderr), nil))
				cmd.SetArgs([]string{"--from", from, "--format", format, "--output", out})
				if err := cmd.ExecuteContext(context.Background()); err != nil {
					b.Fatalf("%v: %s", err, stderr.String())
				}
				b.StopTimer()
				os.RemoveAll(out)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "labels/s")
		})
	}
}
