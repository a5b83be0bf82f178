package qrtest

import (
	"image"
	"image/color"
	"testing"
)

// Channel is where one colour channel sits in a pixel value: Length bits starting Offset bits
// above the least significant bit, as in linux/fb.h.
type Channel struct {
	Offset, Length int
}

// RawFormat is the layout of a raw framebuffer frame: Height lines of Stride bytes, each
// pixel BitsPerPixel/8 bytes holding a little-endian value with the channels at Red, Green
// and Blue.
type RawFormat struct {
	Width, Height, BitsPerPixel, Stride int
	Red, Green, Blue                    Channel
}

// XRGB8888 is the 32 bpp layout most drivers report: bytes B, G, R, unused in memory.
func XRGB8888(width, height int) RawFormat {
	return RawFormat{Width: width, Height: height, BitsPerPixel: 32, Stride: 4 * width,
		Red: Channel{16, 8}, Green: Channel{8, 8}, Blue: Channel{0, 8}}
}

// RGB565 is the 16 bpp layout most drivers report: 5 bits red, 6 green, 5 blue.
func RGB565(width, height int) RawFormat {
	return RawFormat{Width: width, Height: height, BitsPerPixel: 16, Stride: 2 * width,
		Red: Channel{11, 5}, Green: Channel{5, 6}, Blue: Channel{0, 5}}
}

// RawImage turns a raw frame into the picture a screen with format f would show, using only
// the format: an independent reading of what a program wrote to a framebuffer.
func RawImage(tb testing.TB, raw []byte, f RawFormat) *image.RGBA {
	tb.Helper()
	if len(raw) != f.Height*f.Stride {
		tb.Fatalf("raw frame is %d bytes, want %d lines of %d", len(raw), f.Height, f.Stride)
	}
	bpp := f.BitsPerPixel / 8
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	channel := func(v uint32, c Channel) uint8 {
		top := uint32(1)<<c.Length - 1
		return uint8(v >> c.Offset & top * 255 / top)
	}
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			var v uint32
			for i := bpp - 1; i >= 0; i-- {
				v = v<<8 | uint32(raw[y*f.Stride+x*bpp+i])
			}
			img.SetRGBA(x, y, color.RGBA{channel(v, f.Red), channel(v, f.Green), channel(v, f.Blue), 0xff})
		}
	}
	return img
}
