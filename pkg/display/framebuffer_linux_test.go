package display

import (
	"errors"
	"testing"
	"unsafe"
)

// The structs must match linux/fb.h byte for byte, or the kernel writes past them.
func TestFBStructLayout(t *testing.T) {
	if got := unsafe.Sizeof(fbVarScreenInfo{}); got != 160 {
		t.Errorf("fb_var_screeninfo is %d bytes, want 160", got)
	}
	// Sizes and the offset of line_length, as gcc lays the structs out.
	wantSize, wantLine := uintptr(68), uintptr(44)
	if unsafe.Sizeof(uintptr(0)) == 8 {
		wantSize, wantLine = 80, 48
	}
	if got := unsafe.Sizeof(fbFixScreenInfo{}); got != wantSize {
		t.Errorf("fb_fix_screeninfo is %d bytes, want %d", got, wantSize)
	}
	if got := unsafe.Offsetof(fbFixScreenInfo{}.LineLength); got != wantLine {
		t.Errorf("line_length is at offset %d, want %d", got, wantLine)
	}
}

// /dev/null is a character device that answers ioctls with ENOTTY, as any non-framebuffer
// device would.
func TestOpenFramebufferNotAFramebuffer(t *testing.T) {
	_, err := OpenFramebuffer("/dev/null", nil)
	if !errors.Is(err, ErrNoFramebuffer) {
		t.Fatalf("OpenFramebuffer(/dev/null) = %v, want ErrNoFramebuffer", err)
	}
}
