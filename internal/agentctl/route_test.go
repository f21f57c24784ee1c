package agentctl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A store a machine could not reach is refused for that machine and store
// only, until the agent is due again: 2 minutes, then twice as long after
// each failed try, at most 32; reaching it forgets the verdict.
func TestUnreachableBacksOff(t *testing.T) {
	clock := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	l := New(Binaries{})
	l.now = func() time.Time { return clock }
	const st = "s3://drills at https://b2.example"
	fail := func() {
		l.Unreachable("m7", st, fmt.Errorf("%w: the machine cannot reach the store: dial tcp: i/o timeout", ErrUnavailable))
	}
	// due says the agent is refused now and tried again after d.
	due := func(d time.Duration) {
		t.Helper()
		clock = clock.Add(d - time.Second)
		err := l.Refused("m7", st)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "i/o timeout") ||
			!strings.Contains(err.Error(), "again from "+clock.Add(time.Second).Format(time.TimeOnly)) {
			t.Fatalf("a second before the retry: %v", err)
		}
		clock = clock.Add(time.Second)
		if err := l.Refused("m7", st); err != nil {
			t.Fatalf("at the retry (after %s): %v", d, err)
		}
	}

	fail()
	if err := l.Refused("m8", st); err != nil {
		t.Errorf("another machine: %v", err)
	}
	if err := l.Refused("m7", "dir /srv/snapshots"); err != nil {
		t.Errorf("another store: %v", err)
	}
	due(2 * time.Minute)
	for _, wait := range []time.Duration{4, 8, 16, 32, 32} {
		fail()
		due(wait * time.Minute)
	}
	fail()
	l.Reached("m7", st)
	if err := l.Refused("m7", st); err != nil {
		t.Fatalf("after the store was reached: %v", err)
	}
	fail()
	due(2 * time.Minute) // the back-off starts over

	l.Unreachable("", st, ErrUnavailable)
	if err := l.Refused("", st); err != nil {
		t.Errorf("an unnamed machine is remembered: %v", err)
	}
}
