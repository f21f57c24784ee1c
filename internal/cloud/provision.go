package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultFallback is how many offers Provision tries after the first ones
// when ProvisionOptions.Fallback is zero.
const DefaultFallback = 2

// ErrInsufficientBalance is wrapped by Provision's error when the account
// cannot pay for the offers it was given.
var ErrInsufficientBalance = errors.New("insufficient balance")

// ProvisionOptions tunes Provision.
type ProvisionOptions struct {
	// Request is the template of every create; Offer is filled per try.
	Request CreateRequest
	// Fallback is how many more offers to try once the first Race offers
	// have failed: 0 means DefaultFallback, a negative value means none.
	// At most Race+Fallback offers are tried.
	Fallback int
	// Race creates this many instances at once (from consecutive offers),
	// keeps the first that is ready and destroys the others. 0 or 1: one
	// at a time.
	Race int
	// Wait says how each instance is waited for (see WaitReady).
	Wait WaitOptions
	// MinBalanceHours: when the provider has a balance (BalanceChecker),
	// an offer is rented only if the balance, less what this call already
	// rented, covers its price for this many hours. 0 means 1 hour; a
	// negative value skips the check.
	MinBalanceHours float64
	// CleanupTimeout bounds each Destroy of an instance Provision gives up
	// on, including after ctx is cancelled. 0 means 5 minutes (VAST may
	// take minutes to confirm a destroy).
	CleanupTimeout time.Duration
	Hooks          ProvisionHooks
}

// ProvisionHooks let the caller (the runner) keep its ledger and undo stack
// in step with what Provision rents. Hooks are never called concurrently.
//
// The rule: every instance announced by Created is either returned by
// Provision or announced by Destroyed. Destroyed with a nil error means
// billing stopped and the caller may drop its undo; with an error, the
// undo registered in Created must still run.
type ProvisionHooks struct {
	// BeforeCreate runs before each create (the runner appends a ledger
	// intent here). An error stops Provision before anything is rented
	// for that offer.
	BeforeCreate func(offer Offer) error
	// Created runs the moment the provider has given the instance an id.
	Created func(offer Offer, inst *Instance)
	// NotCreated runs when renting offer failed after BeforeCreate: the
	// runner closes its ledger intent, unless IsUncertain(err) says the
	// provider may have rented anyway (then the intent stays open and
	// cleanup looks the instance up by its label).
	NotCreated func(offer Offer, err error)
	// Destroyed runs after Provision destroyed an instance it gave up on
	// (failed, lost a race, or interrupted); billedUntil is when its
	// billing stopped (see DestroyBilled), zero when err is not nil. inst
	// is the provider's last record of it — the last status read while
	// waiting, with what Create returned filling its gaps — so its
	// CreatedAt and PricePerHour are the provider's (VAST start_date and
	// dph_total) whenever a read succeeded, as for the instance kept.
	Destroyed func(inst *Instance, billedUntil time.Time, err error)
}

// Attempt is one offer Provision tried and why it did not keep it.
type Attempt struct {
	Offer    Offer
	Instance string // id of the instance rented, "" when none was
	Reason   string
}

func (a Attempt) String() string {
	if a.Instance == "" {
		return fmt.Sprintf("offer %s: %s", a.Offer.ID, a.Reason)
	}
	return fmt.Sprintf("instance %s (offer %s): %s", a.Instance, a.Offer.ID, a.Reason)
}

// ProvisionError says why no instance was kept, offer by offer.
type ProvisionError struct {
	Attempts []Attempt
	Err      error // the cause that stopped the search (ctx, a hook, a provider error), or nil when offers ran out
}

func (e *ProvisionError) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("no offer gave a ready instance")
	}
	if len(e.Attempts) > 0 {
		parts := make([]string, len(e.Attempts))
		for i, a := range e.Attempts {
			parts[i] = a.String()
		}
		b.WriteString(" (tried " + strings.Join(parts, "; ") + ")")
	}
	return b.String()
}

func (e *ProvisionError) Unwrap() error { return e.Err }

// Provision rents an instance from the first offers that work and waits
// until it is ready. A gone offer moves on to the next; an instance that
// fails (fatal status, error message, wait timeout) is destroyed, reported
// through Hooks.Destroyed, and the next offer is tried. With Race > 1 the
// first ready instance wins and the others are destroyed before Provision
// returns. If ctx is cancelled, everything Provision created and still
// holds is destroyed (with a context detached from ctx, bounded by
// CleanupTimeout) before it returns ctx's error: an interrupted run does not
// leave instances behind, and Destroyed tells the runner which undos are done.
func Provision(ctx context.Context, p Provider, offers []Offer, o ProvisionOptions) (*Instance, error) {
	if len(offers) == 0 {
		return nil, &ProvisionError{Err: errors.New("no offers to try")}
	}
	race := max(o.Race, 1)
	fallback := o.Fallback
	if fallback == 0 {
		fallback = DefaultFallback
	}
	n := min(len(offers), race+max(fallback, 0))
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = 5 * time.Minute
	}
	r := &provisioning{p: p, o: o, parent: ctx, offers: offers[:n]}
	if bc, ok := p.(BalanceChecker); ok && o.MinBalanceHours >= 0 {
		bal, err := bc.Balance(ctx)
		if err != nil {
			return nil, &ProvisionError{Err: fmt.Errorf("checking the %s balance before renting: %w", p.Name(), err)}
		}
		r.balance, r.checked = bal, true
		if o.MinBalanceHours == 0 {
			r.o.MinBalanceHours = 1
		}
	}
	raceCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel
	var wg sync.WaitGroup
	for range min(race, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				offer, ok := r.next(raceCtx)
				if !ok {
					return
				}
				r.try(raceCtx, offer)
			}
		}()
	}
	wg.Wait()
	if r.winner != nil {
		return r.winner, nil
	}
	cause := r.fatal
	if cause == nil {
		cause = ctx.Err()
	}
	if cause == nil && r.refused == len(r.attempts) {
		cause = fmt.Errorf("refusing to rent on %s: %w", p.Name(), ErrInsufficientBalance)
	}
	return nil, &ProvisionError{Attempts: r.attempts, Err: cause}
}

// provisioning is the state of one Provision call, shared by its racers.
type provisioning struct {
	p      Provider
	o      ProvisionOptions
	parent context.Context
	cancel context.CancelFunc
	offers []Offer

	mu        sync.Mutex
	nextOffer int
	winner    *Instance
	fatal     error
	attempts  []Attempt
	checked   bool    // the provider has a balance and the check is on
	balance   float64 // USD, as read before the first rent
	committed float64 // USD/h × hours held by instances alive in this call
	refused   int     // attempts refused for balance

	hookMu sync.Mutex
}

// next hands out the next offer unless the search is over.
func (r *provisioning) next(ctx context.Context) (Offer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.winner != nil || r.fatal != nil || ctx.Err() != nil || r.nextOffer >= len(r.offers) {
		return Offer{}, false
	}
	r.nextOffer++
	return r.offers[r.nextOffer-1], true
}

func (r *provisioning) record(a Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, a)
}

// stop ends the search with err (unless it already ended).
func (r *provisioning) stop(err error) {
	r.mu.Lock()
	if r.fatal == nil && r.winner == nil {
		r.fatal = err
	}
	r.mu.Unlock()
	r.cancel()
}

// reserve books the offer's price against the balance; false when it does not fit.
func (r *provisioning) reserve(offer Offer) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.checked {
		return "", true
	}
	need := offer.PricePerHour * r.o.MinBalanceHours
	if left := r.balance - r.committed; left < need {
		r.refused++
		return fmt.Sprintf("refused: balance $%.2f (less $%.2f held by other attempts) does not cover $%.3f/h for %gh",
			r.balance, r.committed, offer.PricePerHour, r.o.MinBalanceHours), false
	}
	r.committed += need
	return "", true
}

func (r *provisioning) release(offer Offer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checked {
		r.committed -= offer.PricePerHour * r.o.MinBalanceHours
	}
}

// hook runs fn with the other hooks held off.
func (r *provisioning) hook(fn func()) {
	r.hookMu.Lock()
	defer r.hookMu.Unlock()
	fn()
}

// try rents one offer and waits for it; it keeps the instance only if it
// is the first ready one.
func (r *provisioning) try(ctx context.Context, offer Offer) {
	if why, ok := r.reserve(offer); !ok {
		r.record(Attempt{Offer: offer, Reason: why})
		return
	}
	var herr error
	if h := r.o.Hooks.BeforeCreate; h != nil {
		r.hook(func() { herr = h(offer) })
	}
	if herr != nil {
		r.release(offer)
		r.stop(fmt.Errorf("before renting offer %s: %w", offer.ID, herr))
		return
	}
	req := r.o.Request
	req.Offer = offer
	inst, err := r.p.Create(ctx, req)
	if err != nil && inst == nil {
		if h := r.o.Hooks.NotCreated; h != nil {
			r.hook(func() { h(offer, err) })
		}
	}
	var gone *OfferGoneError
	switch {
	case errors.As(err, &gone):
		r.release(offer)
		r.record(Attempt{Offer: offer, Reason: "gone: " + gone.Detail})
		return
	case err != nil:
		r.release(offer)
		switch {
		case ctx.Err() == nil:
			r.stop(fmt.Errorf("renting offer %s on %s: %w", offer.ID, r.p.Name(), err))
		case IsUncertain(err):
			// Interrupted with a machine that may exist (a delete that
			// failed): the user must read why, not only "context canceled".
			r.record(Attempt{Offer: offer, Reason: err.Error()})
		}
		return
	}
	if h := r.o.Hooks.Created; h != nil {
		r.hook(func() { h(offer, inst) })
	}
	ready, err := WaitReady(ctx, r.p, inst.ID, r.o.Wait)
	seen := inst // the provider's last record of the instance
	if ready != nil && ready.ID == inst.ID {
		seen = merge(ready, inst)
	}
	if err == nil {
		r.mu.Lock()
		won := r.winner == nil && r.fatal == nil
		if won {
			r.winner = merge(ready, inst)
		}
		r.mu.Unlock()
		if won {
			r.cancel() // the other racers stop waiting and destroy theirs
			return
		}
		r.destroy(seen, offer, "")
		return
	}
	var failed *InstanceFailedError
	reason := ""
	switch {
	case errors.As(err, &failed):
		reason = failed.Status
		if failed.Msg != "" {
			reason += ": " + failed.Msg
		}
	case r.parent.Err() != nil:
		reason = "interrupted: " + r.parent.Err().Error()
	case ctx.Err() == nil:
		reason = err.Error()
	} // else the race is over (a winner, or a fatal error elsewhere): nothing to report
	r.destroy(seen, offer, reason)
}

// destroy gives an instance back (its attempt is recorded when reason is
// not empty) and tells the Destroyed hook how it went.
func (r *provisioning) destroy(inst *Instance, offer Offer, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.parent), r.o.CleanupTimeout)
	defer cancel()
	billedUntil, err := DestroyBilled(ctx, r.p, inst.ID, ReasonUser)
	if err != nil {
		err = fmt.Errorf("destroying instance %s: %w", inst.ID, err)
		reason = strings.TrimPrefix(reason+"; "+err.Error(), "; ")
	} else {
		r.release(offer)
	}
	if reason != "" {
		r.record(Attempt{Offer: offer, Instance: inst.ID, Reason: reason})
	}
	if h := r.o.Hooks.Destroyed; h != nil {
		r.hook(func() { h(inst, billedUntil, err) })
	}
}

// merge fills what a provider's status read may leave out from what its
// create returned.
func merge(ready, created *Instance) *Instance {
	out := *ready
	if out.Label == "" {
		out.Label = created.Label
	}
	if out.Provider == "" {
		out.Provider = created.Provider
	}
	if out.CreatedAt.IsZero() {
		out.CreatedAt = created.CreatedAt
	}
	if out.PricePerHour == 0 {
		out.PricePerHour = created.PricePerHour
	}
	return &out
}
