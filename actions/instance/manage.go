package instance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/standby"
)

// StatusParams are the parameters of instance.status.
type StatusParams struct {
	ID actions.InstanceRef `json:"id" alias:"on,instance" required:"true" doc:"instance id, or ${{ steps.gpu }}"`
}

// Status looks an instance up.
var Status = actions.Define(actions.Info{
	Name:    "instance.status",
	Summary: "read an instance's state from its provider",
	Doc:     "Fails when the provider no longer knows the instance; use `until` to wait for a state.",
	Example: "- id: st\n  action: instance.status\n  with: { id: \"${{ steps.gpu.id }}\" }\n  until: { expr: \"state == 'exited'\", interval: 5s, timeout: 2m }",
}, func(ctx context.Context, env *actions.Env, p *StatusParams) (*Outputs, error) {
	inst, err := env.Instance(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return outputsOf(inst), nil
})

// ListParams are the parameters of instance.list.
type ListParams struct {
	LabelPrefix string `json:"label_prefix" default:"scn-" doc:"only instances whose label starts with this"`
	Standby     bool   `json:"standby" doc:"list the standby provider's machines instead of the GPU provider's"`
}

// ListOutputs are the outputs of instance.list.
type ListOutputs struct {
	Instances []Outputs `json:"instances" doc:"the instances"`
	Count     int       `json:"count" doc:"len(instances)"`
}

// List lists instances on the target.
var List = actions.Define(actions.Info{
	Name:    "instance.list",
	Summary: "list the target's instances made by scn (by label prefix)",
	Example: "- id: left\n  action: instance.list\n  with: { label_prefix: \"scn-${{ run.id }}\" }",
}, func(ctx context.Context, env *actions.Env, p *ListParams) (*ListOutputs, error) {
	prov, err := provider(env, p.Standby)
	if err != nil {
		return nil, err
	}
	insts, err := prov.List(ctx, p.LabelPrefix)
	if err != nil {
		return nil, fmt.Errorf("listing instances on %s: %w", prov.Name(), err)
	}
	out := &ListOutputs{Instances: []Outputs{}, Count: len(insts)}
	for i := range insts {
		out.Instances = append(out.Instances, *outputsOf(&insts[i]))
	}
	return out, nil
})

func provider(env *actions.Env, standby bool) (cloud.Provider, error) {
	if env.Target == nil {
		return nil, errors.New("no target")
	}
	p := env.Target.Compute
	if standby {
		p = env.Target.Standby
	}
	if p == nil {
		return nil, fmt.Errorf("target %s has no such provider", env.Target.Name)
	}
	return p, nil
}

// DestroyParams are the parameters of instance.destroy.
type DestroyParams struct {
	ID     actions.InstanceRef `json:"id" alias:"on,instance" required:"true" doc:"instance id, or ${{ steps.gpu }}"`
	Reason string              `json:"reason" default:"user" enum:"user,failure" doc:"user: destroy it and its disk; failure: kill it abruptly like a preempted spot GPU (locally its disk stays until the end of the run)"`
}

// DestroyOutputs are the outputs of instance.destroy.
type DestroyOutputs struct {
	ID          string    `json:"id" doc:"the instance"`
	Reason      string    `json:"reason" doc:"user or failure"`
	DestroyedAt time.Time `json:"destroyed_at" doc:"when the provider accepted the destroy, where its bill ends (for a failure: the moment the GPU was lost); when scn found it gone, that moment"`
	AlreadyGone bool      `json:"already_gone" doc:"the provider no longer knew the instance (destroyed earlier, or a wrong id)"`
}

// Destroy destroys an instance now (its undo at the end is then not needed).
var Destroy = actions.Define(actions.Info{
	Name:    "instance.destroy",
	Summary: "destroy an instance now; reason: failure simulates a GPU dying",
	Doc: "Destroying an instance this run created drops its cleanup. With reason: failure the machine dies " +
		"without warning (a standby watching it should notice); billing stops. Destroying an instance that " +
		"is already gone is not an error.",
	Example: "- action: instance.destroy\n  with: { id: \"${{ steps.gpu.id }}\", reason: failure }",
}, func(ctx context.Context, env *actions.Env, p *DestroyParams) (*DestroyOutputs, error) {
	out := &DestroyOutputs{ID: p.ID.ID, Reason: p.Reason}
	defer env.ForgetInstance(p.ID.ID)
	for _, kind := range []string{"instance", "standby"} {
		if h := env.Resources.Find(kind, p.ID.ID); h != nil {
			if err := h.Destroy(ctx, p.Reason); err != nil {
				return nil, fmt.Errorf("destroying %s %s: %w", kind, p.ID.ID, err)
			}
			// The provider's accepted destroy, not the end of this step:
			// confirming it takes status reads (VAST: seconds apart) that
			// are scn's, not the platform's, and recovery times start here.
			if out.DestroyedAt = h.DestroyedAt(); out.DestroyedAt.IsZero() {
				out.DestroyedAt = time.Now().UTC()
			}
			if p.Reason == "failure" {
				// A standby following it counts its data at risk and its
				// detection from this moment, not from its checks, even if
				// they saw the loss while the destroy's confirming reads
				// ran (standby.GPULost).
				standby.GPULost(env.Shared, p.ID.ID, out.DestroyedAt)
				// Providers that keep nothing after a failure (VAST, GCP)
				// need no cleanup at the end; local sandboxes keep a disk.
				if _, err := env.Instance(ctx, p.ID); errors.Is(err, cloud.ErrNotFound) {
					h.Gone("failure")
				}
			}
			env.Logf("%s %s destroyed (%s)", kind, p.ID.ID, p.Reason)
			return out, nil
		}
	}
	// Not created by this run (e.g. kept by an earlier scn do): find its provider.
	inst, err := env.Instance(ctx, p.ID)
	if err != nil {
		if errors.Is(err, cloud.ErrNotFound) {
			env.Logf("instance %s is already gone (or was never there: check the id)", p.ID.ID)
			_ = env.Resources.DestroyedElsewhere(p.ID.Provider, p.ID.ID, "already gone")
			out.DestroyedAt, out.AlreadyGone = time.Now().UTC(), true
			return out, nil
		}
		return nil, err
	}
	prov, ok := env.Target.Provider(inst.Provider)
	if !ok {
		return nil, fmt.Errorf("no provider %q on target %s", inst.Provider, env.Target.Name)
	}
	if err := prov.Destroy(ctx, inst.ID, cloud.DestroyReason(p.Reason)); err != nil {
		return nil, fmt.Errorf("destroying instance %s on %s: %w", inst.ID, prov.Name(), err)
	}
	if p.Reason == "user" {
		if err := env.Resources.DestroyedElsewhere(prov.Name(), inst.ID, "destroyed by instance.destroy"); err != nil {
			env.Logf("warning: the ledger could not record it: %v", err)
		}
	}
	out.DestroyedAt = time.Now().UTC()
	env.Logf("instance %s destroyed (%s)", inst.ID, p.Reason)
	return out, nil
})
