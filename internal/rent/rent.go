// Package rent provisions a machine for a run: cloud.Provision (fallback to
// the next offers, races, readiness) wired to the run's bookkeeping — a
// ledger intent before every create, the undo registered the moment an id
// exists, instances given up during fallback marked destroyed — and to its
// console. instance.create and standby.create both rent through it, so a
// GPU and a standby VM are tracked the same way.
package rent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/resource"
)

// Run is the run renting: where intents are recorded and what the console
// shows. actions.Env implements it.
type Run interface {
	// Begin records the intent to create a resource (resource.Tracker.Begin).
	Begin(kind, provider, label, detail string) (*resource.Pending, error)
	Logf(format string, args ...any)
	// Wait reports a long wait for the console's spinner.
	Wait(what string, elapsed time.Duration)
}

// Options say what to rent and how to wait for it.
type Options struct {
	Kind    string              // "instance" or "standby": the resource kind in the ledger and the journal
	Request cloud.CreateRequest // template of every create: Label, RunID and PublicKey set
	// Fallback is as cloud.ProvisionOptions.Fallback: 0 means
	// cloud.DefaultFallback, a negative value none.
	Fallback     int
	Race         int
	ReadyTimeout time.Duration
	Poll         time.Duration                                         // status poll interval (0: cloud's default)
	Probe        func(ctx context.Context, inst *cloud.Instance) error // readiness: SSH answers
	// Forget is told the id of an instance once it is destroyed: its address
	// and host key may go to another machine.
	Forget func(id string)
	// Clock is the wait's (cloud.WaitOptions.Clock): it spaces the status
	// polls and times when the instance was read running; nil is the
	// machine's. Tests share one with the provider and its fake.
	Clock cloud.Clock
}

// Rent provisions an instance on prov from offers (best first). It returns
// the ready instance and how many offers were tried.
func Rent(ctx context.Context, run Run, prov cloud.Provider, offers []cloud.Offer, o Options) (*cloud.Instance, int, error) {
	kind, req := o.Kind, o.Request
	var mu sync.Mutex
	pending := map[string]*resource.Pending{} // by offer id
	handles := map[string]*resource.Handle{}  // by instance id
	tried := 0
	hooks := cloud.ProvisionHooks{
		BeforeCreate: func(offer cloud.Offer) error {
			pend, err := run.Begin(kind, prov.Name(), req.Label, offer.GPU)
			if err != nil {
				return err
			}
			mu.Lock()
			pending[offer.ID], tried = pend, tried+1
			mu.Unlock()
			return nil
		},
		NotCreated: func(offer cloud.Offer, err error) {
			mu.Lock()
			pend := pending[offer.ID]
			mu.Unlock()
			if pend != nil && !cloud.IsUncertain(err) {
				pend.Failed(err)
			}
			var gone *cloud.OfferGoneError
			if errors.As(err, &gone) {
				run.Logf("offer %s is gone (%s): trying the next one", offer.ID, gone.Detail)
			}
		},
		Created: func(offer cloud.Offer, inst *cloud.Instance) {
			mu.Lock()
			pend := pending[offer.ID]
			mu.Unlock()
			id := inst.ID
			var h *resource.Handle
			h = pend.Created(id, inst.PricePerHour, inst.Simulated, map[string]string{"offer": offer.ID},
				func(ctx context.Context, reason string) error {
					billedUntil, err := cloud.DestroyBilled(ctx, prov, id, cloud.DestroyReason(reason))
					if err != nil {
						return err
					}
					h.BillingEnded(billedUntil)
					if o.Forget != nil {
						o.Forget(id)
					}
					return nil
				})
			billBy(h, inst) // as Create answered, until a status read says more
			h.Traffic(offer.SentPerGB, offer.ReceivedPerGB, offer.TrafficSource)
			if bp, ok := prov.(cloud.BillPauser); ok {
				h.PausedFrom(func() (time.Time, time.Time) {
					p := bp.Paused(id)
					return p.Machine, p.Storage
				})
			}
			mu.Lock()
			handles[id] = h
			mu.Unlock()
			run.Logf("%s %s created from offer %s ($%.3f/h), waiting for SSH", kind, id, offer.ID, inst.PricePerHour)
		},
		Destroyed: func(inst *cloud.Instance, billedUntil time.Time, err error) {
			mu.Lock()
			h := handles[inst.ID]
			mu.Unlock()
			if h != nil {
				h.GivenUp() // not the step's machine: not kept, and reported as given up however it ends
				// Billed like the one kept: the provider's creation time and
				// its price for this instance, as last read (whether or not
				// the destroy worked: a machine left over is billed so too).
				billBy(h, inst)
				if err == nil {
					h.BillingEnded(billedUntil)
					h.Gone(journal.ReasonGaveUp)
				}
			}
			if err != nil {
				run.Logf("%s %s could not be destroyed (%v): it is destroyed again at the end of the run", kind, inst.ID, err)
			} else {
				run.Logf("%s %s gave up (%s%s) and destroyed: trying the next offer", kind, inst.ID, inst.Status, msgSuffix(inst.StatusMsg))
			}
		},
	}
	clock := cloud.ClockOr(o.Clock)
	start := clock.Now()
	inst, err := cloud.Provision(ctx, prov, offers, cloud.ProvisionOptions{
		Request: req, Fallback: o.Fallback, Race: o.Race, Hooks: hooks,
		Wait: cloud.WaitOptions{Interval: o.Poll, Timeout: o.ReadyTimeout, Probe: o.Probe, Clock: o.Clock,
			OnPoll: func(i *cloud.Instance, elapsed time.Duration, note string) {
				id := "?"
				if i != nil {
					id = i.ID
				}
				run.Wait(fmt.Sprintf("waiting for SSH on %s %s (%s)", kind, id, note), elapsed)
			}},
	})
	if err != nil {
		return nil, tried, err
	}
	mu.Lock()
	h := handles[inst.ID]
	mu.Unlock()
	if h != nil {
		// The instance's own record: the provider's creation time and the
		// price it bills for it (VAST: dph_total with the disk rented, the
		// machine's part from when it ran).
		billBy(h, inst)
	}
	readyAt := inst.ReadyAt
	if readyAt.IsZero() {
		readyAt = clock.Now()
	}
	run.Logf("%s %s ready at %s in %.1fs", kind, inst.ID, inst.Addr(), readyAt.Sub(start).Seconds())
	return inst, tried, nil
}

// billBy records how the provider bills inst on its handle: its creation
// time, price and where the price comes from, a minimum charge, and the
// part billed only while it runs.
func billBy(h *resource.Handle, inst *cloud.Instance) {
	h.Bill(inst.CreatedAt, inst.PricePerHour)
	h.PriceFrom(inst.PriceSource, inst.Estimated)
	h.MinBilled(inst.MinBilledSeconds)
	h.Running(inst.RunningAt, inst.StoragePerHour)
}

func msgSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}
