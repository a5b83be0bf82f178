package main

import (
	"os/exec"
	"testing"
	"time"
)

func TestUpstreamVersion(t *testing.T) {
	committed := time.Date(2026, 12, 3, 12, 59, 33, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		describe, want string
	}{
		{"v1.2.0", "1.2.0"},
		{"1.2.0", "1.2.0"},
		{"v1.2.0-rc1", "1.2.0~rc1"},
		{"v1.2.0-4-gabc1234", "1.2.0+git4.abc1234"},
		{"v1.2.0-rc1-4-gabc1234", "1.2.0~rc1+git4.abc1234"},
		{"v1.2.0-dirty", "1.2.0+dirty"},
		{"v1.2.0-4-gabc1234-dirty", "1.2.0+git4.abc1234.dirty"},
		{"bc7b11b", "0~git20261203115933.bc7b11b"},
		{"bc7b11b-dirty", "0~git20261203115933.bc7b11b+dirty"},
	} {
		t.Run(tc.describe, func(t *testing.T) {
			got, err := upstreamVersion(tc.describe, committed)
			if err != nil || got != tc.want {
				t.Fatalf("upstreamVersion(%q) = %q, %v; want %q", tc.describe, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "dev", "release_1", "v1.2:3"} {
		if got, err := upstreamVersion(bad, committed); err == nil {
			t.Errorf("upstreamVersion(%q) = %q, want an error", bad, got)
		}
	}
}

// TestVersionsSort checks with dpkg itself that the versions sort as the commits do.
func TestVersionsSort(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg is not installed")
	}
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	ordered := []struct {
		describe string
		at       time.Time
	}{
		{"fffffff", day},
		{"0000000", day.Add(time.Second)},
		{"v1.0.0-rc1", day},
		{"v1.0.0-rc1-2-gaaaaaaa", day},
		{"v1.0.0", day},
		{"v1.0.0-dirty", day},
		{"v1.0.0-1-gbbbbbbb", day},
		{"v1.0.0-10-gaaaaaaa", day},
		{"v1.1.0", day},
	}
	for i := 1; i < len(ordered); i++ {
		a, err := upstreamVersion(ordered[i-1].describe, ordered[i-1].at)
		if err != nil {
			t.Fatal(err)
		}
		b, err := upstreamVersion(ordered[i].describe, ordered[i].at)
		if err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("dpkg", "--compare-versions", a+"-1", "lt", b+"-1").Run(); err != nil {
			t.Errorf("dpkg does not sort %s (%s) before %s (%s)", a, ordered[i-1].describe, b, ordered[i].describe)
		}
	}
}
