package runner_test

import (
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/runner"
)

// A provider bills every byte a transfer moved, whether or not the step
// then passed: each try of a retried step and each poll of an until ran
// the transfer again, and each one's bytes are on the instance's bill,
// not only the last one's.
func TestEveryTryOfATransferIsOnTheBill(t *testing.T) {
	j, _ := runSrc(t, `
name: traffic
steps:
  - { id: gpu, action: test.create, with: { name: gpu, price: 1, sent_per_gb: 2 } }
  - id: retried
    action: test.send
    with: { on: gpu, bytes: 1000, key: r }
    retry: { attempts: 3, delay: 1ms }
    expect: [ "n >= 3" ]
  - id: polled
    action: test.send
    with: { on: gpu, bytes: 100, key: p }
    until: { expr: "n >= 2", interval: 1ms, timeout: 10s }
`, runner.Options{}, nil)
	if j.Status != journal.StatusPassed {
		t.Fatalf("%s: %s", j.Status, j.Error)
	}
	for _, r := range j.Resources {
		if r.ID != "gpu" {
			continue
		}
		const sent = 3*1000 + 2*100
		if bw := r.Bandwidth; bw == nil || bw.SentBytes != sent || bw.USD != sent*2/1e9 {
			t.Errorf("the GPU's bandwidth %+v, want the %d bytes of three tries and two polls at 2 $/GB", bw, sent)
		}
		return
	}
	t.Fatal("no resource gpu in the journal")
}
