package remote

import (
	"fmt"
	"strings"
	"testing"
)

// A Tail keeps the last bytes, however much is written, as one line.
func TestTailKeepsTheLastBytesAsOneLine(t *testing.T) {
	tl := NewTail(64)
	for i := range 100 {
		fmt.Fprintf(tl, "tar: file%03d: Cannot open\n", i)
	}
	got := tl.String()
	if !strings.HasSuffix(got, "tar: file099: Cannot open") || strings.Contains(got, "file095") || strings.Contains(got, "\n") {
		t.Errorf("kept %q; want the last 64 bytes, lines joined by ' ; '", got)
	}
	if len(tl.b) != 64 {
		t.Errorf("kept %d bytes; want 64", len(tl.b))
	}
}
