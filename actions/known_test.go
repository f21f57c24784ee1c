package actions_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/target"
)

// countingProvider counts status reads: each one costs a poll slot on VAST.
type countingProvider struct {
	*actiontest.Provider
	gets atomic.Int32
}

func (p *countingProvider) Get(ctx context.Context, id string) (*cloud.Instance, error) {
	p.gets.Add(1)
	return p.Provider.Get(ctx, id)
}

// A step that uses a machine the run already knows trusts the record; a
// step about its state asks the provider and refreshes the record.
func TestStepsUsingAKnownMachineDoNotAskTheProvider(t *testing.T) {
	p := &countingProvider{Provider: actiontest.NewProvider(t, "vast")}
	inst := p.Machine("42")
	r := actiontest.NewRun(t, &target.Target{Compute: p})
	env := r.Env("use")
	ctx := context.Background()
	ref := actions.InstanceRef{ID: "42", Provider: "vast"}

	// Unknown to the run (kept by an earlier scn do): asked once, then known.
	if _, _, err := env.Exec(ctx, ref); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := env.Exec(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.gets.Load(); n != 1 {
		t.Errorf("%d status reads for four steps on one machine, want 1 (the first, when the run had no record)", n)
	}

	// instance.status-like steps always ask, and what they learn is kept.
	inst.Status = cloud.StatusExited
	p.Add(inst)
	got, err := env.Instance(ctx, ref)
	if err != nil || got.Status != cloud.StatusExited || p.gets.Load() != 2 {
		t.Fatalf("state read: %+v, %v after %d reads", got, err, p.gets.Load())
	}
	if _, _, err := env.Exec(ctx, ref); err == nil {
		t.Error("a step ran on a machine the provider said exited")
	}

	// A destroyed machine is forgotten: the next step asks again and fails.
	if err := p.Destroy(ctx, "42", cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	env.ForgetInstance("42")
	if _, _, err := env.Exec(ctx, ref); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("a step on a forgotten, destroyed machine: %v", err)
	}
}
