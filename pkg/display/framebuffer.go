package display

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Framebuffer errors callers branch on; the errors returned wrap them with the path and what
// to do next.
var (
	// ErrNoFramebuffer means the path does not exist or is not a framebuffer device.
	ErrNoFramebuffer = errors.New("display: no framebuffer")
	// ErrModeRequired means the path is a plain file, which has no geometry to read, and no
	// FBMode was given.
	ErrModeRequired = errors.New("display: framebuffer mode required")
	// ErrUnsupportedFormat means the pixel format is not 16, 24 or 32 bits of packed RGB.
	ErrUnsupportedFormat = errors.New("display: unsupported framebuffer pixel format")
	// ErrNeedsLinux means a framebuffer device was asked for on another system.
	ErrNeedsLinux = errors.New("display: framebuffer output needs Linux")
)

// Bitfield is where one colour channel sits in a pixel value, as in linux/fb.h: Length bits
// starting Offset bits above the least significant bit.
type Bitfield struct {
	Offset, Length int
}

// FBMode is the geometry and pixel format of a framebuffer.
type FBMode struct {
	// Width and Height are the visible resolution in pixels.
	Width, Height int
	// BitsPerPixel is 16, 24 or 32.
	BitsPerPixel int
	// Stride is the length of a line in bytes, at least Width*BitsPerPixel/8; drivers pad
	// lines for alignment.
	Stride int
	// Red, Green and Blue place the channels in the pixel value, which is stored
	// little-endian.
	Red, Green, Blue Bitfield
	// Transp is the alpha channel, if any; it is written fully opaque. Zero length means none.
	Transp Bitfield
}

// DefaultFBMode returns the mode most drivers report for bpp: RGB565 for 16, RGB888 with blue
// in the lowest byte (bytes B, G, R in memory) for 24, and XRGB8888 for 32. The stride is
// unpadded.
func DefaultFBMode(width, height, bpp int) (FBMode, error) {
	m := FBMode{Width: width, Height: height, BitsPerPixel: bpp, Stride: width * bpp / 8}
	switch bpp {
	case 16:
		m.Red, m.Green, m.Blue = Bitfield{11, 5}, Bitfield{5, 6}, Bitfield{0, 5}
	case 24, 32:
		m.Red, m.Green, m.Blue = Bitfield{16, 8}, Bitfield{8, 8}, Bitfield{0, 8}
	default:
		return FBMode{}, fmt.Errorf("%w: %d bits per pixel; 16, 24 and 32 are supported", ErrUnsupportedFormat, bpp)
	}
	return m, m.validate()
}

// ParseFBMode parses WIDTHxHEIGHTxBPP with an optional :STRIDE in bytes, e.g. "800x480x32" or
// "800x480x16:1664", into a mode with the default channel layout for the depth.
func ParseFBMode(s string) (FBMode, error) {
	geometry, stride, hasStride := strings.Cut(s, ":")
	parts := strings.Split(geometry, "x")
	if len(parts) != 3 {
		return FBMode{}, fmt.Errorf("display: framebuffer mode %q: want WIDTHxHEIGHTxBPP[:STRIDE], e.g. 800x480x32", s)
	}
	var n [4]int
	fields := append(parts, stride)
	for i, f := range fields {
		if i == 3 && !hasStride {
			break
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return FBMode{}, fmt.Errorf("display: framebuffer mode %q: %q is not a positive number", s, f)
		}
		n[i] = v
	}
	m, err := DefaultFBMode(n[0], n[1], n[2])
	if err != nil {
		return FBMode{}, fmt.Errorf("display: framebuffer mode %q: %w", s, err)
	}
	if hasStride {
		m.Stride = n[3]
	}
	if err := m.validate(); err != nil {
		return FBMode{}, fmt.Errorf("display: framebuffer mode %q: %w", s, err)
	}
	return m, nil
}

// String formats m as ParseFBMode reads it.
func (m FBMode) String() string {
	return fmt.Sprintf("%dx%dx%d:%d", m.Width, m.Height, m.BitsPerPixel, m.Stride)
}

// validate checks that m describes a packed RGB format this package can write.
func (m FBMode) validate() error {
	if m.BitsPerPixel != 16 && m.BitsPerPixel != 24 && m.BitsPerPixel != 32 {
		return fmt.Errorf("%w: %d bits per pixel; 16, 24 and 32 are supported", ErrUnsupportedFormat, m.BitsPerPixel)
	}
	if m.Width <= 0 || m.Height <= 0 || m.Width > maxSide || m.Height > maxSide {
		return fmt.Errorf("display: framebuffer size %d×%d is outside 1×1 to %d×%d", m.Width, m.Height, maxSide, maxSide)
	}
	if m.Stride > 4*maxSide*2 {
		return fmt.Errorf("display: framebuffer stride %d bytes is implausibly long", m.Stride)
	}
	if m.Stride < m.Width*m.BitsPerPixel/8 {
		return fmt.Errorf("display: framebuffer stride %d bytes is shorter than a line of %d pixels at %d bits",
			m.Stride, m.Width, m.BitsPerPixel)
	}
	for _, c := range []struct {
		name string
		bf   Bitfield
		opt  bool
	}{{"red", m.Red, false}, {"green", m.Green, false}, {"blue", m.Blue, false}, {"alpha", m.Transp, true}} {
		if c.opt && c.bf.Length == 0 {
			continue
		}
		if c.bf.Length < 1 || c.bf.Length > 16 || c.bf.Offset < 0 || c.bf.Offset+c.bf.Length > m.BitsPerPixel {
			return fmt.Errorf("%w: %s channel of %d bits at bit %d in a %d-bit pixel",
				ErrUnsupportedFormat, c.name, c.bf.Length, c.bf.Offset, m.BitsPerPixel)
		}
	}
	return nil
}

// channelTable maps an 8-bit intensity to its bits in a pixel value for bf, rounding to the
// channel's depth. A table per channel makes converting a frame three lookups per pixel.
func channelTable(bf Bitfield) *[256]uint32 {
	var t [256]uint32
	if bf.Length == 0 {
		return &t
	}
	top := uint32(1)<<bf.Length - 1
	for i := range t {
		t[i] = (uint32(i)*top + 127) / 255 << bf.Offset
	}
	return &t
}

// encode converts img, which must be m.Width×m.Height, to m's pixel format: Height lines of
// Stride bytes, the padding at the end of each line zero.
func (m FBMode) encode(img *image.RGBA) []byte {
	r, g, b := channelTable(m.Red), channelTable(m.Green), channelTable(m.Blue)
	opaque := channelTable(m.Transp)[255]
	bytesPP := m.BitsPerPixel / 8
	out := make([]byte, m.Height*m.Stride)
	for y := 0; y < m.Height; y++ {
		src := img.Pix[y*img.Stride : y*img.Stride+4*m.Width]
		dst := out[y*m.Stride : y*m.Stride+bytesPP*m.Width]
		for x := 0; x < m.Width; x++ {
			p := src[4*x : 4*x+3]
			v := r[p[0]] | g[p[1]] | b[p[2]] | opaque
			// Pixel values are in the CPU's byte order, which is little-endian on every
			// platform this agent runs on (x86, arm, arm64, riscv64).
			d := dst[bytesPP*x : bytesPP*x+bytesPP]
			switch bytesPP {
			case 4:
				d[3] = byte(v >> 24)
				fallthrough
			case 3:
				d[2] = byte(v >> 16)
				fallthrough
			default:
				d[1] = byte(v >> 8)
				d[0] = byte(v)
			}
		}
	}
	return out
}

// Framebuffer is a Linux framebuffer device, or a plain file standing in for one, open for
// drawing screens.
type Framebuffer struct {
	f    *os.File
	mode FBMode
	// offset is where the visible screen starts: drivers that pan (double buffering) show
	// a window of a larger virtual screen.
	offset int64
}

// OpenFramebuffer opens the framebuffer at path, usually /dev/fb0. For a device, the geometry
// and pixel format come from the kernel and mode, if given, must agree with them. For any
// other path, mode is required and the file is created or truncated to hold one raw frame,
// which is how tests and image tools stand in for a device.
func OpenFramebuffer(path string, mode *FBMode) (*Framebuffer, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && mode == nil:
		return nil, fmt.Errorf("%w at %s: is a display attached and its driver loaded? "+
			"Show the code on the terminal or write a PNG instead: %w", ErrNoFramebuffer, path, err)
	case errors.Is(err, fs.ErrNotExist):
		return openRaw(path, *mode)
	case err != nil:
		return nil, openError(path, err)
	case info.Mode()&fs.ModeCharDevice != 0:
		return openDevice(path, mode)
	case mode == nil:
		return nil, fmt.Errorf("%w: %s is not a framebuffer device; give a mode such as 800x480x32 to write a raw frame to it",
			ErrModeRequired, path)
	default:
		return openRaw(path, *mode)
	}
}

// openRaw opens a plain file to hold one frame in mode m.
func openRaw(path string, m FBMode) (*Framebuffer, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, openError(path, err)
	}
	return &Framebuffer{f: f, mode: m}, nil
}

// openDevice opens a framebuffer device and reads its mode from the kernel.
func openDevice(path string, want *FBMode) (*Framebuffer, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	m, offset, err := deviceMode(f)
	if err == nil {
		if err = m.validate(); err != nil {
			err = fmt.Errorf("%w (reported by %s)", err, path)
		}
	}
	if err == nil && want != nil && (want.Width != m.Width || want.Height != m.Height || want.BitsPerPixel != m.BitsPerPixel) {
		err = fmt.Errorf("display: %s is %dx%dx%d, not the %dx%dx%d asked for; leave the mode out to use the device's",
			path, m.Width, m.Height, m.BitsPerPixel, want.Width, want.Height, want.BitsPerPixel)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Framebuffer{f: f, mode: m, offset: offset}, nil
}

// openError explains a failure to open path, with the fix for the common one.
func openError(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("display: cannot open %s: permission denied: run as root or add the user to the \"video\" group: %w", path, err)
	}
	return fmt.Errorf("display: open %s: %w", path, err)
}

// Mode returns the framebuffer's geometry and pixel format.
func (fb *Framebuffer) Mode() FBMode { return fb.mode }

// Draw shows s full screen, laid out as Render does, in one write.
func (fb *Framebuffer) Draw(s Screen) error {
	img, err := Render(s, fb.mode.Width, fb.mode.Height)
	if err != nil {
		var tooSmall *TooSmallError
		if errors.As(err, &tooSmall) {
			tooSmall.Output = "framebuffer"
		}
		return err
	}
	if _, err := fb.f.WriteAt(fb.mode.encode(img), fb.offset); err != nil {
		return fmt.Errorf("display: write framebuffer %s: %w", fb.f.Name(), err)
	}
	return nil
}

// Close closes the device or file; what was drawn stays on the screen.
func (fb *Framebuffer) Close() error {
	if err := fb.f.Close(); err != nil {
		return fmt.Errorf("display: close framebuffer: %w", err)
	}
	return nil
}
