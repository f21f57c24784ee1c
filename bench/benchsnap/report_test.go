package main

import (
	"testing"
	"time"
)

// A ratio is printed rounded down: a goal missed by a hair never reads as
// the goal itself.
func TestRatiosAreRoundedDown(t *testing.T) {
	for v, want := range map[float64]string{401.1 / 268.3: "1.49x", 1.5: "1.50x", 3.26: "3.26x", 0.7: "0.70x", 2.999: "2.99x"} {
		if got := times(v); got != want {
			t.Errorf("times(%v) = %s, want %s", v, got, want)
		}
	}
}

// The steal column is the eighth number of /proc/stat's "cpu" line, in
// clock ticks; a line without it (old kernels) or another line gives 0.
func TestParseSteal(t *testing.T) {
	for line, want := range map[string]time.Duration{
		"cpu  1106975 929 405887 11339922 40137 0 15781 2408 0 0": 2408 * time.Second / clockTicks,
		"cpu  1106975 929 405887 11339922 40137 0 15781":          0,
		"cpu0 549277 451 184563 5707296 7045 0 5023 1212 0 0":     0,
		"cpu  1 2 3 4 5 6 7 x 0 0":                                0,
	} {
		if got := parseSteal(line); got != want {
			t.Errorf("parseSteal(%q) = %v, want %v", line, got, want)
		}
	}
}
