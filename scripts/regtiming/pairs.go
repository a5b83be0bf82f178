package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

// runner runs the two clients' registrations against one emulator.
type runner struct {
	agent   string
	nodeDir string
	emu     *emulator
}

// results are one attestation's timings, pair by pair.
type results struct {
	ours, node []time.Duration
}

// pairs runs one warm-up pair, then n measured ones, the order within a pair alternating.
func (r runner) pairs(ctx context.Context, m mode, n int) (results, error) {
	return pairs(ctx, m, n, r.ours, r.node)
}

// client runs one registration and times it.
type client func(context.Context, mode) (time.Duration, error)

// pairs runs ours and node in pairs: the first (a warm-up, not counted) with node first, then
// ours first in even pairs and node first in odd ones, so neither always follows the other.
func pairs(ctx context.Context, m mode, n int, ours, node client) (results, error) {
	var res results
	for i := -1; i < n; i++ {
		first, second := ours, node
		if i%2 != 0 {
			first, second = node, ours
		}
		a, err := first(ctx, m)
		if err != nil {
			return res, err
		}
		b, err := second(ctx, m)
		if err != nil {
			return res, err
		}
		if i < 0 {
			continue
		}
		if i%2 != 0 {
			a, b = b, a
		}
		res.ours, res.node = append(res.ours, a), append(res.node, b)
	}
	return res, nil
}

// ratio is the median of the pairs' Node/ours ratios.
func (res results) ratio() float64 {
	rs := make([]float64, len(res.ours))
	for i := range rs {
		rs[i] = float64(res.node[i]) / float64(res.ours[i])
	}
	slices.Sort(rs)
	if len(rs)%2 == 1 {
		return rs[len(rs)/2]
	}
	return (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
}

// ours runs `oob-agent register --no-hub --format json` and times it to its answer.
func (r runner) ours(ctx context.Context, m mode) (time.Duration, error) {
	args := append([]string{"register", "--id-scope", r.emu.idScope, "--endpoint", "localhost:443", "--ca-file", r.emu.caFile,
		"--no-hub", "--format", "json"}, m.ours...)
	cmd := exec.CommandContext(ctx, r.agent, args...)
	return timeToAssigned(cmd, m.registrationID, func(line []byte) (string, string, error) {
		var out struct{ Status, RegistrationID string }
		err := json.Unmarshal(line, &out)
		return out.Status, out.RegistrationID, err
	})
}

// node runs `node device.js --no-hub` and times it to its registration line.
func (r runner) node(ctx context.Context, m mode) (time.Duration, error) {
	args := append([]string{"device.js", "--provisioning-host", "localhost", "--id-scope", r.emu.idScope, "--no-hub"}, m.node...)
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = r.nodeDir
	cmd.Env = append(append(os.Environ(), "NODE_EXTRA_CA_CERTS="+r.emu.caFile), m.nodeEnv...)
	return timeToAssigned(cmd, m.registrationID, func(line []byte) (string, string, error) {
		var out struct {
			Registration struct{ Status, RegistrationID string }
		}
		err := json.Unmarshal(line, &out)
		return out.Registration.Status, out.Registration.RegistrationID, err
	})
}

// timeToAssigned starts cmd and returns the time from its start to the line on its stdout that
// parse reads as id assigned; the process must then exit 0.
func timeToAssigned(cmd *exec.Cmd, id string, parse func([]byte) (status, regID string, err error)) (time.Duration, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var took time.Duration
	var printed []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		printed = append(printed, sc.Text())
		if status, regID, err := parse(sc.Bytes()); err == nil && status == "assigned" && regID == id && took == 0 {
			took = time.Since(start)
		}
	}
	err = cmd.Wait()
	if err != nil || took == 0 {
		return 0, fmt.Errorf("%s: %v, want %s assigned; it printed %q\n%s", cmd.Args[0], err, id, printed, stderr.Bytes())
	}
	return took, nil
}

// nodeStartup times n starts of node that load device.js's SDK packages and exit.
func nodeStartup(ctx context.Context, nodeDir string, n int) ([]time.Duration, error) {
	const load = `for (const m of ['tss.js', 'azure-iot-security-tpm', 'azure-iot-security-x509', 'azure-iot-security-symmetric-key',
  'azure-iot-provisioning-device', 'azure-iot-provisioning-device-http', 'azure-iot-device', 'azure-iot-device-mqtt']) require(m);`
	var ds []time.Duration
	for range n {
		cmd := exec.CommandContext(ctx, "node", "-e", load)
		cmd.Dir = nodeDir
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("node loading the SDK: %v\n%s", err, out)
		}
		ds = append(ds, time.Since(start))
	}
	return ds, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 1).
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	k := int(float64(len(s))*p+0.999999) - 1
	return s[max(k, 0)]
}
