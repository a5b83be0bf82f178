package display

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
)

func TestRenderPNGDecodes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		payload       string
		width, height int
	}{
		{"v12-default", longPayload, 0, 0},
		{"short-default", shortPayload, 0, 0},
		{"v12-portrait", longPayload, 480, 800},
		{"v12-1080p", longPayload, 1920, 1080},
		{"v12-tiny", longPayload, 200, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderPNG(&buf, testScreen(t, tc.payload), PNGOptions{Width: tc.width, Height: tc.height}); err != nil {
				t.Fatalf("RenderPNG: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("png.Decode: %v", err)
			}
			wantW, wantH := tc.width, tc.height
			if wantW == 0 {
				wantW, wantH = DefaultPNGWidth, DefaultPNGHeight
			}
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Fatalf("image is %v, want %d×%d", b, wantW, wantH)
			}
			path := filepath.Join(t.TempDir(), tc.name+".png")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			qrtest.Keep(t, path)
			qrtest.AssertDecodes(t, path, tc.payload)
		})
	}
}

func TestRenderTooSmallImage(t *testing.T) {
	s := testScreen(t, longPayload) // 65 modules + 8 of quiet zone
	_, err := Render(s, 72, 400)
	var tooSmall *TooSmallError
	if !errors.Is(err, ErrTooSmall) || !errors.As(err, &tooSmall) {
		t.Fatalf("Render(72×400) error = %v, want ErrTooSmall", err)
	}
	if tooSmall.NeedWidth != 73 || tooSmall.HaveWidth != 72 {
		t.Errorf("TooSmallError = %+v, want need 73 have 72", tooSmall)
	}
	if _, err := Render(s, 73, 73); err != nil {
		t.Errorf("Render(73×73) = %v, want the bare code at one pixel per module", err)
	}
}

func TestRenderNoCode(t *testing.T) {
	if _, err := Render(Screen{Title: "x"}, 800, 480); !errors.Is(err, ErrNoCode) {
		t.Fatalf("Render without a code: %v, want ErrNoCode", err)
	}
}
