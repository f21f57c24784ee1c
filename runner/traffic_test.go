package runner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/runner"
)

// A provider bills every byte a transfer moved, whether or not the step
// then passed: each try of a retried step and each poll of an until ran
// the transfer again, and each one's bytes are on the instance's bill,
// not only the last one's; a try that failed after moving bytes, and a
// step that failed for good, paid for them too.
func TestEveryTryOfATransferIsOnTheBill(t *testing.T) {
	j, _ := runSrc(t, `
name: traffic
steps:
  - { id: gpu, action: test.create, with: { name: gpu, price: 1, sent_per_gb: 2 } }
  - id: retried
    action: test.send
    with: { on: gpu, bytes: 1000, key: r, fail_less: 3 }
    retry: { attempts: 3, delay: 1ms }
    expect: [ "n == 3" ]
  - id: polled
    action: test.send
    with: { on: gpu, bytes: 100, key: p }
    until: { expr: "n >= 2", interval: 1ms, timeout: 10s }
  - id: broken
    action: test.send
    with: { on: gpu, bytes: 10, key: b, fail_less: 99 }
    continue_on_error: true
`, runner.Options{}, nil)
	if j.Status != journal.StatusPassed {
		t.Fatalf("%s: %s", j.Status, j.Error)
	}
	for _, r := range j.Resources {
		if r.ID != "gpu" {
			continue
		}
		const sent = 3*1000 + 2*100 + 10
		if bw := r.Bandwidth; bw == nil || bw.SentBytes != sent || bw.USD != sent*2/1e9 {
			t.Errorf("the GPU's bandwidth %+v, want the %d bytes of three tries (two failed), two polls and a failed step at 2 $/GB", bw, sent)
		}
		return
	}
	t.Fatal("no resource gpu in the journal")
}

// The budget sees a transfer's bytes while it still runs: a long copy
// whose traffic alone passes the limit is stopped, and everything cleaned
// up, without waiting for the copy to end (here only its timeout would
// end it).
func TestTheBudgetSeesTrafficAsItMoves(t *testing.T) {
	j, w := runSrc(t, `
name: traffic-budget
budget: { max_usd: 0.5 }
steps:
  - { id: gpu, action: test.create, with: { name: gpu, price: 0, sent_per_gb: 1000000000 } }
  - { id: copy, action: test.send, with: { on: gpu, bytes: 1, hold: true }, timeout: 10s }
`, runner.Options{BudgetCheckEvery: time.Millisecond}, nil)
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "budget exceeded") {
		t.Fatalf("a transfer whose first byte cost $1 against a $0.50 budget: %s %q", j.Status, j.Error)
	}
	if len(remaining(t, w)) != 0 {
		t.Error("resource left after the budget stop")
	}
}
