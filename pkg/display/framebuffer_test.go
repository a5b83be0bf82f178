package display

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
)

// rawFormat is m as qrtest reads raw frames: the same geometry and bitfields, so the frame
// is read back from the mode alone, independently of how Framebuffer.Draw wrote it.
func rawFormat(m FBMode) qrtest.RawFormat {
	return qrtest.RawFormat{
		Width: m.Width, Height: m.Height, BitsPerPixel: m.BitsPerPixel, Stride: m.Stride,
		Red: qrtest.Channel(m.Red), Green: qrtest.Channel(m.Green), Blue: qrtest.Channel(m.Blue),
	}
}

func mustParseMode(tb testing.TB, s string) FBMode {
	tb.Helper()
	m, err := ParseFBMode(s)
	if err != nil {
		tb.Fatalf("ParseFBMode(%q): %v", s, err)
	}
	return m
}

func TestFramebufferRawFrameDecodes(t *testing.T) {
	bgr := mustParseMode(t, "800x480x32")
	bgr.Red, bgr.Blue, bgr.Transp = Bitfield{0, 8}, Bitfield{16, 8}, Bitfield{24, 8}
	for _, tc := range []struct {
		name    string
		mode    FBMode
		payload string
	}{
		{"16bpp-rgb565", mustParseMode(t, "800x480x16"), longPayload},
		{"24bpp", mustParseMode(t, "800x480x24"), longPayload},
		{"32bpp-xrgb", mustParseMode(t, "1280x720x32"), longPayload},
		{"32bpp-abgr", bgr, longPayload},
		{"32bpp-padded-stride", mustParseMode(t, "800x480x32:3328"), longPayload},
		{"16bpp-padded-stride-short", mustParseMode(t, "320x240x16:704"), shortPayload},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fb0")
			fb, err := OpenFramebuffer(path, &tc.mode)
			if err != nil {
				t.Fatalf("OpenFramebuffer: %v", err)
			}
			if err := fb.Draw(testScreen(t, tc.payload)); err != nil {
				t.Fatalf("Draw: %v", err)
			}
			if err := fb.Close(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			img := qrtest.RawImage(t, raw, rawFormat(tc.mode))
			// The frame must look like the image every output shares, not merely scan.
			want, err := Render(testScreen(t, tc.payload), tc.mode.Width, tc.mode.Height)
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := firstDifference(img, want, tc.mode); !ok {
				t.Fatalf("pixel %v is %v in the frame, %v in Render's image", p, img.At(p.X, p.Y), want.At(p.X, p.Y))
			}
			qrtest.AssertDecodes(t, qrtest.WritePNG(t, img, tc.name+".png"), tc.payload)
		})
	}
}

// firstDifference compares got with want after rounding want to the mode's channel depths.
func firstDifference(got, want *image.RGBA, m FBMode) (image.Point, bool) {
	round := func(c uint8, bf Bitfield) uint8 {
		top := uint32(1)<<bf.Length - 1
		return uint8(((uint32(c)*top + 127) / 255) * 255 / top)
	}
	for y := 0; y < m.Height; y++ {
		for x := 0; x < m.Width; x++ {
			w, g := want.RGBAAt(x, y), got.RGBAAt(x, y)
			if g.R != round(w.R, m.Red) || g.G != round(w.G, m.Green) || g.B != round(w.B, m.Blue) {
				return image.Pt(x, y), false
			}
		}
	}
	return image.Point{}, true
}

func TestParseFBMode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    FBMode
		wantErr error
	}{
		{in: "800x480x32", want: FBMode{800, 480, 32, 3200, Bitfield{16, 8}, Bitfield{8, 8}, Bitfield{0, 8}, Bitfield{}}},
		{in: "800x480x16:1664", want: FBMode{800, 480, 16, 1664, Bitfield{11, 5}, Bitfield{5, 6}, Bitfield{0, 5}, Bitfield{}}},
		{in: "640x480x24", want: FBMode{640, 480, 24, 1920, Bitfield{16, 8}, Bitfield{8, 8}, Bitfield{0, 8}, Bitfield{}}},
		{in: "800x480x8", wantErr: ErrUnsupportedFormat},
		{in: "800x480x32:100"},
		{in: "800x480"},
		{in: "800x-480x32"},
		{in: "axbxc"},
		{in: "800x480x32:"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFBMode(tc.in)
			if tc.want.Width == 0 {
				if err == nil {
					t.Fatalf("ParseFBMode(%q) = %v, want an error", tc.in, got)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("ParseFBMode(%q) error %v, want %v", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseFBMode(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if again, err := ParseFBMode(got.String()); err != nil || again != got {
				t.Errorf("ParseFBMode(String()) = %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

func TestOpenFramebufferErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFramebuffer(filepath.Join(dir, "missing"), nil); !errors.Is(err, ErrNoFramebuffer) {
		t.Errorf("missing path: %v, want ErrNoFramebuffer", err)
	}
	if _, err := OpenFramebuffer(plain, nil); !errors.Is(err, ErrModeRequired) {
		t.Errorf("plain file without a mode: %v, want ErrModeRequired", err)
	}
	bad := FBMode{Width: 800, Height: 480, BitsPerPixel: 8, Stride: 800}
	if _, err := OpenFramebuffer(plain, &bad); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("8 bpp: %v, want ErrUnsupportedFormat", err)
	}
	small := mustParseMode(t, "64x64x32")
	fb, err := OpenFramebuffer(plain, &small)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	if err := fb.Draw(testScreen(t, longPayload)); !errors.Is(err, ErrTooSmall) {
		t.Errorf("Draw on 64×64: %v, want ErrTooSmall", err)
	}
}

func TestOpenFramebufferPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root opens any file; the permission check cannot fail")
	}
	path := filepath.Join(t.TempDir(), "fb")
	if err := os.WriteFile(path, nil, 0o000); err != nil {
		t.Fatal(err)
	}
	m := mustParseMode(t, "800x480x32")
	_, err := OpenFramebuffer(path, &m)
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("OpenFramebuffer on an unreadable file: %v, want a permission error", err)
	}
	if !strings.Contains(err.Error(), `"video" group`) {
		t.Errorf("permission error %q does not tell the user about the video group", err)
	}
}
