package cloud_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
)

func TestStillThere(t *testing.T) {
	p := &stillProvider{insts: map[string]*cloud.Instance{
		"run": {ID: "run", Status: cloud.StatusRunning}, "exit": {ID: "exit", Status: cloud.StatusExited}}}
	ctx := context.Background()
	var failed *cloud.InstanceFailedError
	if err := cloud.StillThere(ctx, p, "run"); err != nil {
		t.Errorf("running: %v", err)
	}
	if err := cloud.StillThere(ctx, p, "exit"); !errors.As(err, &failed) || failed.Status != cloud.StatusExited {
		t.Errorf("exited: %v", err)
	}
	if err := cloud.StillThere(ctx, p, "gone"); !errors.As(err, &failed) || failed.Status != cloud.StatusGone {
		t.Errorf("gone: %v", err)
	}
	p.err = errors.New("503")
	if err := cloud.StillThere(ctx, p, "run"); err != nil {
		t.Errorf("an API error proves nothing about the machine: %v", err)
	}
}

type stillProvider struct {
	cloud.Provider
	insts map[string]*cloud.Instance
	err   error
}

func (p *stillProvider) Get(_ context.Context, id string) (*cloud.Instance, error) {
	if p.err != nil {
		return nil, p.err
	}
	if inst, ok := p.insts[id]; ok {
		return inst, nil
	}
	return nil, cloud.ErrNotFound
}

// scriptedProvider answers status reads from a fixed instance and counts them.
type scriptedProvider struct {
	cloud.Provider
	inst cloud.Instance
	gets int
}

func (p *scriptedProvider) Get(context.Context, string) (*cloud.Instance, error) {
	p.gets++
	inst := p.inst
	return &inst, nil
}

// Once the provider gives an address, SSH is probed between its polls
// (which stay spaced) and the ready time is the start of the first probe
// of the successful check.
func TestWaitReadyProbesSSHBetweenPolls(t *testing.T) {
	p := &scriptedProvider{inst: cloud.Instance{ID: "7", Status: cloud.StatusRunning, Host: "127.0.0.1", Port: 22}}
	var starts []time.Time
	probe := func(context.Context, *cloud.Instance) error {
		starts = append(starts, time.Now())
		if len(starts) <= 3 {
			return errors.New("connection refused")
		}
		return nil
	}
	ready, err := cloud.WaitReady(context.Background(), p, "7", cloud.WaitOptions{
		Interval: time.Hour, ProbeInterval: time.Millisecond, Probe: probe, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if p.gets != 1 {
		t.Errorf("%d status reads, want 1: probes need no API call", p.gets)
	}
	if len(starts) != 5 {
		t.Fatalf("%d probes, want 3 refused then 2 answered", len(starts))
	}
	if !ready.ReadyAt.After(starts[2]) || ready.ReadyAt.After(starts[3]) {
		t.Errorf("ReadyAt %v, want the start of the first answered probe (%v), after the last refused one (%v)",
			ready.ReadyAt, starts[3], starts[2])
	}
}

// The probe cadence cannot be slower than a second: the ready time is
// within a second of SSH answering.
func TestWaitReadyProbeIntervalIsAtMostASecond(t *testing.T) {
	p := &scriptedProvider{inst: cloud.Instance{ID: "7", Status: cloud.StatusRunning, Host: "127.0.0.1", Port: 22}}
	n := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := cloud.WaitReady(ctx, p, "7", cloud.WaitOptions{Interval: time.Hour, ProbeInterval: time.Hour,
		Probe: func(context.Context, *cloud.Instance) error {
			if n++; n == 2 {
				cancel() // the second probe came: the hour was not waited
			}
			return errors.New("refused")
		}})
	if !errors.Is(err, context.Canceled) || n != 2 {
		t.Errorf("wait: %v after %d probes", err, n)
	}
}
