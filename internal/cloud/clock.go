package cloud

import (
	"context"
	"time"
)

// Clock is the time a provider or WaitReady reads and waits on. nil means
// the machine's (RealClock). Tests pass one that moves only when it is
// waited on: reads spaced a poll apart are then exactly a poll apart
// whatever the machine's load, and a fake provider sharing it bills by
// the time scn records.
type Clock interface {
	Now() time.Time
	// Sleep waits d (nothing when d <= 0), or until ctx ends: then it
	// returns ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the machine's clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d on a timer, or until ctx ends.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ClockOr is c, or RealClock when c is nil.
func ClockOr(c Clock) Clock {
	if c == nil {
		return RealClock{}
	}
	return c
}
