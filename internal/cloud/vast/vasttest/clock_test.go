package vasttest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// SimClock sleeps as cloud.RealClock does, only without waiting: nothing
// for d <= 0 even once ctx ended, ctx's error (and no time passing) for a
// longer sleep then.
func TestSimClockSleepsAsTheRealOne(t *testing.T) {
	var _ cloud.Clock = (*vasttest.SimClock)(nil)
	clk := vasttest.NewSimClock()
	start := clk.Now()
	ctx, cancel := context.WithCancel(context.Background())
	if err := clk.Sleep(ctx, time.Minute); err != nil || clk.Now().Sub(start) != time.Minute {
		t.Fatalf("a minute's sleep: %v, %v later", err, clk.Now().Sub(start))
	}
	cancel()
	for _, c := range []struct {
		clock cloud.Clock
		d     time.Duration
	}{{clk, 0}, {clk, -time.Second}, {cloud.RealClock{}, 0}} {
		if err := c.clock.Sleep(ctx, c.d); err != nil {
			t.Errorf("%T: a sleep of %v once ctx ended: %v, want nil", c.clock, c.d, err)
		}
	}
	for _, c := range []cloud.Clock{clk, cloud.RealClock{}} {
		if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("%T: an hour's sleep once ctx ended: %v, want context.Canceled", c, err)
		}
	}
	if d := clk.Now().Sub(start); d != time.Minute {
		t.Errorf("the clock moved %v, want a minute: sleeps after ctx ended passed time", d)
	}
}
