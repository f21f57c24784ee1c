package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/target"
)

// cleaner destroys leftovers one by one and keeps the score.
type cleaner struct {
	ctx     context.Context
	g       *globals
	s       *printer
	led     *ledger.Ledger
	timeout time.Duration
	all     []ledger.Record
	now     func() time.Time

	targets map[string]*target.Target
	openErr map[string]error

	destroyed, gone, neverMade, left int
}

func (c *cleaner) close() {
	for _, t := range c.targets {
		t.Close()
	}
}

// target opens the target a record names, once, with the environment's
// credentials like a run would; its secrets join the masker.
func (c *cleaner) target(name string) (*target.Target, error) {
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
	t, err := assembly.Open(c.ctx, assembly.OpenOptions{Name: name, StateDir: c.g.absState(), ConfigFile: c.g.config})
	if err != nil {
		err = fmt.Errorf("cannot open target %s: %w", name, err)
		c.openErr[name] = err
		return nil, err
	}
	c.s.mask.Add(t.Secrets...)
	c.targets[name] = t
	return t, nil
}

// clean handles the records in ledger order: those with an id are
// destroyed; intents without one are looked up by label, all the intents
// of one label together (the first of them sets the place in the order).
func (c *cleaner) clean(todo []ledger.Record) {
	fmt.Fprintf(c.s.out, "scn cleanup · %s in %s\n", count(len(todo), "open resource"), c.led.Path())
	type labelKey struct{ target, provider, kind, label string }
	byLabel := map[labelKey]*[]ledger.Record{}
	var order []func()
	for _, r := range todo {
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
}

// destroy destroys a resource with a known id and closes its record.
func (c *cleaner) destroy(r ledger.Record) {
	t, err := c.target(r.Target)
	if err != nil {
		c.failed(r, r.ID, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	start := c.now()
	gone, err := assembly.Destroy(ctx, t, r.Kind, r.Provider, r.ID)
	if err != nil {
		c.failed(r, r.ID, err)
		return
	}
	note, what := "destroyed by scn cleanup", "destroyed"
	if gone {
		note, what = "already gone", "already gone"
	}
	if err := c.led.Destroyed(r.Ref, note); err != nil {
		c.failed(r, r.ID, fmt.Errorf("%s, but the ledger could not record it: %w", what, err))
		return
	}
	if gone {
		c.gone++
	} else {
		c.destroyed++
	}
	c.done(r, r.ID, fmt.Sprintf("%s %s", what, fmtSeconds(c.now().Sub(start).Seconds())))
}

// lookUp handles intents that never got an id: the provider may have
// created the resource even though its answer was lost, so list what
// carries their label and is not accounted for by another record, destroy
// it, and close the intents.
func (c *cleaner) lookUp(intents []ledger.Record) {
	r := intents[0]
	fail := func(err error) {
		for _, in := range intents {
			c.failed(in, "-", err)
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
	if r.Kind == ledger.KindSnapshot {
		// snapshot.create's intent carries the snapshot's name as its label:
		// a run killed mid-upload may have left part of it in the store.
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
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
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
		if _, err := assembly.Destroy(ctx, t, r.Kind, r.Provider, id); err != nil {
			c.failed(r, id, fmt.Errorf("found by label %s: %w", r.Label, err))
			continue
		}
		c.destroyed++
		c.done(r, id, "found by label "+r.Label+" (no record of its own), destroyed")
	}
}

// destroyFound records the id an intent turned out to have, destroys it and
// closes the intent.
func (c *cleaner) destroyFound(t *target.Target, in ledger.Record, id string) {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	if err := c.led.Created(in.Ref, id, map[string]string{"found_by": "label"}); err != nil {
		c.failed(in, id, fmt.Errorf("found by label %s, but the ledger could not record it: %w", in.Label, err))
		return
	}
	if _, err := assembly.Destroy(ctx, t, in.Kind, in.Provider, id); err != nil {
		c.failed(in, id, fmt.Errorf("found by label %s: %w", in.Label, err))
		return
	}
	if err := c.led.Destroyed(in.Ref, "found by label, destroyed by scn cleanup"); err != nil {
		c.failed(in, id, fmt.Errorf("destroyed, but the ledger could not record it: %w", err))
		return
	}
	c.destroyed++
	c.done(in, id, "found by label "+in.Label+", destroyed")
}

// closeNeverMade closes an intent whose resource never came to exist.
func (c *cleaner) closeNeverMade(in ledger.Record, why string) {
	if err := c.led.Failed(in.Ref, why); err != nil {
		c.failed(in, "-", fmt.Errorf("%s, but the ledger could not record it: %w", why, err))
		return
	}
	c.neverMade++
	c.done(in, "-", why)
}

// accounted reports whether a ledger record other than an id-less intent
// knows id: that record (open or closed) answers for it.
func (c *cleaner) accounted(provider, id string) bool {
	for _, r := range c.all {
		if r.ID == id && r.Provider == provider {
			return true
		}
	}
	return false
}

func (c *cleaner) done(r ledger.Record, id, what string) {
	fmt.Fprintf(c.s.out, "  ✓ %s %s: %s  %s\n", r.Kind, id, what, where(r))
}

func (c *cleaner) failed(r ledger.Record, id string, err error) {
	c.left++
	fmt.Fprintf(c.s.out, "  ✗ %s %s: NOT destroyed: %s  %s\n", r.Kind, id, c.s.mask.String(err.Error()), where(r))
}

// where says where a record comes from.
func where(r ledger.Record) string {
	return fmt.Sprintf("(%s · target %s · run %s · step %s)", dash(r.Provider), dash(r.Target), dash(r.Run), dash(r.Step))
}

// verdict prints the score: exit 0 when nothing is left, 1 otherwise.
func (c *cleaner) verdict(live int) error {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{c.destroyed, "destroyed"}, {c.gone, "already gone"}, {c.neverMade, "never created"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	summary := strings.Join(parts, ", ")
	if c.left == 0 {
		if summary == "" {
			summary = "nothing to do"
		}
		if live > 0 {
			summary += fmt.Sprintf("; %s of runs in progress not touched", count(live, "resource"))
		}
		fmt.Fprintf(c.s.out, "clean: %s\n", summary)
		return nil
	}
	if summary != "" {
		summary = " (" + summary + ")"
	}
	fmt.Fprintf(c.s.out, "%s still left%s: fix what is said above and run `scn cleanup` again, or destroy by hand\n",
		count(c.left, "resource"), summary)
	return &exitError{code: 1}
}
