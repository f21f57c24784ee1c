package agentctl

import (
	"fmt"
	"time"
)

// A machine that could not reach a store — a firewall that drops its
// packets, no route, a certificate it does not trust — will most likely
// not reach it a minute later either, and finding that out again costs an
// agent's start, its probe of the store (up to 30 s when packets are
// dropped) and, for a snapshot, an upload started and aborted: on every
// snapshot and every standby cycle of a drill. So the Launcher remembers
// the verdict per machine and store, and the bytes go through scn at once
// until the agent is tried again: after firstRetry, then twice as long
// after each failed try up to maxRetry, so an outage that passes sends a
// few minutes of a drill through scn, not the whole drill. A try that
// reaches the store forgets the verdict.
const (
	firstRetry = 2 * time.Minute
	maxRetry   = 32 * time.Minute
)

// route is a machine and a store (its String: where it is, no secret).
type route struct{ machine, store string }

// noRoute is what the Launcher remembers of a route that failed.
type noRoute struct {
	err   error     // as the agent said it, wrapping ErrUnavailable
	at    time.Time // when
	retry time.Time // when the agent is tried again
}

// Unreachable remembers that the agent on machine could not reach store
// (err wraps ErrUnavailable and says why): Refused answers for the route
// until the agent is due to be tried again. An unnamed machine ("") is
// not remembered.
func (l *Launcher) Unreachable(machine, store string, err error) {
	if machine == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := route{machine, store}
	wait := firstRetry
	if prev, ok := l.noRoutes[r]; ok {
		wait = min(2*prev.retry.Sub(prev.at), maxRetry)
	}
	at := l.now()
	l.noRoutes[r] = noRoute{err: err, at: at, retry: at.Add(wait)}
}

// Reached forgets that machine could not reach store: its agent just did.
func (l *Launcher) Reached(machine, store string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.noRoutes, route{machine, store})
}

// Refused is why scn's agent cannot move the bytes between machine and
// store (a store of "" asks about the machine only), as scn found out
// before, or nil: no agent runs on the machine (see Start), or the
// machine could not reach the store and is not yet due to be tried again.
// The error wraps ErrUnavailable, and a caller can skip what it would do
// only for an agent, such as starting an upload.
func (l *Launcher) Refused(machine, store string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.refused[machine]; err != nil {
		return err
	}
	v, ok := l.noRoutes[route{machine, store}]
	if !ok || !l.now().Before(v.retry) {
		return nil
	}
	return fmt.Errorf("%w (found at %s; scn tries its agent there again from %s)",
		v.err, v.at.Format(time.TimeOnly), v.retry.Format(time.TimeOnly))
}
