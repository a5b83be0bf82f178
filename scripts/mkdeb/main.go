// Command mkdeb builds the agent's Debian packages from deploy/nfpm.yaml with nfpm: one
// oob-agent_VERSION_ARCH.deb for each architecture named, around the static binary the
// Makefile built for it (BIN/linux-GOARCH/oob-agent), with a Debian changelog and manual page
// it generates. It is what `make deb` runs.
//
// Usage: go run ./scripts/mkdeb -version DESCRIBE -time UNIX -maintainer 'NAME <ADDRESS>' [-bin bin] [-out build] GOARCH...
//
// DESCRIBE is `git describe --always --dirty` (the agent's own version) and UNIX the commit's
// time: together they make the package's version, and the time is every file's date, so the
// same commit gives the same package. It prints the path of each package made.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.config, "config", "deploy/nfpm.yaml", "the package's nfpm configuration")
	flag.StringVar(&o.describe, "version", "", "the agent's version, as `git describe --always --dirty` prints it")
	epoch := flag.String("time", os.Getenv("SOURCE_DATE_EPOCH"), "the commit's time in seconds since 1970 (git log -1 --format=%ct)")
	flag.StringVar(&o.maintainer, "maintainer", "", "the package's maintainer, \"Name <address>\"")
	flag.StringVar(&o.bin, "bin", "bin", "where the Makefile built BIN/linux-GOARCH/oob-agent")
	flag.StringVar(&o.out, "out", "build", "the directory the packages are written to")
	flag.Parse()
	o.arches = flag.Args()
	secs, err := strconv.ParseInt(*epoch, 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: -time %q: want the commit's time in seconds (git log -1 --format=%%ct)\n", *epoch)
		os.Exit(2)
	}
	o.time = time.Unix(secs, 0).UTC()
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
}
