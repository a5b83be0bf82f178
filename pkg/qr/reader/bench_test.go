package reader

import (
	"testing"
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
