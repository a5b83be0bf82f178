// Command scanlatency measures companion scan on a production line: how long from the first
// camera frame that shows a new device's code until its enrollment exists on DPS.
//
// A simulated webcam plays the camera set's frames (scripts/make-camera-set.sh) in real time
// at -fps: each device's screen for -show, then a screen without a code for -gap. It hands its
// frames through camera.Latest, as a real webcam does, to pkg/scan, which decodes, records in
// a fresh journal and enrolls into the DPS that DPS_CONNECTION_STRING and DPS_CA_FILE name (the
// emulator, started by scripts/bench.sh). A poller asks DPS for the device being shown every
// -poll, so the moment its enrollment exists is measured from outside the scan.
//
// Usage: go run ./scripts/scanlatency [-fps 30] [-show 1s] [-gap 500ms] [-endpoint HOST:PORT] DIR
//
// Output, one line: "SHOWN ENROLLED MEDIAN_MS P95_MS REPORT_MEDIAN_MS FPS DROPPED".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/imagefile"
	"github.com/oobtpm/oob/pkg/journal"
	"github.com/oobtpm/oob/pkg/sas"
	"github.com/oobtpm/oob/pkg/scan"
)

func main() {
	fps := flag.Float64("fps", 30, "the simulated webcam's frame rate")
	show := flag.Duration("show", time.Second, "how long each device's screen is in view")
	gap := flag.Duration("gap", 500*time.Millisecond, "how long a screen without a code is in view between devices")
	poll := flag.Duration("poll", 2*time.Millisecond, "how often DPS is asked whether the device shown is enrolled")
	endpoint := flag.String("endpoint", "", "DPS's HOST:PORT, instead of the connection string's host name")
	rounds := flag.Int("rounds", 3, "how many times the devices are scanned, their enrollments deleted in between")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scanlatency [flags] CAMERA-SET-DIR")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *rounds, *fps, *show, *gap, *poll, *endpoint); err != nil {
		fmt.Fprintln(os.Stderr, "scanlatency:", err)
		os.Exit(1)
	}
}

// shot is one device's screen as the camera sees it.
type shot struct {
	img   image.Image
	regID string
}

func run(dir string, rounds int, fps float64, show, gap, poll time.Duration, endpoint string) error {
	shots, blank, err := loadSet(dir)
	if err != nil {
		return err
	}
	c, err := client(endpoint)
	if err != nil {
		return err
	}
	var all round
	for range rounds {
		r, err := scanOnce(c, shots, blank, fps, show, gap, poll)
		if err != nil {
			return err
		}
		all.shown += r.shown
		all.latency = append(all.latency, r.latency...)
		all.report = append(all.report, r.report...)
		all.frames += r.frames
		all.dropped += r.dropped
		all.seconds += r.seconds
		// The next round enrolls the same devices anew.
		for _, sh := range shots {
			if err := c.DeleteEnrollment(context.Background(), sh.regID, ""); err != nil && !errors.Is(err, dps.ErrNotFound) {
				return err
			}
		}
	}
	fmt.Printf("%d %d %.1f %.1f %.1f %.1f %d\n", all.shown, len(all.latency), percentile(all.latency, 50), percentile(all.latency, 95),
		percentile(all.report, 50), float64(all.frames)/all.seconds, all.dropped)
	return nil
}

// round is what one scan of the devices measured.
type round struct {
	shown           int
	latency, report []float64 // milliseconds from the first frame showing a device
	frames, dropped int
	seconds         float64
}

// scanOnce plays the devices to a scan with a fresh journal.
func scanOnce(c *dps.Client, shots []shot, blank image.Image, fps float64, show, gap, poll time.Duration) (round, error) {
	tmp, err := os.MkdirTemp("", "scanlatency-")
	if err != nil {
		return round{}, err
	}
	defer os.RemoveAll(tmp)
	j, err := journal.Open(filepath.Join(tmp, journal.FileName))
	if err != nil {
		return round{}, err
	}
	defer j.Close()

	cam := newPlayer(shots, blank, fps, show, gap)
	src := camera.NewLatest(cam)
	defer src.Close()
	var mu sync.Mutex
	reported := map[string]time.Time{}
	s, err := scan.New(scan.Config{Source: src, Journal: j, Client: c, Report: func(ev scan.Event) {
		if ev.Kind == scan.Device && ev.Outcome == enroll.Created {
			mu.Lock()
			reported[ev.Device.RegistrationID] = ev.Time
			mu.Unlock()
		}
	}})
	if err != nil {
		return round{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exists := pollDPS(ctx, c, cam, poll)
	sum, err := s.Run(ctx)
	if err != nil {
		return round{}, err
	}
	cancel()
	found := <-exists

	r := round{shown: len(shots), frames: sum.Frames, dropped: sum.Dropped, seconds: cam.elapsed().Seconds()}
	for _, sh := range shots {
		first, ok := cam.firstShown(sh.regID)
		if !ok {
			continue
		}
		if t, ok := found[sh.regID]; ok {
			r.latency = append(r.latency, ms(t.Sub(first)))
		}
		if t, ok := reported[sh.regID]; ok {
			r.report = append(r.report, ms(t.Sub(first)))
		}
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the p-th percentile by the nearest-rank method; 0 for no values.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := int(float64(len(v))*p/100+0.999999) - 1
	return v[max(0, min(i, len(v)-1))]
}

// loadSet reads the camera set: one shot per distinct device (cam-NN.jpg with its payload in
// cam-NN.txt), and one frame without a code (empty-NN.jpg).
func loadSet(dir string) ([]shot, image.Image, error) {
	names, err := filepath.Glob(filepath.Join(dir, "cam-*.jpg"))
	if err != nil || len(names) == 0 {
		return nil, nil, fmt.Errorf("no cam-*.jpg in %s: make the set with scripts/make-camera-set.sh", dir)
	}
	var shots []shot
	seen := map[string]bool{}
	for _, name := range names {
		text, err := os.ReadFile(strings.TrimSuffix(name, ".jpg") + ".txt")
		if err != nil {
			return nil, nil, err
		}
		id, err := identity.Parse(string(text))
		if err != nil || seen[id.RegistrationID()] {
			continue
		}
		seen[id.RegistrationID()] = true
		img, err := loadImage(name)
		if err != nil {
			return nil, nil, err
		}
		shots = append(shots, shot{img: img, regID: id.RegistrationID()})
	}
	empties, _ := filepath.Glob(filepath.Join(dir, "empty-*.jpg"))
	if len(empties) == 0 {
		return nil, nil, fmt.Errorf("no empty-*.jpg in %s", dir)
	}
	blank, err := loadImage(empties[0])
	return shots, blank, err
}

func loadImage(path string) (image.Image, error) {
	return imagefile.Open(context.Background(), path)
}

func client(endpoint string) (*dps.Client, error) {
	secret := os.Getenv("DPS_CONNECTION_STRING")
	if secret == "" {
		return nil, errors.New("set DPS_CONNECTION_STRING (and DPS_CA_FILE) to the emulator's")
	}
	cs, err := sas.ParseConnectionString(secret)
	if err != nil {
		return nil, err
	}
	opts := dps.Options{Endpoint: endpoint}
	if ca := os.Getenv("DPS_CA_FILE"); ca != "" {
		if opts.RootCAs, err = cafile.Load(ca); err != nil {
			return nil, err
		}
	}
	return dps.New(cs, opts)
}

// player is a simulated webcam: it delivers its frames in real time, each when its time comes,
// and notes when each device's screen was first delivered.
type player struct {
	frames []int // index into shots, or -1 for the blank screen
	shots  []shot
	blank  image.Image
	period time.Duration

	mu    sync.Mutex
	start time.Time
	seq   int
	first map[string]time.Time
}

func newPlayer(shots []shot, blank image.Image, fps float64, show, gap time.Duration) *player {
	p := &player{shots: shots, blank: blank, period: time.Duration(float64(time.Second) / fps), first: map[string]time.Time{}}
	perShow, perGap := int(show.Seconds()*fps), int(gap.Seconds()*fps)
	for i := range shots {
		for range perGap {
			p.frames = append(p.frames, -1)
		}
		for range perShow {
			p.frames = append(p.frames, i)
		}
	}
	for range perGap {
		p.frames = append(p.frames, -1)
	}
	return p
}

func (p *player) Next(ctx context.Context) (camera.Frame, error) {
	p.mu.Lock()
	if p.start.IsZero() {
		p.start = time.Now()
	}
	if p.seq >= len(p.frames) {
		p.mu.Unlock()
		return camera.Frame{}, errEnd
	}
	due := p.start.Add(time.Duration(p.seq) * p.period)
	p.mu.Unlock()
	if err := sleepUntil(ctx, due); err != nil {
		return camera.Frame{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.frames[p.seq]
	p.seq++
	now := time.Now()
	img := p.blank
	if i >= 0 {
		img = p.shots[i].img
		if _, ok := p.first[p.shots[i].regID]; !ok {
			p.first[p.shots[i].regID] = now
		}
	}
	return camera.Frame{Image: img, Time: now, Seq: p.seq, Name: "simulated webcam"}, nil
}

// errEnd ends the played sequence; camera.Latest passes it on, and the scan ends.
var errEnd = fmt.Errorf("end of the sequence: %w", io.EOF)

func (p *player) Close() error { return nil }

func (p *player) firstShown(regID string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.first[regID]
	return t, ok
}

// shown returns the devices shown so far.
func (p *player) shown() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, 0, len(p.first))
	for id := range p.first {
		ids = append(ids, id)
	}
	return ids
}

func (p *player) elapsed() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.start)
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pollDPS asks DPS every poll whether each device shown and not yet found is enrolled, and returns, when
// ctx ends, when each device's enrollment was first found.
func pollDPS(ctx context.Context, c *dps.Client, p *player, poll time.Duration) <-chan map[string]time.Time {
	out := make(chan map[string]time.Time, 1)
	go func() {
		found := map[string]time.Time{}
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				out <- found
				return
			case <-t.C:
			}
			for _, id := range p.shown() {
				if _, ok := found[id]; ok {
					continue
				}
				if _, err := c.GetEnrollment(ctx, id); err == nil {
					found[id] = time.Now()
				}
			}
		}
	}()
	return out
}
