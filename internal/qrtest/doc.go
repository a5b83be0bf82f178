// Package qrtest is test support for the project's QR outputs: it plays terminal output onto a
// grid of cells, turns half-block cells and raw framebuffer frames into images, runs programs
// on a real terminal (tmux) and reads pictures with the reference decoders (zbarimg,
// ZXingReader). Tests import it; no program does (imports_test.go checks that).
package qrtest
