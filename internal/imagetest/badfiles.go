package imagetest

import (
	"os"
	"path/filepath"
	"testing"
)

// BadFiles are files of each kind an image reader must refuse, in one folder, named so that
// they sort before frame-*.png: a bomb (20000×20000 RGBA16), an empty file, text named as a
// JPEG, a folder named as a PNG, and a FIFO named as a PNG ("" where the system has none).
type BadFiles struct {
	Bomb, Empty, Text, Dir, FIFO string
}

// MakeBadFiles makes BadFiles in dir.
func MakeBadFiles(tb testing.TB, dir string) BadFiles {
	tb.Helper()
	b := BadFiles{
		Bomb:  filepath.Join(dir, "bad-1-bomb.png"),
		Empty: filepath.Join(dir, "bad-3-empty.png"),
		Text:  filepath.Join(dir, "bad-4-notes.jpg"),
		Dir:   filepath.Join(dir, "bad-5-folder.png"),
	}
	WriteBomb(tb, b.Bomb, 20000, 20000, RGBA16)
	for _, err := range []error{
		os.WriteFile(b.Empty, nil, 0o644),
		os.WriteFile(b.Text, []byte("hello\n"), 0o644),
		os.Mkdir(b.Dir, 0o755),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	b.FIFO = makeFIFO(tb, filepath.Join(dir, "bad-2-fifo.png"))
	return b
}

// UnblockFIFO releases a reader waiting on the FIFO, if one is, so that a test that opened it
// (the failure under test) can end. It never waits itself.
func (b BadFiles) UnblockFIFO() {
	if b.FIFO != "" {
		unblockFIFO(b.FIFO)
	}
}

// Refusal is one file a reader must refuse and the words its refusal must hold.
type Refusal struct {
	Path, Says string
}

// Refusals lists each bad file, and /dev/null where the system has it, with what its refusal
// says: which file, and what it is.
func (b BadFiles) Refusals() []Refusal {
	r := []Refusal{
		{b.Bomb, b.Bomb + ": image too large: 20000×20000 pixels, at most 67108864 (8192×8192): crop or scale it down"},
		{b.Empty, b.Empty + " is empty"},
		{b.Text, b.Text + ": not a readable image (PNG, JPEG or GIF)"},
		{b.Dir, b.Dir + " is a directory, not an image file"},
	}
	if b.FIFO != "" {
		r = append(r, Refusal{b.FIFO, b.FIFO + " is a named pipe (FIFO), not a regular file"})
	}
	if os.DevNull == "/dev/null" {
		r = append(r, Refusal{os.DevNull, os.DevNull + " is a character device, not a regular file"})
	}
	return r
}
