package camera

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"testing"
)

// The V4L2 device itself cannot be tested here: there is no camera, and v4l2loopback (a kernel
// module) is not available. What can go wrong without one is tested as pure functions: the mode
// chosen from what a camera offers (mode_test.go) and the conversion of its frames (this file).

func TestYUYVImage(t *testing.T) {
	// 4x2: each pixel pair is Y0 Cb Y1 Cr.
	buf := []byte{
		10, 100, 20, 200, 30, 101, 40, 201,
		50, 102, 60, 202, 70, 103, 80, 203,
	}
	img, err := yuyvImage(buf, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	if img.SubsampleRatio != image.YCbCrSubsampleRatio422 {
		t.Fatalf("subsampling %v, want 4:2:2", img.SubsampleRatio)
	}
	want := map[image.Point]color.YCbCr{
		{0, 0}: {10, 100, 200}, {1, 0}: {20, 100, 200}, {2, 0}: {30, 101, 201}, {3, 0}: {40, 101, 201},
		{0, 1}: {50, 102, 202}, {1, 1}: {60, 102, 202}, {2, 1}: {70, 103, 203}, {3, 1}: {80, 103, 203},
	}
	for p, c := range want {
		if got := img.YCbCrAt(p.X, p.Y); got != c {
			t.Errorf("pixel %v = %v, want %v", p, got, c)
		}
	}
	for _, bad := range []struct {
		buf  []byte
		w, h int
	}{{buf[:15], 4, 2}, {buf, 3, 2}, {buf, 0, 2}} {
		if _, err := yuyvImage(bad.buf, bad.w, bad.h); err == nil {
			t.Errorf("yuyvImage(%d bytes, %dx%d) succeeded", len(bad.buf), bad.w, bad.h)
		}
	}
}

// An MJPEG frame without Huffman tables, as many webcams send them, decodes to the same image
// as the complete JPEG it was cut from; Go's decoder alone refuses it.
func TestMJPEGWithoutHuffmanTables(t *testing.T) {
	src := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio422)
	for i := range src.Y {
		src.Y[i] = byte(i * 7)
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = byte(i*3), byte(255-i)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	stripped := withoutSegment(t, full, markerDHT)
	if _, err := jpeg.Decode(bytes.NewReader(stripped)); err == nil {
		t.Fatal("Go's decoder read a JPEG without Huffman tables: the fix is not needed any more")
	}
	want, err := jpeg.Decode(bytes.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	got, err := mjpegImage(stripped)
	if err != nil {
		t.Fatalf("MJPEG frame without tables: %v", err)
	}
	g, w := got.(*image.YCbCr), want.(*image.YCbCr)
	if !bytes.Equal(g.Y, w.Y) || !bytes.Equal(g.Cb, w.Cb) || !bytes.Equal(g.Cr, w.Cr) {
		t.Error("the frame decoded with the standard tables differs from the original")
	}
	// A complete JPEG is used as it is.
	if got := withHuffmanTables(full); !bytes.Equal(got, full) {
		t.Error("tables were added to a JPEG that has its own")
	}
	if _, err := mjpegImage([]byte("not a jpeg")); err == nil {
		t.Error("mjpegImage decoded garbage")
	}
}

// withoutSegment returns the JPEG j with every marker segment of the given kind cut out.
func withoutSegment(t *testing.T, j []byte, marker byte) []byte {
	t.Helper()
	out := append([]byte(nil), j[:2]...)
	for i := 2; i+4 <= len(j); {
		if j[i+1] == markerSOS {
			return append(out, j[i:]...)
		}
		n := 2 + int(binary.BigEndian.Uint16(j[i+2:]))
		if j[i+1] != marker {
			out = append(out, j[i:i+n]...)
		}
		i += n
	}
	t.Fatal("no scan in the JPEG")
	return nil
}

func TestSplitArgs(t *testing.T) {
	tests := map[string][]string{
		"-f avfoundation -framerate 30 -i 0":     {"-f", "avfoundation", "-framerate", "30", "-i", "0"},
		`-f dshow -i "video=USB Camera"`:         {"-f", "dshow", "-i", "video=USB Camera"},
		`-f dshow -i video="USB Camera"`:         {"-f", "dshow", "-i", "video=USB Camera"},
		`-i 'C:\My Videos\line 4.mp4'`:           {"-i", `C:\My Videos\line 4.mp4`},
		`  -i   a.mp4  `:                         {"-i", "a.mp4"},
		`-metadata title=""`:                     {"-metadata", "title="},
		`-f v4l2 -input_format mjpeg -i /dev/v0`: {"-f", "v4l2", "-input_format", "mjpeg", "-i", "/dev/v0"},
	}
	for in, want := range tests {
		got, err := SplitArgs(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := SplitArgs(`-i "video=USB`); err == nil {
		t.Error("an unmatched quote was accepted")
	}
}
