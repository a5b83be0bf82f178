package camera

import (
	"context"
	"errors"
	"image"
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// live is a Source that delivers the frames a test pushes, as a camera delivers them whether or
// not anyone reads.
type live struct {
	frames chan Frame
	end    chan error
	closed chan struct{}
}

func newLive() *live {
	return &live{frames: make(chan Frame), end: make(chan error, 1), closed: make(chan struct{})}
}

func (l *live) Next(ctx context.Context) (Frame, error) {
	select {
	case f := <-l.frames:
		return f, nil
	case err := <-l.end:
		return Frame{}, err
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	case <-l.closed:
		return Frame{}, errors.New("closed")
	}
}

func (l *live) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}

// push hands the source n frames numbered from seq, each taken by Latest's reader before the
// next is offered.
func (l *live) push(t *testing.T, seq, n int) {
	t.Helper()
	for i := range n {
		select {
		case l.frames <- Frame{Seq: seq + i, Image: image.NewGray(image.Rect(0, 0, 1, 1))}:
		case <-time.After(5 * time.Second):
			t.Fatal("Latest stopped reading its source")
		}
	}
}

// A consumer that falls behind gets the newest frame, never a queue of old ones; every frame it
// did not get is counted. The test runs in a synctest bubble, so synctest.Wait means every
// goroutine (Latest's reader, the consumer) is blocked with nothing left to do.
func TestLatestDropsStaleFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newLive()
		l := NewLatest(src)
		defer l.Close()
		ctx := context.Background()

		src.push(t, 1, 5) // the consumer was busy for five frames
		synctest.Wait()
		if d := l.Dropped(); d != 4 {
			t.Fatalf("Dropped = %d after five unread frames, want 4", d)
		}
		f, err := l.Next(ctx)
		if err != nil || f.Seq != 5 {
			t.Fatalf("Next = frame %d, %v; want the newest, 5", f.Seq, err)
		}

		// Keeping up: nothing dropped, each frame once.
		for seq := 6; seq <= 8; seq++ {
			src.push(t, seq, 1)
			if f, err := l.Next(ctx); err != nil || f.Seq != seq {
				t.Fatalf("Next = frame %d, %v; want %d", f.Seq, err, seq)
			}
		}
		if d := l.Dropped(); d != 4 {
			t.Errorf("Dropped = %d, want 4", d)
		}

		// Nothing new: Next waits (the bubble's clock only moves once everything is blocked),
		// and gives up with ctx.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := l.Next(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Next with no new frame = %v, want the context's deadline", err)
		}

		// The end: the last frame first, then the source's error.
		src.push(t, 9, 1)
		src.end <- io.EOF
		if f, err := l.Next(ctx); err != nil || f.Seq != 9 {
			t.Fatalf("Next = frame %d, %v; want the last frame, 9", f.Seq, err)
		}
		if _, err := l.Next(ctx); err != io.EOF {
			t.Fatalf("Next after the end = %v, want io.EOF", err)
		}
	})
}

// Close ends a Next that is waiting, and closes the source. synctest.Wait returns only once the
// consumer's Next is durably blocked, so the test proves Next was waiting when Close came.
func TestLatestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newLive()
		l := NewLatest(src)
		errc := make(chan error, 1)
		go func() {
			_, err := l.Next(context.Background())
			errc <- err
		}()
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Next returned %v with no frame and no Close; want it to wait", err)
		default:
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("Next after Close = %v, want ErrClosed", err)
			}
		default:
			t.Fatal("Next kept waiting after Close")
		}
		select {
		case <-src.closed:
		default:
			t.Error("the source was not closed")
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}
