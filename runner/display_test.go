package runner

import "testing"

// What a check shows of the values it compared reads like a report, not
// like a float's every bit; a template keeps every digit.
func TestShownValuesAreReadable(t *testing.T) {
	scope := map[string]any{"phase": 0.53962339, "cost": 0.000012345678, "n": 3, "big": 1234567.891, "limit": 900.0, "tiny": 0.1 + 0.2,
		"over": 120.0002, "nearly": 0.9999996, "neg": -2.718281828}
	for src, want := range map[string]string{
		"phase": "0.539623", "cost": "0.0000123457", "n": "3", "big": "1234567.891", "limit": "900", "tiny": "0.3",
		// Rounded, these would read as the round number a threshold is
		// written as: shown whole.
		"over": "120.0002", "nearly": "0.9999996", "neg": "-2.71828",
	} {
		if got, ok := subValue(src, scope, nil); !ok || got != want {
			t.Errorf("%s shown as %q, want %q", src, got, want)
		}
	}
	if got := formatValue(0.53962339); got != "0.53962339" {
		t.Errorf("a template gives %q, want every digit", got)
	}
}
