// Command camerascreens writes our agent's enrollment screens for generated devices and the plan
// by which scripts/make-camera-set.sh photographs them: one line per camera frame, naming the
// screen and the degradations to apply. Everything follows from the seed, so the set is the
// same on every run.
//
// Usage: go run ./scripts/camerascreens -out DIR [-seed N] [-frames N] [-empty N]
//
// It writes DIR/screens/devNN.png (the screen as the agent draws it), DIR/screens/devNN-blank.png
// (the same screen with the code area left blank: the device after enrollment, for frames that
// hold no code), DIR/NAME.txt (the exact payload each frame's code holds) and prints the plan on
// stdout as tab-separated lines:
//
//	name screen invert moire persp blur noise lo hi glare jpeg
//
// name: the frame's file name without extension ("empty-…" frames hold no code); screen: the
// screen PNG; invert: 1 for a light-on-dark screen; moire: 1 to photograph the screen's pixel
// grid; persp: ImageMagick Perspective control points, screen corners to a 2560×1440 sensor;
// blur: Gaussian sigma at 2560×1440; noise: ImageMagick +noise attenuation at 1280×720; lo, hi:
// the percentages that black and white are mapped to; glare: "x,y,r" of a glare patch at
// 2560×1440 or "-"; jpeg: the JPEG quality.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/oobtpm/oob/pkg/display"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr"
)

// panels are the screen sizes of the devices, in turn: small HDMI panels and a laptop-class one.
var panels = [][2]int{{800, 480}, {1024, 600}, {1280, 800}}

// labels are the device labels; every other device has none.
var labels = []string{"line 3, bay 12", "rack B-07", "Prüfplatz 4", "kiosk 19"}

// sensor is the size the screen is projected to before the frame is downscaled to 1280×720.
const sensorW, sensorH = 2560, 1440

func main() {
	out := flag.String("out", "", "folder to write screens and payloads to")
	seed := flag.Uint64("seed", 1, "seed of every random choice")
	frames := flag.Int("frames", 48, "frames holding a code")
	empty := flag.Int("empty", 8, "frames holding no code")
	devices := flag.Int("devices", 12, "distinct devices")
	flag.Parse()
	if *out == "" || *frames < 1 || *devices < 1 || *empty < 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, *seed, *frames, *empty, *devices); err != nil {
		fmt.Fprintln(os.Stderr, "camerascreens:", err)
		os.Exit(1)
	}
}

type device struct {
	screen, blank string
	w, h          int
	payload       string
}

func run(out string, seed uint64, frames, empty, devices int) error {
	rng := rand.New(rand.NewPCG(seed, 0x00b))
	if err := os.MkdirAll(filepath.Join(out, "screens"), 0o755); err != nil {
		return err
	}
	devs := make([]device, devices)
	for i := range devs {
		d, err := writeDevice(out, i, rng)
		if err != nil {
			return err
		}
		devs[i] = d
	}
	for k := 0; k < frames; k++ {
		d := devs[k%devices]
		name := fmt.Sprintf("cam-%02d", k)
		if err := os.WriteFile(filepath.Join(out, name+".txt"), []byte(d.payload), 0o644); err != nil {
			return err
		}
		fmt.Println(planLine(name, d.screen, d.w, d.h, k, rng))
	}
	for k := 0; k < empty; k++ {
		d := devs[k%devices]
		fmt.Println(planLine(fmt.Sprintf("empty-%02d", k), d.blank, d.w, d.h, k, rng))
	}
	return nil
}

// writeDevice makes device i: an EK from the standard template with a random modulus, its v1
// payload, and its screen with and without the code.
func writeDevice(out string, i int, rng *rand.Rand) (device, error) {
	modulus := make([]byte, 256)
	for j := range modulus {
		modulus[j] = byte(rng.Uint32())
	}
	modulus[0] |= 0x80
	modulus[255] |= 1
	id := identity.Identity{EndorsementKey: identity.StandardEK(modulus)}
	if i%2 == 1 {
		id.Label = labels[(i/2)%len(labels)]
	}
	payload, err := identity.Encode(id, identity.FormatV1)
	if err != nil {
		return device{}, err
	}
	code, err := qr.Encode(payload, qr.LevelM)
	if err != nil {
		return device{}, err
	}
	panel := panels[i%len(panels)]
	opts := display.PNGOptions{Width: panel[0], Height: panel[1]}
	scr := display.Screen{
		Title:          "Scan to enroll this device",
		Code:           code,
		RegistrationID: identity.DeriveRegistrationID(id.EndorsementKey),
		Status:         "Waiting for enrollment",
	}
	d := device{
		screen:  filepath.Join(out, "screens", fmt.Sprintf("dev%02d.png", i)),
		blank:   filepath.Join(out, "screens", fmt.Sprintf("dev%02d-blank.png", i)),
		w:       panel[0],
		h:       panel[1],
		payload: payload,
	}
	if err := display.WritePNGFile(d.screen, scr, opts); err != nil {
		return device{}, err
	}
	// Same layout, no dark module: the screen with its code taken away.
	blank := *code
	blank.Modules = make([][]bool, code.Size())
	for y := range blank.Modules {
		blank.Modules[y] = make([]bool, code.Size())
	}
	scr.Code = &blank
	scr.Status = "Enrolled"
	if err := display.WritePNGFile(d.blank, scr, opts); err != nil {
		return device{}, err
	}
	return d, nil
}

// planLine chooses frame k's degradations. Each kind of trouble comes back at its own period
// so that every combination of a few appears; the amounts are random.
func planLine(name, screen string, w, h, k int, rng *rand.Rand) string {
	invert := k%6 == 5
	moire := k%3 == 0
	lo, hi := 0, 100
	if k%5 == 2 {
		// A dim, washed-out screen: about a third of the range left.
		lo = 25 + rng.IntN(15)
		hi = lo + 28 + rng.IntN(12)
	} else {
		lo = rng.IntN(12)
		hi = 100 - rng.IntN(15)
	}
	glare := "-"
	if k%4 == 1 {
		glare = fmt.Sprintf("%d,%d,%d", 700+rng.IntN(1200), 300+rng.IntN(800), 250+rng.IntN(350))
	}
	blur := 0.8 + rng.Float64()*2.2
	if k%7 == 3 {
		blur += 2.5 // out of focus
	}
	noise := 0.15 + rng.Float64()*0.35 // σ 3 to 10 grey levels
	return strings.Join([]string{
		name, screen, b01(invert), b01(moire), perspective(w, h, k, rng),
		fmt.Sprintf("%.2f", blur), fmt.Sprintf("%.2f", noise),
		fmt.Sprint(lo), fmt.Sprint(hi), glare, fmt.Sprint(70 + rng.IntN(21)),
	}, "\t")
}

// perspective places a w×h screen in the sensor: its width from about half to nearly all of
// the frame's, turned, tilted towards or away from the camera on both axes, and kept inside
// the frame with a margin.
func perspective(w, h, k int, rng *rand.Rand) string {
	width := sensorW * (0.5 + 0.42*rng.Float64())
	angle := (rng.Float64()*2 - 1) * 25
	if k%11 == 7 {
		angle += 180 // the camera upside down
	} else if k%13 == 4 {
		angle += 90
	}
	// Corners around the origin, before turning: a trapezoid for yaw and one for pitch.
	sx := width / float64(w)
	hw, hh := float64(w)*sx/2, float64(h)*sx/2
	yaw := (rng.Float64()*2 - 1) * 0.18   // relative shrink of one vertical edge
	pitch := (rng.Float64()*2 - 1) * 0.18 // and of one horizontal edge
	corners := [4][2]float64{
		{-hw * (1 - pitch), -hh * (1 - yaw)},
		{hw * (1 - pitch), -hh * (1 + yaw)},
		{hw * (1 + pitch), hh * (1 + yaw)},
		{-hw * (1 + pitch), hh * (1 - yaw)},
	}
	sin, cos := math.Sincos(angle * math.Pi / 180)
	var minX, maxX, minY, maxY float64
	for i, c := range corners {
		x, y := c[0]*cos-c[1]*sin, c[0]*sin+c[1]*cos
		corners[i] = [2]float64{x, y}
		minX, maxX = min(minX, x), max(maxX, x)
		minY, maxY = min(minY, y), max(maxY, y)
	}
	// Shrink to fit, then move the centre at random within what is left.
	fit := min(1, 0.96*sensorW/(maxX-minX), 0.96*sensorH/(maxY-minY))
	cx := sensorW/2 - fit*(minX+maxX)/2 + (rng.Float64()*2-1)*max(0, (sensorW-fit*(maxX-minX))/2-40)
	cy := sensorH/2 - fit*(minY+maxY)/2 + (rng.Float64()*2-1)*max(0, (sensorH-fit*(maxY-minY))/2-40)
	src := [4][2]float64{{0, 0}, {float64(w), 0}, {float64(w), float64(h)}, {0, float64(h)}}
	var parts []string
	for i, c := range corners {
		parts = append(parts, fmt.Sprintf("%.0f,%.0f %.1f,%.1f", src[i][0], src[i][1], cx+fit*c[0], cy+fit*c[1]))
	}
	return strings.Join(parts, " ")
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
