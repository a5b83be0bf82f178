package companion

import (
	"context"
	"runtime"
	"sync"
)

// renderInOrder calls render for 0..n-1 on one goroutine per CPU and emit with each result in
// index order, at most a few results ahead of emit, so that a 10,000-label file renders on
// every core without holding every label in memory. The first error, or the context's end,
// stops it.
func renderInOrder[T any](ctx context.Context, n int, render func(int) (T, error), emit func(int, T) error) error {
	type result struct {
		v   T
		err error
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	// Cancelled before the wait above: the feeder stops, so the workers' jobs end.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	ahead := make(chan struct{}, 2*workers)
	jobs := make(chan int)
	slots := make([]chan result, n)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	wg.Go(func() {
		defer close(jobs)
		for i := range n {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				v, err := render(i)
				slots[i] <- result{v, err}
			}
		})
	}
	for i := range n {
		var r result
		select {
		case r = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		if err := emit(i, r.v); err != nil {
			return err
		}
		<-ahead
	}
	return nil
}
