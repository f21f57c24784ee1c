package scenarios_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/target"
)

// outcome is what a faulty run left for the checks: its journal and the
// wait notes its console showed.
type outcome struct {
	j     *journal.Journal
	rec   *recorder
	tgt   *target.Target
	drill faultDrill
}

func (o *outcome) mustPass(t *testing.T) {
	t.Helper()
	if o.j.Status != journal.StatusPassed {
		t.Errorf("run %s, want passed: %s", o.j.Status, o.j.Error)
	}
}

// firstFailed is the first step that failed (in run order), or nil.
func (o *outcome) firstFailed() *journal.Step {
	for i := range o.j.Steps {
		if o.j.Steps[i].Status == journal.StepFailed {
			return &o.j.Steps[i]
		}
	}
	return nil
}

func (o *outcome) step(id string) *journal.Step {
	for i := range o.j.Steps {
		if o.j.Steps[i].ID == id {
			return &o.j.Steps[i]
		}
	}
	return nil
}

// mustFailWith checks the run failed because of step s, whose error
// matches want, and that the run's error names that step.
func (o *outcome) mustFailWith(t *testing.T, s *journal.Step, want *regexp.Regexp) {
	t.Helper()
	if o.j.Status != journal.StatusFailed {
		t.Fatalf("run %s, want failed (%s)", o.j.Status, o.j.Error)
	}
	t.Logf("step %s failed as it should: %s", s.ID, s.Error)
	if !want.MatchString(s.Error) {
		t.Errorf("step %s failed with %q, want an error matching %q", s.ID, s.Error, want)
	}
	if !strings.Contains(o.j.Error, "step "+s.ID+" failed") {
		t.Errorf("the run's error %q does not name the failed step %s", o.j.Error, s.ID)
	}
	o.restSkipped(t, s)
}

// restSkipped checks nothing ran after the failed step but finally steps.
func (o *outcome) restSkipped(t *testing.T, failed *journal.Step) {
	t.Helper()
	after := false
	for _, s := range o.j.Steps {
		if after && s.Section != "finally" && s.Status != journal.StepSkipped {
			t.Errorf("step %s ran (%s) after step %s failed", s.ID, s.Status, failed.ID)
		}
		after = after || s.ID == failed.ID
	}
}

// mustFailAfterHold checks a preempted drill: the hold step passed and the
// next step that ran failed (holdPasses), or the hold itself failed, with
// an error matching want.
func (o *outcome) mustFailAfterHold(t *testing.T, holdPasses bool, want *regexp.Regexp) {
	t.Helper()
	hold, failed := o.step(holdID), o.firstFailed()
	switch {
	case hold == nil:
		t.Fatalf("the hold step never ran (run %s: %s)", o.j.Status, o.j.Error)
	case failed == nil:
		t.Fatalf("no step failed although the instance was preempted (run %s: %s)", o.j.Status, o.j.Error)
	case holdPasses && hold.Status != journal.StepPassed:
		t.Fatalf("the hold step %s (%s), want passed once the instance exited", hold.Status, hold.Error)
	case holdPasses && failed.Index <= hold.Index:
		t.Fatalf("step %s failed before the hold: %s", failed.ID, failed.Error)
	case !holdPasses && failed.ID != holdID:
		t.Fatalf("step %s failed, want the hold step (the command cut by the preemption): %s", failed.ID, failed.Error)
	}
	o.mustFailWith(t, failed, want)
}

// mustFailIn checks the run failed in a step whose action starts with
// prefix, with an error matching want.
func (o *outcome) mustFailIn(t *testing.T, prefix string, want *regexp.Regexp) {
	t.Helper()
	failed := o.firstFailed()
	if failed == nil {
		t.Fatalf("run %s but no step failed: %s", o.j.Status, o.j.Error)
	}
	if !strings.HasPrefix(failed.Action, prefix) {
		t.Errorf("step %s (%s) failed, want a %s* step: %s", failed.ID, failed.Action, prefix, failed.Error)
	}
	o.mustFailWith(t, failed, want)
}

// mustFailOnStore checks a run whose store failed request k: it failed, in
// the step that made the request or in the cleanup, naming the failure.
func (o *outcome) mustFailOnStore(t *testing.T, k int) {
	t.Helper()
	injected := fmt.Sprintf("injected fault (request %d; failing every %d)", k, k)
	if failed := o.firstFailed(); failed != nil {
		o.mustFailWith(t, failed, regexp.MustCompile(regexp.QuoteMeta(injected)))
		return
	}
	if o.j.Status == journal.StatusPassed {
		// No step used the failed request: the cleanup did, and a failed
		// undo is tried again — it must then have succeeded on a later try.
		for _, u := range o.j.Cleanup {
			if u.Attempts > 1 && u.Status == "done" {
				return
			}
		}
		t.Fatalf("run passed although store request %d failed and no undo was retried (%s)", k, o.j.Error)
	}
	if o.j.Status != journal.StatusFailed {
		t.Fatalf("run %s although store request %d failed (%s)", o.j.Status, k, o.j.Error)
	}
	if !strings.HasPrefix(o.j.Error, "cleanup failed: ") || !strings.Contains(o.j.Error, injected) {
		t.Errorf("no step failed, so the cleanup must have; the run's error %q does not say so naming %q", o.j.Error, injected)
	}
}

// storeLeftoversAccounted checks what a failing store kept scn from
// deleting was reported — in the journal as leaked, or in the error of the
// step that gave up on a partial upload — and is open in the ledger for
// `scn cleanup`; then removes it as scn cleanup would, so that the test's
// final check finds nothing alive. Anything else left open is an error.
func (o *outcome) storeLeftoversAccounted(t *testing.T) {
	t.Helper()
	led, left := openLeftovers(t, o.tgt.StateDir)
	healthy := o.tgt.Store
	if f, ok := healthy.(*store.Faulty); ok {
		healthy = f.Store
	}
	for _, r := range left {
		if r.Kind != "snapshot" {
			continue // never excused: the final check reports it
		}
		name := r.ID
		if r.State == ledger.StateIntent {
			name = r.Label // snapshot.create records the name as the label
		}
		if !o.reported(r.State, name) {
			t.Errorf("snapshot %s is %s in the ledger but the run did not report it left behind (run %s: %s)", name, r.State, o.j.Status, o.j.Error)
		}
		if _, err := snapshot.Delete(context.Background(), healthy, name); err != nil {
			t.Fatal(err)
		}
		if err := led.Destroyed(r.Ref, "removed by the test, as scn cleanup would"); err != nil {
			t.Fatal(err)
		}
	}
}

// openLeftovers opens the ledger in state (closed when the test ends) and
// returns its open records.
func openLeftovers(t *testing.T, state string) (*ledger.Ledger, []ledger.Record) {
	t.Helper()
	led, err := ledger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	left, err := led.Leftovers(ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return led, left
}

// reported tells whether the run said it left snapshot name behind.
func (o *outcome) reported(state, name string) bool {
	if o.j.Status != journal.StatusFailed {
		return false
	}
	if state == ledger.StateIntent {
		f := o.firstFailed()
		return f != nil && strings.Contains(f.Error, "removing the partial upload failed")
	}
	for _, r := range o.j.Resources {
		if r.Kind == "snapshot" && r.ID == name && r.State == "leaked" {
			for _, u := range o.j.Cleanup {
				if u.Resource == name && u.Status == "failed" {
					return true // the cleanup tried (and retried), and said so
				}
			}
		}
	}
	return false
}

// readyNotBefore checks every instance became ready no sooner than d after
// it was asked for: the fault really delayed it.
func (o *outcome) readyNotBefore(t *testing.T, d time.Duration) {
	t.Helper()
	for _, s := range o.passed(t, "instance.create") {
		if ready := number(t, s.Outputs, "ready_seconds"); ready < d.Seconds() {
			t.Errorf("step %s: instance ready after %.3fs, before the %s fault let it", s.ID, ready, d)
		}
	}
}

// passed returns the steps of action that passed; none is an error.
func (o *outcome) passed(t *testing.T, action string) []journal.Step {
	t.Helper()
	var out []journal.Step
	for _, s := range o.j.Steps {
		if s.Action == action && s.Status == journal.StepPassed {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Errorf("no %s step passed", action)
	}
	return out
}

// sawWait checks the console was told about a wait whose note has substr.
func (o *outcome) sawWait(t *testing.T, substr string) {
	t.Helper()
	for _, w := range o.rec.notes() {
		if strings.Contains(w, substr) {
			return
		}
	}
	t.Errorf("no wait note says %q; notes: %q", substr, o.rec.notes())
}

// someStepRetried checks a step with an action starting with prefix
// passed after more than one attempt: the fault was met and got over.
func (o *outcome) someStepRetried(t *testing.T, prefix string) {
	t.Helper()
	for _, s := range o.j.Steps {
		if strings.HasPrefix(s.Action, prefix) && s.Status == journal.StepPassed && s.Attempts > 1 {
			return
		}
	}
	t.Errorf("no %s* step needed a retry: the store fault was never met", prefix)
}

// transfersPaced checks each snapshot took at least the time the bytes it
// sent over the machine's link need at rate bytes/s (less a fifth, for the
// pacer's start): the link really was slow. Through scn those are the tar
// stream's; with scn's agent, what it stored (it compresses on the machine).
func (o *outcome) transfersPaced(t *testing.T, rate int) {
	t.Helper()
	for _, s := range o.passed(t, o.drill.transfer) {
		raw, secs := number(t, s.Outputs, o.drill.raw), number(t, s.Outputs, o.drill.secs)
		if outputsOf(t, s.Outputs)["via"] == "agent" {
			raw = number(t, s.Outputs, "bytes_stored")
		}
		if least := 0.8 * raw / float64(rate); secs < least {
			t.Errorf("step %s streamed %.0f bytes in %.3fs over a %d B/s link (at least %.3fs)", s.ID, raw, secs, rate, least)
		}
	}
}

// number reads a numeric output from a journal step's (generic) outputs.
func number(t *testing.T, outputs any, key string) float64 {
	t.Helper()
	v, ok := outputsOf(t, outputs)[key].(float64)
	if !ok {
		t.Fatalf("outputs have no number %s: %v", key, outputs)
	}
	return v
}

// outputsOf is a journal step's outputs as JSON sees them.
func outputsOf(t *testing.T, outputs any) map[string]any {
	t.Helper()
	b, err := json.Marshal(outputs)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("outputs %s: %v", b, err)
	}
	return m
}

// dump logs what the run did, for a failed check.
func (o *outcome) dump(t *testing.T) {
	t.Helper()
	t.Logf("run %s: %s", o.j.Status, o.j.Error)
	for _, s := range o.j.Steps {
		t.Logf("  step %-12s %-16s %-8s attempts=%d %.2fs %s", s.ID, s.Action, s.Status, s.Attempts, s.Seconds, s.Error)
	}
	for _, u := range o.j.Cleanup {
		t.Logf("  undo %s: %s %s", u.Description, u.Status, u.Error)
	}
}
