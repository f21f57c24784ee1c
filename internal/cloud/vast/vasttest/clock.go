package vasttest

import (
	"context"
	"sync"
	"time"
)

// SimClock is a clock that moves only when a test advances it or
// something sleeps on it (a sleep returns at once, the clock d later). Its
// Now is an Options.Clock, and it is a cloud.Clock for scn's provider
// (vast.Config.Clock) and wait (cloud.WaitOptions.Clock): shared by both,
// a status poll is exactly a poll after the one before and no time passes
// between VAST answering a read and scn noting it, however loaded the
// machine, so a bill is compared exactly. The flows it times wait one at
// a time.
type SimClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewSimClock starts at a fixed instant.
func NewSimClock() *SimClock { return &SimClock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock d on.
func (c *SimClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep moves the clock d on, unless ctx has ended: then it returns ctx's
// error. As cloud.RealClock, nothing when d <= 0, whether ctx ended or not.
func (c *SimClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}
