package reader

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"testing"

	"github.com/oobtpm/oob/pkg/qr"
)

func TestDecodeRoundTrip(t *testing.T) {
	payloads := []struct {
		name string
		text string
	}{
		{"v1 digits", v1Payload(1)},
		{"legacy JSON", legacyJSON(2)},
		{"UTF-8 label", "OOB1:M123456789 Gerät für Linie 3 ✓"},
	}
	variations := []struct {
		name string
		make func(*image.Gray) image.Image
	}{
		{"plain", func(g *image.Gray) image.Image { return g }},
		{"light on dark", func(g *image.Gray) image.Image { return invertGray(g) }},
		{"rotated 90°", func(g *image.Gray) image.Image { return rotate90(g) }},
		{"tilted 7°", func(g *image.Gray) image.Image {
			return place(g, g.Rect.Dx()+120, g.Rect.Dy()+120, 255, 1, 7, float64(g.Rect.Dx()+120)/2, float64(g.Rect.Dy()+120)/2)
		}},
		{"small in a 1280×720 frame, low contrast, noise", func(g *image.Gray) image.Image {
			f := place(g, 1280, 720, 255, 0.6, 4, 420, 400)
			return lowContrast(f, 80, 160, 10, 3)
		}},
		{"tiny: 1.6 px per module, tilted", func(g *image.Gray) image.Image {
			return place(g, 640, 480, 255, 0.4, 10, 300, 260)
		}},
		{"blurred", func(g *image.Gray) image.Image {
			var p, tmp plane
			p.setGray(g)
			out := image.NewGray(g.Rect)
			blurred := plane{pix: out.Pix}
			blur(&blurred, &tmp, &p, 2)
			return out
		}},
		{"light on dark, small, low contrast", func(g *image.Gray) image.Image {
			f := place(invertGray(g), 1280, 720, 0, 0.7, -3, 640, 360)
			return lowContrast(f, 40, 120, 6, 4)
		}},
	}
	for _, p := range payloads {
		code := encodeForTest(t, p.text)
		img := render(t, code, 4, qr.QuietZone, 0, 255)
		for _, v := range variations {
			t.Run(p.name+"/"+v.name, func(t *testing.T) {
				res, err := Decode(v.make(img))
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if len(res) != 1 {
					t.Fatalf("got %d codes, want 1", len(res))
				}
				if res[0].Text != p.text {
					t.Errorf("Text = %q, want %q", res[0].Text, p.text)
				}
				if string(res[0].Bytes) != p.text {
					t.Errorf("Bytes = %q, want the UTF-8 of the text", res[0].Bytes)
				}
			})
		}
	}
}

func TestDecodeCorners(t *testing.T) {
	code := encodeForTest(t, v1Payload(5))
	const scale = 4
	img := render(t, code, scale, qr.QuietZone, 0, 255)
	// Offset bounds must be reported in the image's own coordinates.
	sub := img.SubImage(image.Rect(3, 5, img.Rect.Dx(), img.Rect.Dy())).(*image.Gray)
	res, err := Decode(sub)
	if err != nil {
		t.Fatal(err)
	}
	lo := qr.QuietZone * scale
	hi := (qr.QuietZone + code.Size()) * scale
	want := [4]image.Point{{lo, lo}, {hi, lo}, {hi, hi}, {lo, hi}}
	for i, c := range res[0].Corners {
		if d := c.Sub(want[i]); d.X*d.X+d.Y*d.Y > 4*4 {
			t.Errorf("corner %d = %v, want within 4 px of %v", i, c, want[i])
		}
	}
}

func TestDecodeSeveralCodes(t *testing.T) {
	a, b := "OOB1:MFIRST", "OOB1:MSECOND"
	ia := render(t, encodeForTest(t, a), 4, qr.QuietZone, 0, 255)
	ib := render(t, encodeForTest(t, b), 4, qr.QuietZone, 0, 255)
	w := ia.Rect.Dx() + ib.Rect.Dx() + 40
	h := max(ia.Rect.Dy(), ib.Rect.Dy()) + 40
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := 0; y < ia.Rect.Dy(); y++ {
		copy(img.Pix[(y+20)*w+10:], ia.Pix[y*ia.Stride:y*ia.Stride+ia.Rect.Dx()])
	}
	for y := 0; y < ib.Rect.Dy(); y++ {
		copy(img.Pix[(y+20)*w+30+ia.Rect.Dx():], ib.Pix[y*ib.Stride:y*ib.Stride+ib.Rect.Dx()])
	}

	res, err := Decode(img)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range res {
		got[r.Text] = true
	}
	if len(res) != 2 || !got[a] || !got[b] {
		t.Errorf("Decode found %d codes %v, want %q and %q", len(res), got, a, b)
	}

	first := Decoder{FirstOnly: true}
	res, err = first.Decode(img)
	if err != nil || len(res) != 1 {
		t.Errorf("FirstOnly: got %d codes, err %v; want 1 code", len(res), err)
	}
}

func TestDecoderFastReusedAcrossFrames(t *testing.T) {
	frame, text := frame1280x720(t)
	var plain image.Image = render(t, encodeForTest(t, text), 4, qr.QuietZone, 0, 255)
	d := Decoder{Effort: Fast, FirstOnly: true}
	for i, img := range []image.Image{plain, frame, plain} {
		res, err := d.Decode(img)
		if err != nil || res[0].Text != text {
			t.Fatalf("frame %d: err %v", i, err)
		}
	}
	res, err := (&Decoder{}).Decode(frame)
	if err != nil || res[0].Text != text {
		t.Fatalf("thorough decode of the 1280×720 frame: %v", err)
	}
}

// TestDecoderLeavesImagesAlone checks that a Decoder reading a gray image in place (rows without
// padding) neither changes it nor writes into it when it decodes the next image, one it must copy
// (a sub-image, whose rows are padded), and that both still read.
func TestDecoderLeavesImagesAlone(t *testing.T) {
	frame, text := frame1280x720(t)
	before := bytes.Clone(frame.Pix)
	code := render(t, encodeForTest(t, text), 4, qr.QuietZone, 0, 255)
	big := image.NewGray(image.Rect(0, 0, code.Rect.Dx()+40, code.Rect.Dy()+40))
	for i := range big.Pix {
		big.Pix[i] = 255
	}
	draw.Draw(big, code.Rect.Add(image.Pt(20, 20)), code, image.Point{}, draw.Src)
	sub := big.SubImage(image.Rect(10, 10, big.Rect.Dx()-10, big.Rect.Dy()-10))
	var d Decoder
	for i, img := range []image.Image{frame, sub, frame} {
		res, err := d.Decode(img)
		if err != nil || res[0].Text != text {
			t.Fatalf("image %d: err %v", i, err)
		}
		if !bytes.Equal(frame.Pix, before) {
			t.Fatalf("after image %d: the 1280×720 frame's pixels changed", i)
		}
	}
}

// hugeImage reports enormous bounds without holding any pixels.
type hugeImage struct{}

func (hugeImage) ColorModel() color.Model { return color.GrayModel }
func (hugeImage) Bounds() image.Rectangle { return image.Rect(0, 0, 1<<20, 1<<20) }
func (hugeImage) At(x, y int) color.Color { return color.White }

func TestDecodeOddImages(t *testing.T) {
	code := encodeForTest(t, "OOB1:MODD")
	g := render(t, code, 3, qr.QuietZone, 0, 255)

	pal := image.NewPaletted(g.Rect, palette.Plan9)
	g16 := image.NewGray16(g.Rect)
	nrgba64 := image.NewNRGBA64(g.Rect)
	for y := 0; y < g.Rect.Dy(); y++ {
		for x := 0; x < g.Rect.Dx(); x++ {
			c := g.GrayAt(x, y)
			pal.Set(x, y, c)
			g16.Set(x, y, c)
			nrgba64.Set(x, y, c)
		}
	}
	ycbcr := image.NewYCbCr(g.Rect, image.YCbCrSubsampleRatio420)
	copy(ycbcr.Y, g.Pix)
	for i := range ycbcr.Cb {
		ycbcr.Cb[i], ycbcr.Cr[i] = 128, 128
	}

	readable := map[string]image.Image{"paletted": pal, "gray16": g16, "nrgba64": nrgba64, "ycbcr": ycbcr}
	for name, img := range readable {
		t.Run(name, func(t *testing.T) {
			res, err := Decode(img)
			if err != nil || res[0].Text != "OOB1:MODD" {
				t.Fatalf("Decode: %v", err)
			}
		})
	}

	unreadable := []struct {
		name string
		img  image.Image
		want error
	}{
		{"1×1", image.NewGray(image.Rect(0, 0, 1, 1)), ErrNotFound},
		{"empty", image.NewRGBA(image.Rectangle{}), ErrNotFound},
		{"blank", image.NewGray(image.Rect(0, 0, 300, 200)), ErrNotFound},
		{"empty palette", image.NewPaletted(image.Rect(0, 0, 64, 64), nil), ErrNotFound},
		{"huge", hugeImage{}, ErrImageTooLarge},
	}
	for _, c := range unreadable {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.img)
			if !errors.Is(err, c.want) {
				t.Errorf("Decode: %v, want %v", err, c.want)
			}
		})
	}
	if _, err := Decode(nil); err == nil {
		t.Error("Decode(nil): no error")
	}
}
