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
	// Timeout for the whole wait; 0 means only ctx bounds it.
	Timeout time.Duration
	// Probe checks the machine answers over SSH (runs `echo`). It is called
	// only once the provider says running.
	Probe func(ctx context.Context, inst *Instance) error
	// Probes is how many consecutive successful probes make the instance
	// ready. Default 2: a single answer right after boot is not trusted.
	Probes int
	// OnPoll, when set, is told about every poll so the console can show
	// "waiting for SSH on instance 42 (loading, 35s)".
	OnPoll func(inst *Instance, elapsed time.Duration, note string)
}

// WaitReady polls p until instance id is running and answers its SSH probes.
// A fatal status (exited, stopped, offline, unknown, gone) or a status message that
// reports an error ends the wait with an *InstanceFailedError, as does the
// timeout; the caller destroys the instance.
func WaitReady(ctx context.Context, p Provider, id string, o WaitOptions) (*Instance, error) {
	if o.Interval <= 0 {
		o.Interval = 3 * time.Second
	}
	if o.Probes <= 0 {
		o.Probes = 2
	}
	start := time.Now()
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	var last *Instance
	var lastNote string
	ok := 0
	for {
		inst, err := p.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, &InstanceFailedError{ID: id, Status: StatusGone, Msg: "the provider no longer knows this instance"}
		case err != nil && ctx.Err() == nil:
			lastNote = "status: " + err.Error() // transient: providers retry their own API errors
		case err == nil:
			last = inst
			if Fatal(inst.Status) || msgIsError(inst.StatusMsg) {
				return inst, &InstanceFailedError{ID: id, Status: inst.Status, Msg: inst.StatusMsg}
			}
			lastNote = inst.Status
			if inst.Status == StatusRunning && inst.Host != "" && inst.Port > 0 {
				if o.Probe == nil {
					return inst, nil
				}
				if perr := o.Probe(ctx, inst); perr != nil {
					ok = 0
					lastNote = "running, SSH not answering: " + perr.Error()
				} else if ok++; ok >= o.Probes {
					return inst, nil
				} else {
					lastNote = "running, SSH answered once"
				}
			}
		}
		if o.OnPoll != nil {
			o.OnPoll(last, time.Since(start), lastNote)
		}
		select {
		case <-ctx.Done():
			status := StatusUnknown
			if last != nil {
				status = last.Status
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && o.Timeout > 0 && time.Since(start) >= o.Timeout {
				return last, &InstanceFailedError{ID: id, Status: status,
					Msg: fmt.Sprintf("not ready after %s (last: %s)", o.Timeout.Round(time.Second), lastNote)}
			}
			return last, ctx.Err()
		case <-tick.C:
		}
	}
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
