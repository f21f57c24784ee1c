package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WaitOptions tunes WaitReady.
type WaitOptions struct {
	// Interval between status polls; providers with rate limits (VAST) want
	// a few seconds. Default 3s.
	Interval time.Duration
	// ProbeInterval is the cadence of SSH probes once the provider has
	// given an address: probes cost the provider nothing, so they run
	// between its polls and readiness is seen within a second of SSH
	// answering. Default and maximum 1s.
	ProbeInterval time.Duration
	// Timeout for the whole wait; 0 means only ctx bounds it.
	Timeout time.Duration
	// Probe checks the machine answers over SSH (runs `echo`). It is called
	// every ProbeInterval as soon as a status read gives an address, even
	// while the provider still says loading: its status lags the machine
	// (VAST reports the host's last heartbeat), and the ready time is when
	// SSH answered, not when a later read said running.
	Probe func(ctx context.Context, inst *Instance) error
	// Probes is how many consecutive successful probes make the instance
	// ready. Default 2: a single answer right after boot is not trusted.
	Probes int
	// OnPoll, when set, is told about every poll so the console can show
	// "waiting for SSH on instance 42 (loading, 35s)".
	OnPoll func(inst *Instance, elapsed time.Duration, note string)
	// Clock spaces the polls and probes and times RunningAt and ReadyAt;
	// nil is the machine's. The Timeout and OnPoll's elapsed are real time.
	Clock Clock
}

// MaxProbeInterval is the slowest SSH probe cadence WaitReady allows: the
// ready time it reports is within this of when SSH first answered.
const MaxProbeInterval = time.Second

// WaitReady polls p every Interval and, once a read gives the instance an
// SSH address, probes that address (without asking p) every ProbeInterval
// between the polls. The instance is ready when Probes probes in a row
// have answered and a read says running — in either order: a read saying
// running comes up to an Interval after the machine answers. The instance
// returned has ReadyAt set to the start of the first probe of that
// successful run, so status reads' spacing never delays the ready time,
// and RunningAt to when the first read saying running was asked for (a
// provider spacing its reads may send it a little later). A
// fatal status (exited, stopped, offline, unknown, gone) or a status
// message that reports an error ends the wait with an
// *InstanceFailedError, as does the timeout; the caller destroys the
// instance.
func WaitReady(ctx context.Context, p Provider, id string, o WaitOptions) (*Instance, error) {
	if o.Interval <= 0 {
		o.Interval = 3 * time.Second
	}
	if o.ProbeInterval <= 0 || o.ProbeInterval > MaxProbeInterval {
		o.ProbeInterval = MaxProbeInterval
	}
	if o.Probes <= 0 {
		o.Probes = 2
	}
	w := &waiter{o: o, id: id, start: time.Now(), clock: ClockOr(o.Clock)}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	for {
		polled := w.clock.Now()
		inst, err := p.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, &InstanceFailedError{ID: id, Status: StatusGone, Msg: "the provider no longer knows this instance"}
		case err != nil && ctx.Err() == nil:
			w.note = "status: " + err.Error() // transient: providers retry their own API errors
		case err == nil:
			if inst.Status == StatusRunning && w.runningAt.IsZero() {
				// When the read was asked for: at most one poll after the
				// provider started running it (and no later than the read
				// itself, which a provider may space), so a bill from here
				// lacks at most a poll of GPU time — far closer than
				// billing the loading from creation.
				w.runningAt = polled
			}
			inst.RunningAt = w.runningAt // on every record returned, ready or given up
			w.last = inst
			if Fatal(inst.Status) || msgIsError(inst.StatusMsg) {
				return inst, &InstanceFailedError{ID: id, Status: inst.Status, Msg: inst.StatusMsg}
			}
			w.note = inst.Status
			switch {
			case inst.Host == "" || inst.Port <= 0:
			case o.Probe == nil:
				if inst.Status == StatusRunning {
					ready := *inst
					ready.ReadyAt = polled
					return &ready, nil
				}
			default:
				if ready := w.probe(ctx, inst, polled); ready != nil {
					return ready, nil
				}
			}
		}
		w.report()
		if err := w.sleep(ctx, polled.Add(o.Interval).Sub(w.clock.Now())); err != nil {
			return w.last, err
		}
	}
}

// waiter is the state of one WaitReady.
type waiter struct {
	o       WaitOptions
	id      string
	start   time.Time // real time: the Timeout's
	clock   Clock
	last    *Instance
	note    string
	addr    string    // the address probed
	ok      int       // consecutive successful probes of addr
	firstOK time.Time // when the first of them started
	// runningAt is when the first read saying running was asked for.
	runningAt time.Time
}

// probe probes inst's SSH every ProbeInterval until the instance is ready
// (returned) or the next status poll is due (nil). A run of answers goes
// on across polls while the address stays the same, so answers seen
// before a read says running count from when they came.
func (w *waiter) probe(ctx context.Context, inst *Instance, polled time.Time) *Instance {
	if addr := inst.Addr(); addr != w.addr {
		w.addr, w.ok = addr, 0 // answers from another address prove nothing about this one
	}
	for {
		at := w.clock.Now()
		if err := w.o.Probe(ctx, inst); err != nil {
			w.ok = 0
			w.note = inst.Status + ", SSH not answering: " + err.Error()
		} else {
			if w.ok == 0 {
				w.firstOK = at
			}
			w.ok++
			switch {
			case w.ok < w.o.Probes:
				w.note = inst.Status + ", SSH answered once"
			case inst.Status == StatusRunning:
				ready := *inst
				ready.ReadyAt = w.firstOK
				return &ready
			default:
				w.note = inst.Status + ", SSH answering, waiting for the provider to say running"
			}
		}
		if w.clock.Now().Sub(polled)+w.o.ProbeInterval >= w.o.Interval {
			return nil
		}
		w.report()
		if w.sleep(ctx, at.Add(w.o.ProbeInterval).Sub(w.clock.Now())) != nil {
			return nil // the caller's sleep reports why
		}
	}
}

func (w *waiter) report() {
	if w.o.OnPoll != nil {
		w.o.OnPoll(w.last, time.Since(w.start), w.note)
	}
}

// sleep waits d, or fails with the reason the wait is over: the timeout
// (an *InstanceFailedError naming the last status seen) or ctx's error.
func (w *waiter) sleep(ctx context.Context, d time.Duration) error {
	if d > 0 && ctx.Err() == nil && w.clock.Sleep(ctx, d) == nil {
		return nil
	}
	if ctx.Err() == nil {
		return nil
	}
	status := StatusUnknown
	if w.last != nil {
		status = w.last.Status
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && w.o.Timeout > 0 && time.Since(w.start) >= w.o.Timeout {
		return &InstanceFailedError{ID: w.id, Status: status,
			Msg: fmt.Sprintf("not ready after %s (last: %s)", w.o.Timeout.Round(time.Second), w.note)}
	}
	return ctx.Err()
}

// msgIsError reports whether a provider status message announces a failure
// (VAST puts container errors there while actual_status still says loading).
func msgIsError(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "error") || strings.Contains(m, "failed to")
}

// StillThere asks p about instance id once, for a client that lost it
// (an SSH dial failed): an error when the provider no longer knows it or
// it is in a fatal status, nil when it may still be reachable — including
// when the provider cannot be asked, since that proves nothing.
func StillThere(ctx context.Context, p Provider, id string) error {
	inst, err := p.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return &InstanceFailedError{ID: id, Status: StatusGone, Msg: "the provider no longer knows this instance"}
	case err != nil:
		return nil
	case Fatal(inst.Status):
		return &InstanceFailedError{ID: id, Status: inst.Status, Msg: inst.StatusMsg}
	}
	return nil
}
