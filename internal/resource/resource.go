// Package resource tracks everything a run creates — instances, standby
// VMs, snapshots, the store folders standbys sync through — from the
// intent to create it until its destruction. It ties three records
// together so they cannot disagree: the crash-safe ledger on disk (written
// before the provider is even asked), the undo stack (pushed the moment
// the resource has an id) and the journal's resource list with lifetime
// and cost.
package resource

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/undo"
)

// Ledger is the on-disk record (internal/ledger); nil disables it.
type Ledger interface {
	Intent(run, step, kind, provider, target, label string) (ref string, err error)
	Created(ref, id string, extra map[string]string) error
	Destroyed(ref string) error
	Failed(ref, msg string) error
}

// DestroyFunc destroys the resource. reason is "user" or "failure" (for
// instances: a failure kills the machine but may leave its disk).
type DestroyFunc func(ctx context.Context, reason string) error

// Spec describes a resource about to be created.
type Spec struct {
	Step     string
	Kind     string // instance | standby | snapshot | relay
	Provider string // local, vast, gcp, ssh, store
	Label    string
	Detail   string
	Keep     bool // the step said keep: true
}

// Tracker is one run's resources. Safe for concurrent use.
type Tracker struct {
	run, target string
	ledger      Ledger
	undo        *undo.Stack
	now         func() time.Time

	mu    sync.Mutex
	items []*Handle
}

// NewTracker returns a tracker for run on target; ledger may be nil.
func NewTracker(run, target string, ledger Ledger, stack *undo.Stack) *Tracker {
	return &Tracker{run: run, target: target, ledger: ledger, undo: stack, now: time.Now}
}

// Pending is a resource whose creation has been announced in the ledger
// but not yet confirmed by the provider.
type Pending struct {
	t    *Tracker
	spec Spec
	ref  string
}

// Begin records the intent to create a resource. It must be called before
// the provider is asked, so that a crash between the request and its
// answer still leaves a trace `scn cleanup` can follow (by label).
func (t *Tracker) Begin(spec Spec) (*Pending, error) {
	p := &Pending{t: t, spec: spec}
	if t.ledger != nil {
		ref, err := t.ledger.Intent(t.run, spec.Step, spec.Kind, spec.Provider, t.target, spec.Label)
		if err != nil {
			return nil, fmt.Errorf("recording the intent to create a %s in the ledger: %w", spec.Kind, err)
		}
		p.ref = ref
	}
	return p, nil
}

// Failed closes an intent whose creation failed without leaving anything.
func (p *Pending) Failed(err error) {
	if p.t.ledger != nil && p.ref != "" {
		_ = p.t.ledger.Failed(p.ref, err.Error())
	}
}

// Created confirms the resource exists and registers its undo at once.
func (p *Pending) Created(id string, pricePerHour float64, simulated bool, extra map[string]string, destroy DestroyFunc) *Handle {
	t := p.t
	if t.ledger != nil && p.ref != "" {
		// A ledger write failure must not orphan the resource: the undo
		// below still destroys it; the error surfaces as a warning later.
		_ = t.ledger.Created(p.ref, id, extra)
	}
	h := &Handle{t: t, ref: p.ref, destroy: destroy, res: journal.Resource{
		ID: id, Kind: p.spec.Kind, Provider: p.spec.Provider, Label: p.spec.Label, Step: p.spec.Step,
		Detail: p.spec.Detail, CreatedAt: t.now().UTC(), PricePerHour: pricePerHour, Simulated: simulated,
		State: "alive",
	}}
	if p.spec.Keep {
		h.res.State = "kept"
	}
	desc := fmt.Sprintf("destroy %s %s", p.spec.Kind, id)
	switch p.spec.Kind {
	case "snapshot":
		desc = "delete snapshot " + id
	case "relay":
		desc = "remove what standby " + id + "'s sync left in the store"
	}
	h.entry = t.undo.Push(p.spec.Step, desc, id, p.spec.Keep, func(ctx context.Context) error {
		return h.finish(ctx, "user")
	})
	t.mu.Lock()
	t.items = append(t.items, h)
	t.mu.Unlock()
	return h
}

// Handle is a created resource.
type Handle struct {
	t       *Tracker
	ref     string
	destroy DestroyFunc
	entry   *undo.Entry

	mu      sync.Mutex
	res     journal.Resource
	gone    bool // fully destroyed
	givenUp bool // provisioning gave it up (GivenUp)
	// billEnd is when the provider accepted the destroy (BillingEnded);
	// zero: billing is taken to stop when the destroy returns.
	billEnd time.Time
	// paused reads where the provider paused billing parts of the machine
	// (PausedFrom); nil: it does not say.
	paused func() (machine, storage time.Time)
	// traffic billed by the byte: its prices (Traffic) and what the run's
	// transfers moved (Moved); its USD is computed when read (bandwidth).
	traffic journal.Bandwidth
}

// Destroy destroys the resource now (instance.destroy, a failed instance
// during fallback). With reason "failure" billing stops but the undo stays
// registered: the final cleanup still removes what the failure left behind.
func (h *Handle) Destroy(ctx context.Context, reason string) error {
	if reason == "failure" {
		if err := h.destroy(ctx, reason); err != nil {
			return err
		}
		h.mu.Lock()
		h.stopBilling(reason)
		h.mu.Unlock()
		return nil
	}
	if err := h.finish(ctx, reason); err != nil {
		return err
	}
	h.entry.Cancel()
	return nil
}

// GivenUp marks a resource that is not the one the step returns:
// provisioning gave it up. The step's keep is undone (it must be destroyed —
// at the end of the run if destroying it now failed), and whenever it is
// destroyed its reason is journal.ReasonGaveUp, so the reports never take
// it for the step's machine.
func (h *Handle) GivenUp() {
	h.mu.Lock()
	h.givenUp = true
	if h.res.State == "kept" {
		h.res.State = "alive"
	}
	h.mu.Unlock()
	h.entry.Unkeep()
}

// DestroyedAt is when the resource's billing stopped: the provider's
// accepted destroy (BillingEnded) once Destroy or Gone ran; zero before.
func (h *Handle) DestroyedAt() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.res.DestroyedAt == nil {
		return time.Time{}
	}
	return *h.res.DestroyedAt
}

// Gone records that the resource was destroyed elsewhere (a provisioning
// fallback gave it up, the provider reports it gone): its undo is dropped
// and its ledger entry closed.
func (h *Handle) Gone(reason string) {
	h.mu.Lock()
	if h.gone {
		h.mu.Unlock()
		return
	}
	h.gone = true
	if h.res.DestroyedAt == nil {
		h.stopBilling(reason)
	}
	h.mu.Unlock()
	if h.t.ledger != nil && h.ref != "" {
		_ = h.t.ledger.Destroyed(h.ref)
	}
	h.entry.Cancel()
}

// finish destroys for good and closes the ledger entry.
func (h *Handle) finish(ctx context.Context, reason string) error {
	h.mu.Lock()
	gone := h.gone
	h.mu.Unlock()
	if gone {
		return nil
	}
	if err := h.destroy(ctx, "user"); err != nil {
		return err
	}
	if h.t.ledger != nil && h.ref != "" {
		if err := h.t.ledger.Destroyed(h.ref); err != nil {
			return fmt.Errorf("%s %s destroyed, but the ledger could not record it: %w", h.res.Kind, h.res.ID, err)
		}
	}
	h.mu.Lock()
	h.gone = true
	if h.res.DestroyedAt == nil {
		h.stopBilling(reason)
	}
	if h.res.State != "kept" {
		h.res.State = "destroyed"
	}
	h.mu.Unlock()
	return nil
}

func (h *Handle) stopBilling(reason string) {
	if h.givenUp {
		reason = journal.ReasonGaveUp
	}
	now := h.t.now().UTC()
	if !h.billEnd.IsZero() {
		now = h.billEnd
	}
	h.res.DestroyedAt = &now
	h.res.DestroyReason = reason
	h.res.State = "destroyed"
}

// Find returns the tracked resource of kind with id, or nil.
func (t *Tracker) Find(kind, id string) *Handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.items) - 1; i >= 0; i-- {
		if h := t.items[i]; h.res.Kind == kind && h.res.ID == id {
			return h
		}
	}
	return nil
}

// Resources returns the journal view: lifetimes and costs computed now for
// resources still alive.
func (t *Tracker) Resources() []journal.Resource {
	t.mu.Lock()
	items := append([]*Handle(nil), t.items...)
	t.mu.Unlock()
	now := t.now().UTC()
	out := make([]journal.Resource, 0, len(items))
	for _, h := range items {
		h.mu.Lock()
		r, paused := h.res, h.paused
		r.Bandwidth = h.bandwidth()
		h.mu.Unlock()
		end := now
		if r.DestroyedAt != nil {
			end = *r.DestroyedAt
		}
		if paused != nil && r.StoragePerHour > 0 {
			// Reads confirming the destroy may say stopped too: only a
			// pause before the bill's end is one.
			machine, storage := paused()
			if !r.RunningAt.IsZero() && machine.After(r.RunningAt) && machine.Before(end) {
				r.StoppedAt = machine.UTC()
			}
			if storage.After(r.CreatedAt) && storage.Before(end) {
				r.OfflineAt = storage.UTC()
			}
		}
		// Clocks differ: a provider's creation time a little after scn's
		// now is a lifetime of zero, not a negative one.
		r.LifetimeSeconds = max(end.Sub(r.CreatedAt).Seconds(), 0)
		r.CostUSD = cost(r, end)
		if r.Bandwidth != nil {
			r.CostUSD += r.Bandwidth.USD
		}
		out = append(out, r)
	}
	return out
}

// Cost sums what the run's resources have cost so far.
func (t *Tracker) Cost() journal.Cost { return Totals(t.Resources()) }

// Totals is the run's cost from its resources: the one place the total is
// computed, so the journal, metrics.json, the console and the HTML report
// show one number — the sum of the resources' cost_usd as listed.
func Totals(rs []journal.Resource) journal.Cost {
	var c journal.Cost
	for _, r := range rs {
		c.TotalUSD += r.CostUSD
		c.Simulated = c.Simulated || (r.Simulated && r.PricePerHour > 0)
		c.Estimated = c.Estimated || (r.Estimated && r.PricePerHour > 0) || (r.Bandwidth != nil && r.Bandwidth.Estimated && r.Bandwidth.USD > 0)
	}
	c.PeakPerHour = PeakPerHour(rs)
	return c
}

// PeakPerHour is the highest sum of hourly prices of resources alive at
// once; one destroyed at the moment another is created does not count
// with it, and one not destroyed is alive until the end.
func PeakPerHour(rs []journal.Resource) float64 {
	best := 0.0
	for _, a := range rs {
		sum := 0.0
		for _, b := range rs {
			if !b.CreatedAt.After(a.CreatedAt) && (b.DestroyedAt == nil || b.DestroyedAt.After(a.CreatedAt)) {
				sum += b.PricePerHour
			}
		}
		best = max(best, sum)
	}
	return best
}

// RateNow is what the resources alive now are billed per hour together:
// a VAST GPU still loading or stopped only its disk, one offline nothing
// (rate), so the budget's look-ahead does not stop a run for a price that
// is not being charged.
func (t *Tracker) RateNow() float64 {
	sum := 0.0
	for _, r := range t.Resources() {
		if r.DestroyedAt == nil {
			sum += rate(r)
		}
	}
	return sum
}

// Alive lists the resources not yet destroyed (kept ones included): what
// would be left behind if the process died now.
func (t *Tracker) Alive() []journal.Resource {
	var out []journal.Resource
	for _, r := range t.Resources() {
		if r.State == "alive" || r.State == "kept" {
			out = append(out, r)
		}
	}
	return out
}

// idCloser is implemented by ledgers that can close the open records of a
// resource known only by id (created by an earlier scn command).
type idCloser interface {
	CloseID(provider, id, note string) error
}

// DestroyedElsewhere records that a resource this run did not create (an
// instance kept by an earlier `scn do instance.create`) was destroyed, so
// the ledger stops listing it as a leftover.
func (t *Tracker) DestroyedElsewhere(provider, id, note string) error {
	if c, ok := t.ledger.(idCloser); ok {
		return c.CloseID(provider, id, note)
	}
	return nil
}
