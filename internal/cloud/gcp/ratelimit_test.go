package gcp_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
)

// A used-up rate quota refills only at the start of the next interval
// (a minute on Compute Engine; 30 polls here): scn waits that out once
// instead of spending its retries within the same interval and failing.
//
// The quota's clock moves only by the waits scn asks for (OnRetry is told
// each one just before it), never by time spent: retries that come back
// sooner than a quota interval are refused however slow or fast the
// machine, and the wait is read as asked for, not timed.
func TestRateLimitIsWaitedOut(t *testing.T) {
	const poll = 10 * time.Millisecond
	interval := 30 * poll // a minute at the default 2 s poll
	var (
		mu      sync.Mutex
		waits   []time.Duration
		elapsed time.Duration // the quota clock: the waits asked for so far
	)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newRig(t, func(c *gcp.Config) {
		c.PollInterval = poll
		c.OnRetry = func(_ error, wait time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, wait)
			elapsed += wait
		}
	})
	r.fake.QuotaClock = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return start.Add(elapsed)
	}
	r.fake.RateLimitFor(interval) // used up now: refilled an interval from now
	_, err := r.p.Get(r.ctx, "scn-absent")
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 1 || waits[0] < interval {
		t.Errorf("waits before retrying %v: want one of a quota interval (%v) at least", waits, interval)
	}
	if !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("Get under a used-up rate quota: %v, want the VM's 404 once the quota refilled", err)
	}
	if n := len(r.fake.Calls()); n != 2 {
		t.Fatalf("%d calls: want one refused and one after the quota interval", n)
	}
}
