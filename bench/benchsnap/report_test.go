package main

import "testing"

// A ratio is printed rounded down: a goal missed by a hair never reads as
// the goal itself.
func TestRatiosAreRoundedDown(t *testing.T) {
	for v, want := range map[float64]string{401.1 / 268.3: "1.49x", 1.5: "1.50x", 3.26: "3.26x", 0.7: "0.70x", 2.999: "2.99x"} {
		if got := times(v); got != want {
			t.Errorf("times(%v) = %s, want %s", v, got, want)
		}
	}
}
