package cleanup

import (
	"context"
	"fmt"
	"time"

	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/target"
)

// Outcome is what became of one leftover.
type Outcome int

const (
	Destroyed Outcome = iota // destroyed now, its record closed
	Gone                     // had already disappeared; its record closed
	NeverMade                // an intent whose resource was never created; closed as failed
	Left                     // still there, or not known to be gone: Result.Err says why
)

// Result is the outcome for one resource, as soon as it is known.
type Result struct {
	// Record is the ledger record acted on. A machine found by label
	// without a record of its own comes with the intent that found it.
	Record  ledger.Record
	ID      string // the resource's id; "" when it has none
	Outcome Outcome
	Note    string        // what happened, e.g. "found by label scn-x-gpu, destroyed"
	Took    time.Duration // how long a destroy by recorded id took; 0 when not timed
	Err     error         // why the resource is Left
}

// Score counts the outcomes of a Clean.
type Score struct {
	Destroyed, Gone, NeverMade, Left int
}

// Cleaner destroys leftovers one by one and closes their ledger records.
type Cleaner struct {
	Ledger *ledger.Ledger
	// Open opens the target a record names, with the environment's
	// credentials like a run would; the caller masks its secrets. It is
	// called once per target name, and Close closes what it returned.
	Open func(ctx context.Context, name string) (*target.Target, error)
	// Timeout bounds the work on one resource.
	Timeout time.Duration
	// Report receives each resource's Result (may be nil).
	Report func(Result)
	// Now times destroys; time.Now when nil.
	Now func() time.Time

	ctx     context.Context
	all     []ledger.Record
	targets map[string]*target.Target
	openErr map[string]error
	score   Score
}

// Close closes the targets the cleaner opened.
func (c *Cleaner) Close() {
	for _, t := range c.targets {
		t.Close()
	}
}

// Clean handles left.Todo in ledger order: records with an id are
// destroyed; intents without one are looked up by label, all the intents
// of one label together (the first of them sets the place in the order).
func (c *Cleaner) Clean(ctx context.Context, left *Leftovers) Score {
	c.ctx, c.all, c.score = ctx, left.All, Score{}
	if c.Now == nil {
		c.Now = time.Now
	}
	type labelKey struct{ target, provider, kind, label string }
	byLabel := map[labelKey]*[]ledger.Record{}
	var order []func()
	for _, r := range left.Todo {
		if r.ID != "" {
			order = append(order, func() { c.destroy(r) })
			continue
		}
		key := labelKey{r.Target, r.Provider, r.Kind, r.Label}
		if intents, ok := byLabel[key]; ok {
			*intents = append(*intents, r)
			continue
		}
		intents := &[]ledger.Record{r}
		byLabel[key] = intents
		order = append(order, func() { c.lookUp(*intents) })
	}
	for _, handle := range order {
		handle()
	}
	return c.score
}

// target opens the target a record names, once.
func (c *Cleaner) target(name string) (*target.Target, error) {
	if name == "" {
		return nil, fmt.Errorf("the ledger does not say which target it was made on")
	}
	if c.targets == nil {
		c.targets, c.openErr = map[string]*target.Target{}, map[string]error{}
	}
	if t, ok := c.targets[name]; ok {
		return t, nil
	}
	if err, ok := c.openErr[name]; ok {
		return nil, err
	}
	t, err := c.Open(c.ctx, name)
	if err != nil {
		err = fmt.Errorf("cannot open target %s: %w", name, err)
		c.openErr[name] = err
		return nil, err
	}
	c.targets[name] = t
	return t, nil
}

// destroy destroys a resource with a known id and closes its record.
func (c *Cleaner) destroy(r ledger.Record) {
	t, err := c.target(r.Target)
	if err != nil {
		c.failed(r, r.ID, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.Timeout)
	defer cancel()
	start := c.Now()
	var gone bool
	if r.Kind == ledger.KindStandby {
		gone, err = destroyStandby(ctx, t, r.Provider, r.ID, r.Label, !c.relayRecorded(r))
	} else {
		gone, err = Destroy(ctx, t, r.Kind, r.Provider, r.ID, r.Label)
	}
	if err != nil {
		c.failed(r, r.ID, err)
		return
	}
	note, what, outcome := "destroyed by scn cleanup", "destroyed", Destroyed
	if gone {
		note, what, outcome = "already gone", "already gone", Gone
	}
	if err := c.Ledger.Destroyed(r.Ref, note); err != nil {
		c.failed(r, r.ID, fmt.Errorf("%s, but the ledger could not record it: %w", what, err))
		return
	}
	c.done(Result{Record: r, ID: r.ID, Outcome: outcome, Note: what, Took: c.Now().Sub(start)})
}

// relayRecorded reports whether the ledger has a record of standby's relay
// folder, open or closed: that record purges the folder (or did), and
// reports what it found there, so the standby's destroy leaves it alone
// rather than purge it first and have the relay's line say "already gone".
func (c *Cleaner) relayRecorded(standby ledger.Record) bool {
	for _, r := range c.all {
		if r.Kind == ledger.KindRelay && r.Target == standby.Target && (r.ID == standby.ID || r.ID == "" && r.Label == standby.ID) {
			return true
		}
	}
	return false
}

// lookUp handles intents that never got an id: the provider may have
// created the resource even though its answer was lost, so list what
// carries their label and is not accounted for by another record, destroy
// it, and close the intents.
func (c *Cleaner) lookUp(intents []ledger.Record) {
	r := intents[0]
	fail := func(err error) {
		for _, in := range intents {
			c.failed(in, "", err)
		}
	}
	if r.Label == "" {
		fail(fmt.Errorf("no label recorded: cannot look it up; check the provider by hand"))
		return
	}
	t, err := c.target(r.Target)
	if err != nil {
		fail(err)
		return
	}
	if inStore(r.Kind) {
		// snapshot.create's intent carries the snapshot's name as its label,
		// standby.create's relay the standby's id: a run killed mid-upload
		// may have left part of it in the store.
		for _, in := range intents {
			c.destroyFound(t, in, in.Label)
		}
		return
	}
	p, ok := t.Provider(r.Provider)
	if !ok || r.Provider == "" {
		fail(fmt.Errorf("target %s has no provider %q", r.Target, r.Provider))
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.Timeout)
	defer cancel()
	found, err := p.List(ctx, r.Label)
	if err != nil {
		fail(fmt.Errorf("looking up label %s on %s: %w", r.Label, r.Provider, err))
		return
	}
	var ids []string
	for _, inst := range found {
		if inst.Label == r.Label && !c.accounted(r.Provider, inst.ID) {
			ids = append(ids, inst.ID)
		}
	}
	for i, in := range intents {
		if i >= len(ids) {
			c.closeNeverMade(in, "nothing found with label "+r.Label+" on "+r.Provider+": the create never happened")
			continue
		}
		c.destroyFound(t, in, ids[i])
	}
	// More machines than intents: not ours by the ledger's account, but
	// made under our label, so destroyed all the same.
	for _, id := range ids[min(len(ids), len(intents)):] {
		if _, err := Destroy(ctx, t, r.Kind, r.Provider, id, r.Label); err != nil {
			c.failed(r, id, fmt.Errorf("found by label %s: %w", r.Label, err))
			continue
		}
		c.done(Result{Record: r, ID: id, Outcome: Destroyed, Note: "found by label " + r.Label + " (no record of its own), destroyed"})
	}
}

// destroyFound records the id an intent turned out to have, destroys it and
// closes the intent.
func (c *Cleaner) destroyFound(t *target.Target, in ledger.Record, id string) {
	ctx, cancel := context.WithTimeout(c.ctx, c.Timeout)
	defer cancel()
	if err := c.Ledger.Created(in.Ref, id, map[string]string{"found_by": "label"}); err != nil {
		c.failed(in, id, fmt.Errorf("found by label %s, but the ledger could not record it: %w", in.Label, err))
		return
	}
	gone, err := Destroy(ctx, t, in.Kind, in.Provider, id, in.Label)
	if err != nil {
		c.failed(in, id, fmt.Errorf("found by label %s: %w", in.Label, err))
		return
	}
	switch {
	case gone && inStore(in.Kind):
		// An intent in the store names what may exist: when the store holds
		// nothing under that name (no object, version or upload), nothing
		// was destroyed and cleanup must not say it was.
		c.closeNeverMade(in, "nothing stored for "+in.Kind+" "+id+": the upload never began")
		return
	case gone:
		if err := c.Ledger.Destroyed(in.Ref, "found by label, already gone"); err != nil {
			c.failed(in, id, fmt.Errorf("already gone, but the ledger could not record it: %w", err))
			return
		}
		c.done(Result{Record: in, ID: id, Outcome: Gone, Note: "found by label " + in.Label + ", already gone"})
		return
	}
	if err := c.Ledger.Destroyed(in.Ref, "found by label, destroyed by scn cleanup"); err != nil {
		c.failed(in, id, fmt.Errorf("destroyed, but the ledger could not record it: %w", err))
		return
	}
	c.done(Result{Record: in, ID: id, Outcome: Destroyed, Note: "found by label " + in.Label + ", destroyed"})
}

// inStore reports whether resources of kind live in the target's store
// under a name their intent's label carries.
func inStore(kind string) bool { return kind == ledger.KindSnapshot || kind == ledger.KindRelay }

// closeNeverMade closes an intent whose resource never came to exist.
func (c *Cleaner) closeNeverMade(in ledger.Record, why string) {
	if err := c.Ledger.Failed(in.Ref, why); err != nil {
		c.failed(in, "", fmt.Errorf("%s, but the ledger could not record it: %w", why, err))
		return
	}
	c.done(Result{Record: in, Outcome: NeverMade, Note: why})
}

// accounted reports whether a ledger record other than an id-less intent
// knows id: that record (open or closed) answers for it.
func (c *Cleaner) accounted(provider, id string) bool {
	for _, r := range c.all {
		if r.ID == id && r.Provider == provider {
			return true
		}
	}
	return false
}

func (c *Cleaner) done(res Result) {
	switch res.Outcome {
	case Destroyed:
		c.score.Destroyed++
	case Gone:
		c.score.Gone++
	case NeverMade:
		c.score.NeverMade++
	}
	c.report(res)
}

func (c *Cleaner) failed(r ledger.Record, id string, err error) {
	c.score.Left++
	c.report(Result{Record: r, ID: id, Outcome: Left, Err: err})
}

func (c *Cleaner) report(res Result) {
	if c.Report != nil {
		c.Report(res)
	}
}
