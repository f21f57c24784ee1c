package report

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/report/fixture"
)

// fakeClock is the console's clock in tests, set by the replay.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time  { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) set(t time.Time) { f.mu.Lock(); f.t = t; f.mu.Unlock() }

func TestSummaryGolden(t *testing.T) {
	for _, d := range drills() {
		t.Run(d.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSummary(&b, d.j, Options{}); err != nil {
				t.Fatal(err)
			}
			golden(t, "summary_"+d.name+".golden", b.Bytes())
		})
	}
}

func TestLiveConsoleGolden(t *testing.T) {
	for _, d := range drills() {
		t.Run(d.name, func(t *testing.T) {
			var out bytes.Buffer
			c := NewConsole(&out, Options{})
			clk := &fakeClock{}
			c.now = clk.now
			fixture.Replay(d.j, c, clk.set)
			if strings.Contains(out.String(), "\x1b") {
				t.Error("plain output without colour contains escape sequences")
			}
			golden(t, "console_"+d.name+".golden", out.Bytes())
		})
	}
}
