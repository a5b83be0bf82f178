package display

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
)

// Colours of the image outputs: pure black on pure white gives the code the most contrast a
// camera can see, whatever the panel's gamma.
var (
	paper = color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	ink   = color.RGBA{A: 0xff}
)

// maxSide bounds image and framebuffer sizes: far above any panel (8K is 7680×4320), it
// keeps a mistyped size from allocating gigabytes.
const maxSide = 16384

// Render draws s on a new width×height image: white background, the code with its quiet zone
// at the largest integer module scale that fits beside or above the text, and the title,
// registration ID and status in Go Mono sized to the screen. The PNG and framebuffer outputs
// both draw this image. It returns a *TooSmallError when the code does not fit at one pixel
// per module.
func Render(s Screen, width, height int) (*image.RGBA, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if width <= 0 || height <= 0 || width > maxSide || height > maxSide {
		return nil, fmt.Errorf("display: image size %d×%d is outside 1×1 to %d×%d", width, height, maxSide, maxSide)
	}
	l, err := planImage(&s, width, height)
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Rect, image.NewUniform(paper), image.Point{}, draw.Src)
	drawCode(img, &s, l)
	if err := drawText(img, l); err != nil {
		return nil, err
	}
	return img, nil
}

// drawCode fills the dark modules; the quiet zone is the background already.
func drawCode(img *image.RGBA, s *Screen, l *imageLayout) {
	n := s.side()
	for my := 0; my < n; my++ {
		for mx := 0; mx < n; mx++ {
			if !s.dark(mx, my) {
				continue
			}
			r := image.Rect(0, 0, l.scale, l.scale).Add(l.code.Add(image.Pt(mx*l.scale, my*l.scale)))
			draw.Draw(img, r, image.NewUniform(ink), image.Point{}, draw.Src)
		}
	}
}

// drawText draws the laid-out lines with faces of the planned size.
func drawText(img *image.RGBA, l *imageLayout) error {
	if len(l.lines) == 0 {
		return nil
	}
	regular, err := newFace(float64(l.px), false)
	if err != nil {
		return err
	}
	defer regular.Close()
	bold, err := newFace(float64(l.px), true)
	if err != nil {
		return err
	}
	defer bold.Close()
	d := font.Drawer{Dst: img, Src: image.NewUniform(ink)}
	for _, ln := range l.lines {
		d.Face = regular
		if ln.bold {
			d.Face = bold
		}
		d.Dot = fixedPoint(ln.x, ln.y)
		d.DrawString(ln.text)
	}
	return nil
}
