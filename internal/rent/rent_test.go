package rent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/rent"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/internal/target"
)

// Renting falls back past a gone offer and past a machine whose SSH never
// answers, and keeps the run's books straight all along: the machine given
// up is destroyed and marked so, the one kept has its undo, the step's
// label and the project key went to the provider.
func TestRentFallsBackAndKeepsTheBooks(t *testing.T) {
	offers := []cloud.Offer{{ID: "o1", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.30},
		{ID: "o2", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.40}, {ID: "o3", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.50}}
	p := actiontest.NewProvider(t, "local", offers...)
	p.Refuse = func(o cloud.Offer) error {
		if o.ID == "o1" {
			return &cloud.OfferGoneError{Offer: o.ID, Detail: "rented by someone else"}
		}
		return nil
	}
	t.Cleanup(func() { // after the run's undos
		if alive := p.Alive(); len(alive) > 0 {
			t.Errorf("left alive: %v", alive)
		}
	})
	run := actiontest.NewRun(t, &target.Target{Name: "local", Compute: p, PollInterval: time.Millisecond, PublicKey: "ssh-ed25519 AAAA test"})
	run.Probe = func(_ context.Context, inst *cloud.Instance) error {
		if inst.ID == "local-1" { // from o2: never answers
			return errors.New("connection refused")
		}
		return nil
	}
	env := run.Env("gpu")
	inst, tried, err := env.Rent(context.Background(), p, offers,
		rent.Options{Kind: "instance", Race: 1, Fallback: 2, ReadyTimeout: time.Second}) // local-1 times out; local-2 has a second to answer however loaded the machine
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID != "local-2" || inst.PricePerHour != 0.50 || inst.Label != "scn-run1-gpu" || tried != 3 {
		t.Fatalf("rented %+v after %d offers", inst, tried)
	}
	if got := p.Destroyed(); !slices.Equal(got, []string{"local-1"}) {
		t.Errorf("destroyed %v, want the machine that never answered", got)
	}
	logs := strings.Join(env.Logs(), "\n")
	for _, want := range []string{
		"offer o1 is gone (rented by someone else): trying the next one",
		"instance local-1 created from offer o2 ($0.400/h), waiting for SSH",
		"instance local-1 gave up (running) and destroyed: trying the next offer",
		"instance local-2 ready at 127.0.0.1:22",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	res := run.Resources.Resources()
	if len(res) != 2 || res[0].ID != "local-1" || res[0].State != "destroyed" || res[1].ID != "local-2" || res[1].State != "alive" ||
		res[1].Kind != "instance" || res[1].Step != "gpu" || res[1].PricePerHour != 0.50 {
		t.Errorf("resources: %+v", res)
	}
	var undos []string
	for _, u := range run.Undo.Pending() {
		undos = append(undos, u.Description)
	}
	if !slices.Equal(undos, []string{"destroy instance local-2"}) {
		t.Errorf("undos %q, want only the kept machine's", undos)
	}
}

// With every offer failing, Rent says why for each and rents nothing.
func TestRentGivesUp(t *testing.T) {
	offers := []cloud.Offer{{ID: "o1", GPU: "A100", PricePerHour: 1}, {ID: "o2", GPU: "A100", PricePerHour: 1.1}}
	p := actiontest.NewProvider(t, "local", offers...)
	p.Refuse = func(o cloud.Offer) error { return &cloud.OfferGoneError{Offer: o.ID, Detail: "gone"} }
	run := actiontest.NewRun(t, &target.Target{Name: "local", Compute: p, PollInterval: time.Millisecond})
	_, tried, err := run.Env("gpu").Rent(context.Background(), p, offers, rent.Options{Kind: "instance", Fallback: 5})
	if err == nil || !strings.Contains(err.Error(), "offer o1") || !strings.Contains(err.Error(), "offer o2") || tried != 2 {
		t.Fatalf("err = %v after %d offers", err, tried)
	}
	if len(p.Alive()) > 0 || len(run.Undo.Pending()) > 0 {
		t.Errorf("something was rented: %v, undos %d", p.Alive(), len(run.Undo.Pending()))
	}
}

// uncertainErr is a provider's "the machine may exist" (cloud.IsUncertain).
type uncertainErr struct{ error }

func (uncertainErr) Uncertain() bool { return true }

// A create interrupted with a machine that may exist (the provider could
// not delete it) keeps its ledger intent open, where `scn cleanup` finds it,
// and the error tells the user why rather than only "context canceled".
func TestRentKeepsTheIntentOfAnUncertainCreateOpen(t *testing.T) {
	offers := []cloud.Offer{{ID: "o1", GPU: "e2-medium", PricePerHour: 0.01}}
	p := actiontest.NewProvider(t, "gcp", offers...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Refuse = func(cloud.Offer) error {
		cancel() // Ctrl-C while the VM was being created
		return uncertainErr{errors.New("creation of VM scn-run1-sb-x interrupted, and deleting it failed: 403 — run `scn cleanup`")}
	}
	led := &books{}
	run := actiontest.NewRun(t, &target.Target{Name: "gcp", Compute: p, PollInterval: time.Millisecond})
	run.Resources = resource.NewTracker(run.ID, "gcp", led, run.Undo)
	_, _, err := run.Env("sb").Rent(ctx, p, offers, rent.Options{Kind: "standby"})
	if err == nil || !strings.Contains(err.Error(), "deleting it failed") {
		t.Fatalf("Rent = %v; want the provider's reason", err)
	}
	if got := strings.Join(led.lines, "\n"); got != "intent standby scn-run1-sb" {
		t.Fatalf("ledger:\n%s\nwant the standby's intent alone, still open for cleanup", got)
	}
}

// books is a ledger (resource.Ledger) that lists what it was told.
type books struct{ lines []string }

func (b *books) Intent(_, _, kind, _, _, label string) (string, error) {
	b.lines = append(b.lines, "intent "+kind+" "+label)
	return "r1", nil
}
func (b *books) Created(_, id string, _ map[string]string) error {
	b.lines = append(b.lines, "created "+id)
	return nil
}
func (b *books) Destroyed(string) error { b.lines = append(b.lines, "destroyed"); return nil }
func (b *books) Failed(_, msg string) error {
	b.lines = append(b.lines, "failed: "+msg)
	return nil
}

// keep: true keeps the machine the step returns, not one provisioning gave
// up: that one is destroyed, and when destroying it failed, again at the end
// of the run (its undo is not "kept").
func TestRentKeepsOnlyTheMachineItReturns(t *testing.T) {
	offers := []cloud.Offer{{ID: "o1", GPU: "RTX_4090", PricePerHour: 0.3}, {ID: "o2", GPU: "RTX_4090", PricePerHour: 0.4}}
	p := actiontest.NewProvider(t, "local", offers...)
	p.FailDestroy = 1 // the give-up's destroy fails once
	var run *actiontest.Run
	t.Cleanup(func() { // after the run's undos: the kept machine is the user's
		if alive := p.Alive(); !slices.Equal(alive, []string{"local-2"}) {
			t.Errorf("alive after the run %v; want only the kept local-2", alive)
		}
		_ = p.Destroy(context.Background(), "local-2", cloud.ReasonUser)
		// Destroyed by the end-of-run undo, it is still the machine given
		// up, never taken for the step's (metrics.json's GPU).
		if r := run.Resources.Resources()[0]; r.ID != "local-1" || r.DestroyReason != journal.ReasonGaveUp {
			t.Errorf("%s destroyed as %q; want %q", r.ID, r.DestroyReason, journal.ReasonGaveUp)
		}
	})
	run = actiontest.NewRun(t, &target.Target{Name: "local", Compute: p, PollInterval: time.Millisecond, PublicKey: "ssh-ed25519 AAAA test"})
	run.Probe = func(_ context.Context, inst *cloud.Instance) error {
		if inst.ID == "local-1" {
			return errors.New("connection refused")
		}
		return nil
	}
	env := run.Env("gpu")
	env.Keep = true
	inst, _, err := env.Rent(context.Background(), p, offers, rent.Options{Kind: "instance", Fallback: 1, ReadyTimeout: time.Second})
	if err != nil || inst.ID != "local-2" {
		t.Fatalf("Rent = %+v, %v", inst, err)
	}
	var undos []string
	for _, u := range run.Undo.Pending() {
		undos = append(undos, u.Description)
	}
	if !slices.Equal(undos, []string{"destroy instance local-1"}) {
		t.Fatalf("undos to run %q; want the given-up machine's, and not the kept one's", undos)
	}
	for _, r := range run.Resources.Resources() {
		if want := map[string]string{"local-1": "alive", "local-2": "kept"}[r.ID]; r.State != want {
			t.Errorf("%s is %s, want %s", r.ID, r.State, want)
		}
	}
}
