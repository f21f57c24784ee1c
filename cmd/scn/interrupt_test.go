package main

import (
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/runner"
)

// A second signal while a create is in flight still names what may exist:
// the ledger's intent, which the runner has no id for yet.
func TestWriteAliveNamesCreatesInFlight(t *testing.T) {
	led, err := ledger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	c, err := runner.Check(runner.AdHoc("log", map[string]any{"message": "hi"}, false), builtin.Registry())
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *runner.Runner {
		r, err := runner.New(c, runner.Options{Ledger: resource.OnLedger(led)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	busy, idle := mk(), mk()
	if _, err := led.Intent(ledger.Entry{Run: busy.RunID(), Step: "gpu", Kind: "instance", Provider: "vast", Target: "vast",
		Label: "scn-" + busy.RunID() + "-gpu"}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	writeAlive(&b, []*runner.Runner{busy, idle}, led)
	want := "  being created: instance scn-" + busy.RunID() + "-gpu (vast) from step gpu: it may exist\n" +
		"  clean up with: scn cleanup --run " + busy.RunID() + "\n"
	if b.String() != want {
		t.Errorf("writeAlive printed:\n%s\nwant:\n%s", b.String(), want)
	}
}
