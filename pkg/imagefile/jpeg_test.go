package imagefile

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestJPEGAsImageJPEG checks that Decode gives JPEG images as image/jpeg does, whichever
// decoder this build uses (libjpeg-turbo with -tags turbojpeg): the same image type, bounds
// and chroma subsampling, and samples within 2 of image/jpeg's (the two inverse DCTs round
// differently), so the QR reader sees the same picture. The images: webcam frames of the
// reader's tests (grey), Go's own encoder (4:2:0) and ffmpeg's MJPEG at every subsampling a
// webcam sends, at a size of whole blocks and at one that is not (left to image/jpeg).
func TestJPEGAsImageJPEG(t *testing.T) {
	files := map[string][]byte{}
	frames, err := filepath.Glob("../qr/reader/testdata/camera/*.jpg")
	if err != nil || len(frames) == 0 {
		t.Fatalf("no camera frames in ../qr/reader/testdata/camera: %v", err)
	}
	for _, p := range frames {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	rgb := image.NewRGBA(image.Rect(0, 0, 37, 23))
	for i := range rgb.Pix {
		rgb.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, rgb, nil); err != nil {
		t.Fatal(err)
	}
	files["go-420.jpg"] = b.Bytes()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("OOB_E2E") == "1" {
			t.Fatal("ffmpeg is missing (scripts/deps.sh test installs it)")
		}
		t.Log("ffmpeg is missing: its MJPEG subsamplings are not checked")
	} else {
		dir := t.TempDir()
		for _, f := range []struct{ pixfmt, size string }{
			{"yuvj444p", "96x64"}, {"yuvj422p", "96x64"}, {"yuvj420p", "96x64"}, {"yuvj440p", "96x64"},
			{"yuvj411p", "96x64"}, {"gray", "96x64"}, {"yuvj420p", "97x61"}, {"yuvj444p", "97x61"},
		} {
			pixfmt := f.pixfmt + "-" + f.size
			out := filepath.Join(dir, pixfmt+".jpg")
			cmd := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size="+f.size, "-frames:v", "1", "-pix_fmt", f.pixfmt, "-strict", "-1", out)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg %s: %v: %s", pixfmt, err, msg)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			files["ffmpeg-"+pixfmt+".jpg"] = data
		}
	}
	for name, data := range files {
		want, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: image/jpeg: %v", name, err)
		}
		got, err := Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: Decode: %v", name, err)
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: bounds %v, image/jpeg's %v", name, got.Bounds(), want.Bounds())
		}
		switch w := want.(type) {
		case *image.Gray:
			g, ok := got.(*image.Gray)
			if !ok {
				t.Fatalf("%s: %T, image/jpeg's %T", name, got, want)
			}
			each(w.Bounds(), func(x, y int) {
				near(t, name, "Y", x, y, g.GrayAt(x, y).Y, w.GrayAt(x, y).Y)
			})
		case *image.YCbCr:
			g, ok := got.(*image.YCbCr)
			if !ok || g.SubsampleRatio != w.SubsampleRatio {
				t.Fatalf("%s: %T, image/jpeg's %T %v", name, got, want, w.SubsampleRatio)
			}
			each(w.Bounds(), func(x, y int) {
				near(t, name, "Y", x, y, g.Y[g.YOffset(x, y)], w.Y[w.YOffset(x, y)])
				near(t, name, "Cb", x, y, g.Cb[g.COffset(x, y)], w.Cb[w.COffset(x, y)])
				near(t, name, "Cr", x, y, g.Cr[g.COffset(x, y)], w.Cr[w.COffset(x, y)])
			})
		default:
			t.Fatalf("%s: image/jpeg gave %T", name, want)
		}
		t.Logf("%s: %T as image/jpeg's (this build has libjpeg-turbo: %v)", name, got, turboJPEG)
	}
}

func each(r image.Rectangle, f func(x, y int)) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			f(x, y)
		}
	}
}

func near(t *testing.T, name, what string, x, y int, got, want byte) {
	if d := int(got) - int(want); d < -2 || d > 2 {
		t.Helper()
		t.Fatalf("%s: %s at (%d, %d) is %d, image/jpeg's %d", name, what, x, y, got, want)
	}
}
