package units

import "testing"

func TestBytesAndRate(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 12345: "12.3 kB", 45_600_000: "45.6 MB", 1_200_000_000: "1.2 GB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
	for mbps, want := range map[float64]string{0: "0.0 MB/s", 0.045: "45.0 kB/s", 28.24: "28.2 MB/s", 312.4: "312 MB/s"} {
		if got := Rate(mbps); got != want {
			t.Errorf("Rate(%v) = %q, want %q", mbps, got, want)
		}
	}
	if got := MBPerSec(3_000_000, 2); got != 1.5 {
		t.Errorf("MBPerSec(3e6, 2s) = %v", got)
	}
	if got := MBPerSec(3_000_000, 0); got != 0 {
		t.Errorf("MBPerSec over no time = %v, want 0", got)
	}
}
