package main

import (
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
)

type options struct {
	config     string
	describe   string
	time       time.Time
	maintainer string
	bin, out   string
	arches     []string // GOARCH values
}

// debArch is the Debian architecture of each GOARCH the agent is built for (arm: GOARM=7).
var debArch = map[string]struct {
	name    string
	machine elf.Machine
}{
	"amd64": {"amd64", elf.EM_X86_64},
	"arm64": {"arm64", elf.EM_AARCH64},
	"arm":   {"armhf", elf.EM_ARM},
}

func run(o options, stdout io.Writer) error {
	if len(o.arches) == 0 {
		return errors.New("no architecture named: give GOARCH values (amd64 arm64 arm)")
	}
	if !strings.Contains(o.maintainer, "<") {
		return fmt.Errorf("maintainer %q: want \"Name <address>\" (make deb DEB_MAINTAINER=...)", o.maintainer)
	}
	upstream, err := upstreamVersion(o.describe, o.time)
	if err != nil {
		return err
	}
	stage, err := os.MkdirTemp("", "mkdeb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if err := writeChangelog(filepath.Join(stage, "changelog.Debian.gz"), upstream+"-1", o); err != nil {
		return err
	}
	if err := gzipFile(filepath.Join(stage, "oob-agent.8.gz"), "deploy/oob-agent.8"); err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for _, goarch := range o.arches {
		path, err := build(o, goarch, upstream, stage)
		if err != nil {
			return fmt.Errorf("%s: %w", goarch, err)
		}
		fmt.Fprintln(stdout, path)
	}
	return nil
}

// build writes one architecture's package, by way of a temporary file so that a failed build
// leaves no truncated .deb behind.
func build(o options, goarch, upstream, stage string) (string, error) {
	arch, ok := debArch[goarch]
	if !ok {
		return "", fmt.Errorf("not an architecture the agent is packaged for (amd64, arm64, arm)")
	}
	binary := filepath.Join(o.bin, "linux-"+goarch, "oob-agent")
	if err := checkStatic(binary, arch.machine); err != nil {
		return "", err
	}
	vars := map[string]string{
		"VERSION":    upstream,
		"ARCH":       arch.name,
		"BINARY":     binary,
		"STAGE":      stage,
		"MAINTAINER": o.maintainer,
	}
	cfg, err := nfpm.ParseFileWithEnvMapping(o.config, func(name string) string { return vars[name] })
	if err != nil {
		return "", fmt.Errorf("%s: %w", o.config, err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	info.MTime = o.time
	packager := deb.Default
	target := filepath.Join(o.out, packager.ConventionalFileName(info))
	info.Target = target
	f, err := os.CreateTemp(o.out, ".mkdeb-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := packager.Package(info, f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return target, os.Rename(f.Name(), target)
}

// checkStatic refuses a binary built for another machine or linked dynamically: the package
// promises a static agent (CGO_ENABLED=0) for its architecture.
func checkStatic(path string, machine elf.Machine) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("the agent (build it with make deb): %w", err)
	}
	defer f.Close()
	if f.Machine != machine {
		return fmt.Errorf("%s is built for %s, not %s", path, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// writeChangelog writes the one-entry Debian changelog of a package built from a commit of
// the repository (the project keeps no Debian changelog of its own).
func writeChangelog(path, version string, o options) error {
	text := fmt.Sprintf("oob-agent (%s) unstable; urgency=medium\n\n"+
		"  * Built from oob %s, https://github.com/oobtpm/oob.\n\n"+
		" -- %s  %s\n", version, o.describe, o.maintainer, o.time.Format(time.RFC1123Z))
	return gzipTo(path, strings.NewReader(text))
}

func gzipFile(dst, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return gzipTo(dst, f)
}

// gzipTo compresses as gzip -9n does, without a name or a time in the header, which Debian
// asks of compressed files in a package (they must not change from build to build).
func gzipTo(dst string, r io.Reader) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		f.Close()
		return err
	}
	if _, err := io.Copy(zw, r); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
