package companion

import (
	"context"
	"errors"
	"testing"
)

// Labels come out in the file's order however the workers finish, and the first failure
// stops the rest: nothing after it is emitted, and renderInOrder returns (no worker left
// blocked).
func TestRenderInOrder(t *testing.T) {
	var got []int
	err := renderInOrder(context.Background(), 500, func(i int) (int, error) { return i * i, nil },
		func(i, v int) error {
			if v != i*i {
				t.Fatalf("index %d got %d", i, v)
			}
			got = append(got, i)
			return nil
		})
	if err != nil || len(got) != 500 {
		t.Fatalf("%v, %d emitted", err, len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("emitted %d at %d", v, i)
		}
	}
	bad := errors.New("row 37")
	n := 0
	err = renderInOrder(context.Background(), 500, func(i int) (int, error) {
		if i == 37 {
			return 0, bad
		}
		return i, nil
	}, func(i, v int) error { n++; return nil })
	if !errors.Is(err, bad) || n != 37 {
		t.Errorf("%v after %d emitted; want row 37's error after 37", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := renderInOrder(ctx, 500, func(i int) (int, error) { return i, nil }, func(int, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
