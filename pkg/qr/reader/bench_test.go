package reader

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkDecodeCorpus reports the time per corpus image with the default Decoder.
func BenchmarkDecodeCorpus(b *testing.B) {
	images := loadCorpus(b)
	var d Decoder
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Decode(images[i%len(images)].img)
	}
}

// BenchmarkDecode1280x720 reports the time per synthetic webcam frame holding a version-12
// code, for both efforts; the Decoder is reused as for a video stream.
func BenchmarkDecode1280x720(b *testing.B) {
	frame, text := frame1280x720(b)
	for _, e := range []struct {
		name   string
		effort Effort
	}{{"fast", Fast}, {"thorough", Thorough}} {
		b.Run(e.name, func(b *testing.B) {
			d := Decoder{Effort: e.effort, FirstOnly: true}
			for b.Loop() {
				res, err := d.Decode(frame)
				if err != nil || res[0].Text != text {
					b.Fatalf("Decode: %v", err)
				}
			}
		})
	}
}

// cameraSetDir is where scripts/make-camera-set.sh writes its frames, from the project root.
const cameraSetDir = "../../../build/camera-set"

// loadCameraSet loads every frame of the camera set, those with a code and those without, as
// the YCbCr images a webcam's MJPEG decodes to.
func loadCameraSet(tb testing.TB) []labelledImage {
	tb.Helper()
	return loadFolder(tb, cameraSetDir, ".jpg", "run scripts/make-camera-set.sh")
}

// BenchmarkDecodeCameraSet decodes the camera set's frames in turn with one Thorough decoder,
// as companion decode does each: those with a code and those without, whose give-up time is
// most of the total. Profile the thorough path with it: go test -run '^$' -bench
// DecodeCameraSet -cpu 1 -cpuprofile cpu.out.
func BenchmarkDecodeCameraSet(b *testing.B) {
	frames := loadCameraSet(b)
	var d Decoder
	for i := 0; b.Loop(); i++ {
		d.Decode(frames[i%len(frames)].img)
	}
}

// BenchmarkScanLoop decodes the camera set's frames in turn with one Fast decoder, as the scan
// loop does with a webcam's frames, and reports the sustained frame rate and the share of
// frames with a code that were read. Run it on one core: GOMAXPROCS=1 (-cpu 1).
func BenchmarkScanLoop(b *testing.B) {
	frames := loadCameraSet(b)
	d := Decoder{Effort: Fast, FirstOnly: true}
	coded, read := 0, 0
	start := time.Now()
	n := 0
	for ; b.Loop(); n++ {
		f := frames[n%len(frames)]
		res, err := d.Decode(f.img)
		if f.want != nil {
			coded++
			if err == nil && bytes.Equal(res[0].Bytes, f.want) {
				read++
			}
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "frames/s")
	b.ReportMetric(100*float64(read)/float64(max(coded, 1)), "%read")
}
