// Package units holds scn's one definition of a size and of a throughput
// as people read them, so that the progress line, an action's line, the
// closing report's tables, the HTML report and the journal agree: sizes in
// decimal units (1 kB = 1000 bytes; small sizes in B or kB, never "0.0
// MB"), throughput in MB/s of 10⁶ bytes, always of the bytes that moved
// (a transfer's stream), over the transfer's own seconds.
package units

import (
	"fmt"
	"math"
)

// Bytes formats a size: "512 B", "12.3 kB", "45.6 MB", "1.2 GB".
func Bytes(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "kB", "MB", "GB", "TB"} {
		if math.Abs(f) < 1000 || u == "TB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1000
	}
	return ""
}

// MBPerSec is the throughput of bytes moved in seconds, in MB (10⁶
// bytes) per second; 0 when no time passed.
func MBPerSec(bytes int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / seconds
}

// Rate formats a throughput in MB/s: "28.2 MB/s", "312 MB/s", and below
// 0.1 MB/s in kB/s, "45.0 kB/s", rather than "0.0 MB/s".
func Rate(mbps float64) string {
	switch {
	case mbps >= 100:
		return fmt.Sprintf("%.0f MB/s", mbps)
	case mbps > 0 && mbps < 0.1:
		return fmt.Sprintf("%.1f kB/s", mbps*1000)
	}
	return fmt.Sprintf("%.1f MB/s", mbps)
}
