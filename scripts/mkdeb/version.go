package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

var (
	// `git describe` after a tag: TAG-COMMITS-gHASH.
	describeAfterTag = regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]{4,40})$`)
	// `git describe --always` where no tag is reachable: the abbreviated commit.
	describeCommit = regexp.MustCompile(`^[0-9a-f]{4,40}$`)
	// Debian's upstream_version without an epoch, before the package revision is added.
	upstreamSyntax = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
)

// upstreamVersion makes the upstream part of the package's Debian version from the agent's
// version as `git describe --always --dirty` prints it, so that later commits sort later:
//
//	v1.2.0              1.2.0
//	v1.2.0-rc1          1.2.0~rc1 (before 1.2.0)
//	v1.2.0-4-gabc1234   1.2.0+git4.abc1234
//	abc1234             0~git20261203125933.abc1234 (no tag yet: the commit's time orders them)
//
// A -dirty suffix (uncommitted changes) becomes +dirty, or .dirty after a +.
func upstreamVersion(describe string, committed time.Time) (string, error) {
	rest, dirty := strings.CutSuffix(describe, "-dirty")
	var v string
	switch {
	case describeCommit.MatchString(rest):
		v = "0~git" + committed.UTC().Format("20060102150405") + "." + rest
	case describeAfterTag.MatchString(rest):
		m := describeAfterTag.FindStringSubmatch(rest)
		v = tagVersion(m[1]) + "+git" + m[2] + "." + m[3]
	default:
		v = tagVersion(rest)
	}
	if dirty {
		if strings.Contains(v, "+") {
			v += ".dirty"
		} else {
			v += "+dirty"
		}
	}
	if !upstreamSyntax.MatchString(v) {
		return "", fmt.Errorf("version %q makes %q, not a Debian version: tag releases vMAJOR.MINOR.PATCH, or give make deb VERSION=1.2.3", describe, v)
	}
	return v, nil
}

// tagVersion is a release tag as Debian orders it: without its v, a pre-release before the
// release.
func tagVersion(tag string) string {
	tag = strings.TrimPrefix(tag, "v")
	return strings.ReplaceAll(tag, "-", "~")
}
