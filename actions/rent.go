package actions

import (
	"context"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/rent"
)

// Rent provisions an instance on prov from offers, best first, with the
// run's bookkeeping (internal/rent): o says what kind of resource it is,
// the create request and how to fall back; the step's label (unless
// o.Request has one), the run id, the project's SSH key, the poll
// interval and the SSH probe come from the run. It returns the ready
// instance and how many offers were tried.
func (e *Env) Rent(ctx context.Context, prov cloud.Provider, offers []cloud.Offer, o rent.Options) (*cloud.Instance, int, error) {
	if o.Request.Label == "" {
		o.Request.Label = e.Label()
	}
	o.Request.RunID, o.Probe = e.RunID, e.Probe
	if e.Target != nil {
		o.Request.PublicKey, o.Poll, o.Forget = e.Target.PublicKey, e.Target.PollInterval, e.Target.Forget
	}
	inst, tried, err := rent.Rent(ctx, e, prov, offers, o)
	if err == nil {
		e.Remember(inst)
	}
	return inst, tried, err
}
