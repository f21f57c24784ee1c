package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cleanup"
	"github.com/scnlabs/scn/internal/ledger"
)

func TestFmtAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 1400 * time.Millisecond: "1s", 59 * time.Second: "59s", 61 * time.Second: "1m01s",
		2*time.Hour + 3*time.Minute: "2h03m", 47 * time.Hour: "47h00m", 75 * time.Hour: "3d03h",
	} {
		if got := fmtAge(d); got != want {
			t.Errorf("fmtAge(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestDryRunListsEveryResourceOnOneLine(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	left := &cleanup.Leftovers{
		Todo: []ledger.Record{
			{Run: "r1", Step: "gpu", Kind: "instance", Provider: "vast", Target: "vast", Label: "scn-r1-gpu", ID: "4242",
				State: ledger.StateCreated, IntentAt: now.Add(-90 * time.Minute)},
			{Run: "r1", Step: "snap", Kind: "snapshot", Provider: "store", Target: "vast", Label: "scn-r1-snap", ID: "nightly",
				State: ledger.StateCreated, CreatedAt: now.Add(-time.Minute)}, // its intent line was lost
			{Run: "r2", Step: "b", Kind: "instance", Provider: "local", Target: "local", Label: "scn-r2-b",
				State: ledger.StateIntent, IntentAt: now.Add(-3 * time.Hour)},
		},
		Live:    []ledger.Record{{Run: "r3", Kind: "instance"}, {Run: "r3", Kind: "instance"}},
		LivePID: map[string]int{"r3": 777},
	}
	var b strings.Builder
	writeDryRun(&b, left, now)
	want := `KIND      ID       PROVIDER  TARGET  RUN  STEP  LABEL        AGE    ACTION
instance  4242     vast      vast    r1   gpu   scn-r1-gpu   1h30m  destroy
snapshot  nightly  store     vast    r1   snap  scn-r1-snap  1m00s  destroy
instance  -        local     local   r2   b     scn-r2-b     3h00m  look up by label

3 resources to clean up (dry run: nothing was done; run ` + "`scn cleanup`" + ` with the same flags)
not touched: 2 resources of run r3, still in progress (pid 777): it cleans up after itself
`
	if b.String() != want {
		t.Errorf("dry run printed:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	writeDryRun(&b, &cleanup.Leftovers{}, now)
	if b.String() != "nothing to clean up\n" {
		t.Errorf("empty dry run printed %q", b.String())
	}
}

func TestCleanupWithoutLedgerCreatesNothing(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	code := run([]string{"cleanup", "--state-dir", state})
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("cleanup created the state dir")
	}
}
