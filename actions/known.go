package actions

import (
	"context"
	"sync"

	"github.com/scnlabs/scn/internal/cloud"
)

// knownInstances are the run's instance records as the provider last gave
// them (address, host key, state), by id. A step that only uses a machine
// trusts its record instead of asking the provider again: VAST spaces
// status reads of one instance seconds apart, and a drill's timings must
// not carry that wait. A record goes stale only when the machine goes
// away, and then the SSH dial fails and its recheck asks the provider at
// once (remote.Options.Recheck).
type knownInstances struct {
	mu sync.Mutex
	m  map[string]cloud.Instance
}

const knownKey = "actions.instances"

func (e *Env) known() *knownInstances {
	v := e.Shared.Load(knownKey, func() any { return &knownInstances{m: map[string]cloud.Instance{}} })
	if v == nil {
		return nil
	}
	return v.(*knownInstances)
}

// Remember keeps inst as the run's latest record of that instance.
func (e *Env) Remember(inst *cloud.Instance) {
	k := e.known()
	if k == nil || inst == nil || inst.ID == "" {
		return
	}
	k.mu.Lock()
	k.m[inst.ID] = *inst
	k.mu.Unlock()
}

// ForgetInstance drops the record of a destroyed instance: the next step
// naming it asks the provider.
func (e *Env) ForgetInstance(id string) {
	if k := e.known(); k != nil {
		k.mu.Lock()
		delete(k.m, id)
		k.mu.Unlock()
	}
}

// record returns the run's record of ref, if any.
func (e *Env) record(ref InstanceRef) (*cloud.Instance, bool) {
	k := e.known()
	if k == nil {
		return nil, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	inst, ok := k.m[ref.ID]
	if !ok || (ref.Provider != "" && inst.Provider != "" && inst.Provider != ref.Provider) {
		return nil, false
	}
	return &inst, true
}

// Known returns the run's record of the instance, asking the provider
// (Instance) only when the run has none: for steps that use a machine,
// not for steps about its state.
func (e *Env) Known(ctx context.Context, ref InstanceRef) (*cloud.Instance, error) {
	if inst, ok := e.record(ref); ok {
		return inst, nil
	}
	return e.Instance(ctx, ref)
}
