package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Each client's timings are its own, the warm-up pair is dropped, and which client goes first
// alternates: a drift (the machine warming up, the emulator's store growing) lands on both.
func TestPairsAlternate(t *testing.T) {
	var order []string
	var n time.Duration
	fake := func(name string) client {
		return func(context.Context, mode) (time.Duration, error) {
			order = append(order, name)
			n++
			if name == "node" {
				return n * time.Second, nil
			}
			return n * time.Millisecond, nil
		}
	}
	res, err := pairs(t.Context(), mode{}, 3, fake("ours"), fake("node"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"node", "ours", "ours", "node", "node", "ours", "ours", "node"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if want := []time.Duration{3 * time.Millisecond, 6 * time.Millisecond, 7 * time.Millisecond}; !slices.Equal(res.ours, want) {
		t.Errorf("ours %v, want %v", res.ours, want)
	}
	if want := []time.Duration{4 * time.Second, 5 * time.Second, 8 * time.Second}; !slices.Equal(res.node, want) {
		t.Errorf("node %v, want %v", res.node, want)
	}
}

func TestStatistics(t *testing.T) {
	ds := []time.Duration{9, 1, 5, 3, 7, 2, 8, 4, 6, 10}
	if got := median(ds); got != 5 {
		t.Errorf("median %v, want 5 (5 and 6 halved, rounded down)", got)
	}
	if got := percentile(ds, 0.9); got != 9 {
		t.Errorf("p90 %v, want 9 (the 9th of 10)", got)
	}
	if got := median(ds[:3]); got != 5 {
		t.Errorf("median of 9, 1, 5: %v", got)
	}
	res := results{ours: []time.Duration{10, 20, 40}, node: []time.Duration{100, 100, 100}}
	if got := res.ratio(); got != 5 {
		t.Errorf("ratio %v, want the middle one of 10, 5, 2.5", got)
	}
}
