package cli

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
)

// twoInstances rents two instances, then naps to be killed.
const twoInstances = `name: two
steps:
  - id: a
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: b
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: nap
    action: sleep
    with: { duration: 10m }
`

// lostRun is the run id of intents written by hand, as if scn had died
// between asking the provider and hearing back.
const lostRun = "20260101-000000-dead"

// lostAnswer records an intent without an id under label and, when rent is
// true, makes the sandbox anyway: the provider created it, scn never knew.
func (e *env) lostAnswer(step string, rent bool) (label, id string) {
	e.t.Helper()
	label = "scn-" + lostRun + "-" + step
	led, err := ledger.Open(e.state)
	if err != nil {
		e.t.Fatal(err)
	}
	defer led.Close()
	if _, err := led.Intent(ledger.Entry{Run: lostRun, Step: step, Kind: "instance", Provider: "local", Target: "local", Label: label}); err != nil {
		e.t.Fatal(err)
	}
	if !rent {
		return label, ""
	}
	key, err := remote.LoadOrCreateKey(filepath.Join(e.state, "keys"))
	if err != nil {
		e.t.Fatal(err)
	}
	p := local.New(local.Options{StateDir: e.state, Exe: e.bin, Key: key})
	ctx := context.Background()
	offers, err := p.Offers(ctx, cloud.OfferQuery{GPU: "RTX_4090"})
	if err != nil || len(offers) == 0 {
		e.t.Fatalf("local offers: %v %v", offers, err)
	}
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offers[0], Label: label, PublicKey: key.AuthorizedKey})
	if err != nil {
		e.t.Fatal(err)
	}
	return label, inst.ID
}

func TestKill9ThenCleanup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, ids := e.startRun(twoInstances, "[2/3] b ... ok", 2)
	p.signal(syscall.SIGKILL)
	if code := p.wait(); code != 128+int(syscall.SIGKILL) {
		t.Fatalf("exit %d after SIGKILL", code)
	}
	run := e.records()[0].Run
	foundLabel, foundID := e.lostAnswer("gpu", true)
	nothingLabel, _ := e.lostAnswer("gpu2", false)
	for _, id := range append(slices.Clone(ids), foundID) {
		if !sandboxProcess(id) {
			t.Fatalf("sandbox %s is not alive before the cleanup: the test proves nothing", id)
		}
	}

	dry := e.scn("cleanup", "--dry-run")
	if dry.code != 1 {
		t.Fatalf("cleanup --dry-run: exit %d, want 1 (something to clean)\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	want := [][]string{
		{"KIND", "ID", "PROVIDER", "TARGET", "RUN", "STEP", "LABEL", "AGE", "ACTION"},
		{"instance", ids[0], "local", "local", run, "a", "scn-" + run + "-a", "*", "destroy"},
		{"instance", ids[1], "local", "local", run, "b", "scn-" + run + "-b", "*", "destroy"},
		{"instance", "-", "local", "local", lostRun, "gpu", foundLabel, "*", "look", "up", "by", "label"},
		{"instance", "-", "local", "local", lostRun, "gpu2", nothingLabel, "*", "look", "up", "by", "label"},
	}
	lines := strings.Split(strings.TrimSpace(dry.stdout), "\n")
	if len(lines) != len(want)+2 || !strings.HasPrefix(lines[len(lines)-1], "4 resources to clean up (dry run") {
		t.Fatalf("cleanup --dry-run printed:\n%s\nwant a header, 4 resource lines, a blank line and the count", dry.stdout)
	}
	for i, w := range want {
		got := strings.Fields(lines[i])
		if len(got) != len(w) {
			t.Fatalf("line %d %q: want fields %q", i, lines[i], w)
		}
		for k := range w {
			if w[k] != "*" && got[k] != w[k] {
				t.Errorf("line %d field %d = %q, want %q (line %q)", i, k, got[k], w[k], lines[i])
			}
		}
	}
	if n := len(e.open()); n != 4 {
		t.Fatalf("the dry run changed the ledger: %d open entries, want 4", n)
	}
	for _, id := range append(slices.Clone(ids), foundID) {
		if !sandboxProcess(id) {
			t.Fatalf("the dry run stopped sandbox %s", id)
		}
	}

	r := e.scn("cleanup")
	if r.code != 0 {
		t.Fatalf("cleanup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"instance " + ids[0] + ": destroyed",
		"instance " + ids[1] + ": destroyed",
		"instance " + foundID + ": found by label " + foundLabel + ", destroyed",
		"nothing found with label " + nothingLabel + " on local: the create never happened",
		"clean: 3 destroyed, 1 never created",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cleanup output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, id := range append(slices.Clone(ids), foundID) {
		e.assertNoSandbox(id)
	}
	e.assertLedgerClosed()
	for _, rec := range e.records() {
		if rec.Label == foundLabel && (rec.ID != foundID || rec.State != ledger.StateDestroyed) {
			t.Errorf("the intent found by label is %s with id %q; want destroyed with id %s", rec.State, rec.ID, foundID)
		}
		if rec.Label == nothingLabel && rec.State != ledger.StateFailed {
			t.Errorf("the intent with nothing behind it is %s, want failed", rec.State)
		}
	}
	if again := e.scn("cleanup"); again.code != 0 || !strings.Contains(again.stdout, "clean: nothing to do") {
		t.Errorf("second cleanup: exit %d\n%s", again.code, again.stdout)
	}
}

func TestCleanupLeavesRunsInProgressAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, ids := e.startRun(sleepy, "[1/2] gpu ... ok", 1)
	r := e.scn("cleanup")
	if r.code != 0 || !strings.Contains(r.stdout, "not touched: 1 resource of run") {
		t.Fatalf("cleanup during a run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !sandboxProcess(ids[0]) || len(e.open()) != 1 {
		t.Fatalf("cleanup touched the instance of a run in progress")
	}
	// --run names it, and still the run in progress is left to itself.
	if r := e.scn("cleanup", "--dry-run", "--run", e.open()[0].Run); r.code != 0 || !strings.Contains(r.stdout, "nothing to clean up") {
		t.Errorf("cleanup --dry-run --run: exit %d\n%s", r.code, r.stdout)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 143 {
		t.Fatalf("exit %d, want 143", code)
	}
	e.assertNoSandbox(ids[0])
	e.assertLedgerClosed()
}

func TestCleanupFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.lostAnswer("x", false)
	e.lostAnswer("y", false)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--run", "20990101-000000-none"}, 0, "nothing to clean up"},
		{[]string{"--older-than", "24h"}, 0, "nothing to clean up"},
		{[]string{"--pattern", "scn-*-y"}, 1, "1 resource to clean up"},
		{[]string{"--pattern", "["}, 2, "label pattern"},
	} {
		r := e.scn(append([]string{"cleanup", "--dry-run"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("cleanup --dry-run %v: exit %d, want %d and %q\n%s%s", c.args, r.code, c.code, c.want, r.stdout, r.stderr)
		}
	}
	r := e.scn("cleanup", "--pattern", "scn-*-y")
	if r.code != 0 || len(e.open()) != 1 || e.open()[0].Step != "x" {
		t.Fatalf("cleanup --pattern: exit %d, open %+v\n%s", r.code, e.open(), r.stdout)
	}
}

func TestCleanupDeletesSnapshotsFromTheTargetsStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := store.NewDir(filepath.Join(e.state, "store"))
	ctx := context.Background()
	// snap2's run was killed mid-upload: its data object is there, its
	// manifest never was. The intent's label is the snapshot's name.
	partial := "snapshots/scn-" + lostRun + "-snap2/data.tar.lz4"
	for _, k := range []string{"snapshots/nightly/data.tar.lz4", "snapshots/nightly/manifest.json", "snapshots/kept/manifest.json", partial} {
		if _, err := st.Put(ctx, k, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	led, err := ledger.Open(e.state)
	if err != nil {
		t.Fatal(err)
	}
	entry := ledger.Entry{Run: lostRun, Step: "snap", Kind: "snapshot", Provider: "store", Target: "local", Label: "scn-" + lostRun + "-snap"}
	ref, err := led.Intent(entry)
	if err == nil {
		err = led.Created(ref, "nightly", nil)
	}
	if err == nil {
		entry.Step, entry.Label = "snap2", "scn-"+lostRun+"-snap2"
		_, err = led.Intent(entry) // killed while uploading
	}
	led.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := e.scn("cleanup")
	if r.code != 0 || !strings.Contains(r.stdout, "snapshot nightly: destroyed") ||
		!strings.Contains(r.stdout, "snapshot scn-"+lostRun+"-snap2: found by label") {
		t.Fatalf("cleanup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	objs, err := st.List(ctx, "snapshots/")
	if err != nil || len(objs) != 1 || objs[0].Key != "snapshots/kept/manifest.json" {
		t.Fatalf("store after cleanup: %+v %v; want only the snapshot nobody recorded", objs, err)
	}
	e.assertLedgerClosed()
}
