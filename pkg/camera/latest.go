package camera

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is what Next returns once the source has been closed.
var ErrClosed = errors.New("camera: source closed")

// Latest drops stale frames from a live source: it reads the source as fast as frames come,
// always keeping only the newest, and Next hands over the newest frame not yet handed over,
// waiting for one when there is none. A consumer slower than the camera therefore works on a
// frame at most one frame old instead of falling behind a queue; Dropped counts the frames it
// never saw. Files and videos are read at the consumer's pace instead, without Latest.
type Latest struct {
	src    Source
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{} // a token when a frame or the end arrived

	mu      sync.Mutex
	frame   *Frame
	err     error
	dropped int
	closed  bool
}

// NewLatest starts reading src; Close stops it and closes src.
func NewLatest(src Source) *Latest {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Latest{src: src, cancel: cancel, done: make(chan struct{}), ready: make(chan struct{}, 1)}
	go l.run(ctx)
	return l
}

func (l *Latest) run(ctx context.Context) {
	defer close(l.done)
	for {
		f, err := l.src.Next(ctx)
		l.mu.Lock()
		if err != nil {
			if ctx.Err() != nil {
				err = ErrClosed
			}
			l.err = err
		} else {
			if l.frame != nil {
				l.dropped++
			}
			l.frame = &f
		}
		l.mu.Unlock()
		select {
		case l.ready <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// Next returns the newest frame not yet returned. After the source's last frame it returns the
// source's error (io.EOF for a finite one), and ErrClosed after Close.
func (l *Latest) Next(ctx context.Context) (Frame, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return Frame{}, ErrClosed
		}
		if f := l.frame; f != nil {
			l.frame = nil
			l.mu.Unlock()
			return *f, nil
		}
		if err := l.err; err != nil {
			l.mu.Unlock()
			return Frame{}, err
		}
		l.mu.Unlock()
		select {
		case <-l.ready:
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// Dropped is how many frames the source delivered that Next never returned.
func (l *Latest) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Close stops reading, closes the source and waits for the reader to stop.
func (l *Latest) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	select { // wake a Next that is waiting
	case l.ready <- struct{}{}:
	default:
	}
	l.cancel()
	err := l.src.Close()
	<-l.done
	return err
}
