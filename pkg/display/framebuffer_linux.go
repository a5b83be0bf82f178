package display

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl requests and constants from linux/fb.h; x/sys/unix does not define them.
const (
	fbioGetVScreenInfo = 0x4600
	fbioGetFScreenInfo = 0x4602

	fbTypePackedPixels  = 0
	fbVisualTrueColor   = 2
	fbVisualDirectColor = 3
)

// fbBitfield is struct fb_bitfield.
type fbBitfield struct {
	Offset, Length, MSBRight uint32
}

// fbVarScreenInfo is struct fb_var_screeninfo: 160 bytes on every architecture.
type fbVarScreenInfo struct {
	XRes, YRes, XResVirtual, YResVirtual uint32
	XOffset, YOffset                     uint32
	BitsPerPixel, Grayscale              uint32
	Red, Green, Blue, Transp             fbBitfield
	Nonstd, Activate, Height, Width      uint32
	AccelFlags                           uint32
	PixClock, LeftMargin, RightMargin    uint32
	UpperMargin, LowerMargin             uint32
	HSyncLen, VSyncLen, Sync, VMode      uint32
	Rotate, Colorspace                   uint32
	Reserved                             [4]uint32
}

// fbFixScreenInfo is struct fb_fix_screeninfo. The two unsigned longs are uintptr, so Go lays
// it out as C does: 80 bytes on 64-bit systems, 68 on 32-bit ones.
type fbFixScreenInfo struct {
	ID                             [16]byte
	SMemStart                      uintptr
	SMemLen, Type, TypeAux, Visual uint32
	XPanStep, YPanStep, YWrapStep  uint16
	LineLength                     uint32
	MMIOStart                      uintptr
	MMIOLen, Accel                 uint32
	Capabilities                   uint16
	Reserved                       [2]uint16
}

// deviceMode asks the kernel for the framebuffer's geometry and pixel format, and where the
// visible screen starts in its memory.
func deviceMode(f *os.File) (FBMode, int64, error) {
	var v fbVarScreenInfo
	var fix fbFixScreenInfo
	if err := ioctl(f, fbioGetVScreenInfo, unsafe.Pointer(&v)); err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return FBMode{}, 0, fmt.Errorf("%w: %s is a device but not a framebuffer", ErrNoFramebuffer, f.Name())
		}
		return FBMode{}, 0, fmt.Errorf("display: read the screen info of %s: %w", f.Name(), err)
	}
	if err := ioctl(f, fbioGetFScreenInfo, unsafe.Pointer(&fix)); err != nil {
		return FBMode{}, 0, fmt.Errorf("display: read the fixed screen info of %s: %w", f.Name(), err)
	}
	if fix.Type != fbTypePackedPixels || (fix.Visual != fbVisualTrueColor && fix.Visual != fbVisualDirectColor) || v.Grayscale != 0 {
		return FBMode{}, 0, fmt.Errorf("%w: %s has type %d, visual %d, grayscale %d; only packed true-colour pixels are supported",
			ErrUnsupportedFormat, f.Name(), fix.Type, fix.Visual, v.Grayscale)
	}
	bf := func(b fbBitfield) Bitfield { return Bitfield{Offset: int(b.Offset), Length: int(b.Length)} }
	m := FBMode{
		Width:        int(v.XRes),
		Height:       int(v.YRes),
		BitsPerPixel: int(v.BitsPerPixel),
		Stride:       int(fix.LineLength),
		Red:          bf(v.Red),
		Green:        bf(v.Green),
		Blue:         bf(v.Blue),
		Transp:       bf(v.Transp),
	}
	offset := int64(v.YOffset)*int64(fix.LineLength) + int64(v.XOffset)*int64(v.BitsPerPixel/8)
	return m, offset, nil
}

// ioctl runs a request whose argument is a pointer to a struct the kernel fills in.
func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := conn.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
