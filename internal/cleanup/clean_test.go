package cleanup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/sshpool"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/target"
)

// world is a project's state directory with a real ledger, a directory
// store and an ssh pool (whose leases are real files, so hosts are
// "created" and "destroyed" without a network).
type world struct {
	t     *testing.T
	state string
	led   *ledger.Ledger
	hosts []sshpool.Host
	pool  *sshpool.Provider
	store *store.Dir
}

func newWorld(t *testing.T) *world {
	t.Helper()
	state := t.TempDir()
	led, err := ledger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	var hosts []sshpool.Host
	for i := 1; i <= 6; i++ {
		hosts = append(hosts, sshpool.Host{Name: fmt.Sprintf("g%d", i), Host: "192.0.2.1"})
	}
	return &world{t: t, state: state, led: led, hosts: hosts,
		pool:  sshpool.New(sshpool.Options{StateDir: state, Hosts: hosts}),
		store: store.NewDir(state + "/store")}
}

// record writes a ledger record: an intent, then (when id is set) its
// creation, then (when closed) its destruction.
func (w *world) record(run, kind, provider, tgt, label, id string, closed bool) {
	w.t.Helper()
	ref, err := w.led.Intent(ledger.Entry{Run: run, Step: "s", Kind: kind, Provider: provider, Target: tgt, Label: label})
	if err == nil && id != "" {
		err = w.led.Created(ref, id, nil)
	}
	if err == nil && closed {
		err = w.led.Destroyed(ref, "destroyed by its run")
	}
	if err != nil {
		w.t.Fatal(err)
	}
}

// lease rents host on the pool under label, as a run would.
func (w *world) lease(host, label string) {
	w.t.Helper()
	if _, err := w.pool.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: host}, Label: label}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) put(keys ...string) {
	w.t.Helper()
	for _, k := range keys {
		if _, err := w.store.Put(context.Background(), k, strings.NewReader("x")); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) leased() []string {
	w.t.Helper()
	insts, err := w.pool.List(context.Background(), "")
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []string
	for _, in := range insts {
		ids = append(ids, in.ID+"="+in.Label)
	}
	return ids
}

func TestCleanDestroysByIDAndByLabelAndClosesEveryRecord(t *testing.T) {
	w := newWorld(t)
	// By id: a host and two snapshots, one already gone from the store.
	w.lease("g1", "scn-r1-gpu")
	w.record("r1", ledger.KindInstance, sshpool.ProviderName, "lab", "scn-r1-gpu", "g1", false)
	w.put("snapshots/s1/data.tar.lz4", "snapshots/s1/manifest.json")
	w.record("r1", ledger.KindSnapshot, StoreProvider, "lab", "s1", "s1", false)
	w.record("r1", ledger.KindSnapshot, StoreProvider, "lab", "s2", "s2", false)
	// A standby's relay folder whose purge failed at the end of its run.
	w.put(snapshot.RelayKey("sb1"))
	w.record("r1", ledger.KindRelay, StoreProvider, "lab", "sb1", "sb1", false)
	// A killed run's standby and its relay folder: the standby's destroy
	// leaves the folder to the relay's record, which finds the upload.
	w.lease("g6", "scn-r1-standby")
	w.put(snapshot.RelayKey("g6"))
	w.record("r1", ledger.KindStandby, sshpool.ProviderName, "lab", "scn-r1-standby", "g6", false)
	w.record("r1", ledger.KindRelay, StoreProvider, "lab", "g6", "g6", false)
	// Two intents of one label: g2 carries it and no record knows g2; g3
	// carries it too but a (closed) record answers for g3, so it is not
	// theirs. One intent gets g2, the other never happened.
	w.lease("g2", "scn-r2-b")
	w.lease("g3", "scn-r2-b")
	w.record("r0", ledger.KindInstance, sshpool.ProviderName, "lab", "scn-r2-b", "g3", true)
	w.record("r2", ledger.KindInstance, sshpool.ProviderName, "lab", "scn-r2-b", "", false)
	w.record("r2", ledger.KindInstance, sshpool.ProviderName, "lab", "scn-r2-b", "", false)
	// One intent, two machines with its label: both are destroyed.
	w.lease("g4", "scn-r3-c")
	w.lease("g5", "scn-r3-c")
	w.record("r3", ledger.KindInstance, sshpool.ProviderName, "lab", "scn-r3-c", "", false)
	// A snapshot intent: a killed upload left part of it.
	w.put("snapshots/s3/data.tar.lz4")
	w.record("r3", ledger.KindSnapshot, StoreProvider, "lab", "s3", "", false)
	// A snapshot intent whose upload never stored a byte: nothing is
	// destroyed, and cleanup does not say it was.
	w.record("r3", ledger.KindSnapshot, StoreProvider, "lab", "s4", "", false)
	// A relay's intent, its standby's first sync never began.
	w.record("r3", ledger.KindRelay, StoreProvider, "lab", "sb2", "", false)
	// What cannot be done: an unknown target, an intent with no label.
	w.record("r4", ledger.KindInstance, "vast", "elsewhere", "scn-r4-x", "42", false)
	w.record("r4", ledger.KindInstance, sshpool.ProviderName, "lab", "", "", false)

	left, err := Find(w.led, w.state, ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Todo) != 14 || len(left.Live) != 0 {
		t.Fatalf("Find: %d to do, %d live; want 14 and 0", len(left.Todo), len(left.Live))
	}
	opened, closed := map[string]int{}, 0
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var results []Result
	c := &Cleaner{Ledger: w.led, Timeout: time.Minute,
		Open: func(ctx context.Context, name string) (*target.Target, error) {
			opened[name]++
			if name != "lab" {
				return nil, errors.New("no such target in scn.yaml")
			}
			tg := &target.Target{Name: "lab", Compute: w.pool, Store: w.store}
			tg.OnClose(func() { closed++ })
			return tg, nil
		},
		Report: func(r Result) { results = append(results, r) },
		Now:    func() time.Time { clock = clock.Add(time.Second); return clock },
	}
	score := c.Clean(context.Background(), left)
	c.Close()

	var got []string
	for _, r := range results {
		s := fmt.Sprintf("%s %s %d %s", r.Record.Kind, r.ID, r.Outcome, r.Note)
		if r.Err != nil {
			s += " err: " + r.Err.Error()
		}
		if r.Took != 0 {
			s += " took " + r.Took.String()
		}
		got = append(got, s)
	}
	want := []string{
		"instance g1 0 destroyed took 1s",
		"snapshot s1 0 destroyed took 1s",
		"snapshot s2 1 already gone took 1s",
		"relay sb1 0 destroyed took 1s",
		"standby g6 0 destroyed took 1s",
		"relay g6 0 destroyed took 1s",
		"instance g2 0 found by label scn-r2-b, destroyed",
		"instance  2 nothing found with label scn-r2-b on ssh: the create never happened",
		"instance g4 0 found by label scn-r3-c, destroyed",
		"instance g5 0 found by label scn-r3-c (no record of its own), destroyed",
		"snapshot s3 0 found by label s3, destroyed",
		"snapshot  2 nothing stored for snapshot s4: the upload never began",
		"relay  2 nothing stored for relay sb2: the upload never began",
		"instance 42 3  err: cannot open target elsewhere: no such target in scn.yaml",
		"instance  3  err: no label recorded: cannot look it up; check the provider by hand",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if score != (Score{Destroyed: 9, Gone: 1, NeverMade: 3, Left: 2}) {
		t.Errorf("score %+v", score)
	}
	if opened["lab"] != 1 || opened["elsewhere"] != 1 || closed != 1 {
		t.Errorf("targets opened %v and closed %d times; want each opened once, lab closed once", opened, closed)
	}
	if l := w.leased(); !slices.Equal(l, []string{"g3=scn-r2-b"}) {
		t.Errorf("still leased: %v; want only g3, which another record answers for", l)
	}
	if objs, _ := w.store.List(context.Background(), ""); len(objs) != 0 {
		t.Errorf("store still holds %v", objs)
	}

	// Every record is closed but the two that could not be handled, and
	// the intent found by label now carries its id.
	again, err := Find(w.led, w.state, ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Todo) != 2 || again.Todo[0].ID != "42" || again.Todo[1].Label != "" {
		t.Errorf("open after Clean: %+v; want the two left", again.Todo)
	}
	for _, r := range again.All {
		if r.Label == "scn-r2-b" && r.ID == "g2" && (r.State != ledger.StateDestroyed || r.Extra["found_by"] != "label") {
			t.Errorf("the intent found by label: %+v", r)
		}
	}
}

func TestFindLeavesRunsInProgressAlone(t *testing.T) {
	w := newWorld(t)
	release, err := ledger.LockRun(w.state, "busy")
	if err != nil {
		t.Fatal(err)
	}
	w.record("busy", ledger.KindSnapshot, StoreProvider, "lab", "b", "b", false)
	w.record("dead", ledger.KindSnapshot, StoreProvider, "lab", "d", "d", false)
	left, err := Find(w.led, w.state, ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Todo) != 1 || left.Todo[0].Run != "dead" || len(left.Live) != 1 || left.LivePID["busy"] != os.Getpid() {
		t.Fatalf("Find = todo %+v, live %+v, pids %v; want the busy run set aside with our pid", left.Todo, left.Live, left.LivePID)
	}
	release()
	if left, err = Find(w.led, w.state, ledger.Filter{Run: "busy"}); err != nil || len(left.Todo) != 1 {
		t.Fatalf("after its run ended: todo %+v, %v; want its record to do", left.Todo, err)
	}
}
