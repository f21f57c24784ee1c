package cleanup

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/sshpool"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/target"
)

// orderStore records the order of deletes on a real store and can fail
// the delete of one key.
type orderStore struct {
	store.Store
	deleted []string
	failKey string
}

func (o *orderStore) Delete(ctx context.Context, key string) error {
	if key == o.failKey {
		return errors.New("injected delete failure")
	}
	o.deleted = append(o.deleted, key)
	return o.Store.Delete(ctx, key)
}

func putAll(t *testing.T, st store.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := st.Put(context.Background(), k, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
}

func keys(t *testing.T, st store.Store, prefix string) []string {
	t.Helper()
	objs, err := st.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func TestDeleteSnapshotRemovesManifestFirstAndOnlyItsPrefix(t *testing.T) {
	dir := store.NewDir(t.TempDir())
	putAll(t, dir, "snapshots/a/data.tar.lz4", "snapshots/a/manifest.json", "snapshots/a/part-2",
		"snapshots/ab/manifest.json", "snapshots/ab/data.tar.lz4")
	st := &orderStore{Store: dir}
	tgt := &target.Target{Name: "local", Store: st}
	gone, err := Destroy(context.Background(), tgt, "snapshot", StoreProvider, "a", "a")
	if err != nil || gone {
		t.Fatalf("Destroy = gone %v, %v; want a deletion", gone, err)
	}
	if len(st.deleted) != 3 || st.deleted[0] != "snapshots/a/manifest.json" {
		t.Fatalf("deleted %v: want the manifest first, then the 2 other objects", st.deleted)
	}
	if left := keys(t, dir, "snapshots/"); !slices.Equal(left, []string{"snapshots/ab/data.tar.lz4", "snapshots/ab/manifest.json"}) {
		t.Fatalf("left %v: snapshot ab (same first letter) must be untouched", left)
	}
	gone, err = Destroy(context.Background(), tgt, "snapshot", StoreProvider, "a", "a")
	if err != nil || !gone {
		t.Fatalf("second Destroy = gone %v, %v; want already gone", gone, err)
	}
}

func TestDeleteSnapshotFailureLeavesNoManifest(t *testing.T) {
	dir := store.NewDir(t.TempDir())
	putAll(t, dir, "snapshots/s1/data.tar.lz4", "snapshots/s1/manifest.json")
	st := &orderStore{Store: dir, failKey: "snapshots/s1/data.tar.lz4"}
	_, err := snapshot.Delete(context.Background(), st, "s1")
	if err == nil || !strings.Contains(err.Error(), "snapshots/s1/data.tar.lz4") {
		t.Fatalf("err = %v; want the failed key named", err)
	}
	// What is left is not a snapshot any more (no manifest), and a retry finishes the job.
	if left := keys(t, dir, "snapshots/s1/"); !slices.Equal(left, []string{"snapshots/s1/data.tar.lz4"}) {
		t.Fatalf("left %v", left)
	}
	if gone, err := snapshot.Delete(context.Background(), dir, "s1"); err != nil || gone {
		t.Fatalf("retry = gone %v, %v", gone, err)
	}
	if left := keys(t, dir, "snapshots/"); len(left) != 0 {
		t.Fatalf("left %v after the retry", left)
	}
}

func TestDestroyRefusesWhatItCannotName(t *testing.T) {
	dir := store.NewDir(t.TempDir())
	putAll(t, dir, "snapshots/x/manifest.json")
	tgt := &target.Target{Name: "local", Store: dir}
	for _, c := range []struct{ kind, provider, id, want string }{
		{"snapshot", "store", "../x", "invalid snapshot name"},
		{"snapshot", "store", "x/..", "invalid snapshot name"},
		{"snapshot", "store", "", "invalid snapshot name"},
		{"snapshot", "s3", "x", "unknown provider"},
		{"relay", "gcp", "x", "unknown provider"},
		{"relay", "store", "..", "not an instance id"},
		{"relay", "store", "a/..", "not an instance id"},
		{"instance", "vast", "42", `no provider "vast"`},
		{"volume", "local", "v1", "unknown kind"},
	} {
		_, err := Destroy(context.Background(), tgt, c.kind, c.provider, c.id, c.id)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Destroy(%s, %s, %q) = %v; want %q", c.kind, c.provider, c.id, err, c.want)
		}
	}
	if left := keys(t, dir, ""); len(left) != 1 {
		t.Fatalf("refused destroys deleted something: left %v", left)
	}
}

// A standby the ledger recorded goes with the sync object a killed scn
// left in the store mid-cycle; another standby's stays.
func TestDestroyStandbyDeletesItsSyncObject(t *testing.T) {
	w := newWorld(t)
	w.lease("g1", "scn-r1-standby")
	w.put(snapshot.RelayKey("g1"), snapshot.RelayKey("g2"))
	tgt := &target.Target{Name: "lab", Compute: w.pool, Store: w.store}
	gone, err := Destroy(context.Background(), tgt, ledger.KindStandby, sshpool.ProviderName, "g1", "scn-r1-standby")
	if err != nil || gone {
		t.Fatalf("Destroy = gone %v, %v; want a destruction", gone, err)
	}
	if left := keys(t, w.store, "standby-sync/"); !slices.Equal(left, []string{snapshot.RelayKey("g2")}) {
		t.Fatalf("left %v; want only the other standby's object", left)
	}
}

// A run gave its host up with reason failure and died before its end:
// its record stays open, and by the time scn cleanup reads it another run
// has leased the host. Cleanup must close the record as already gone and
// leave the other run's lease alone.
func TestDestroyLeavesAHostAnotherRunLeasedSince(t *testing.T) {
	w := newWorld(t)
	w.lease("g1", "scn-r1-gpu")
	w.record("r1", ledger.KindInstance, sshpool.ProviderName, "lab", "scn-r1-gpu", "g1", false)
	if err := w.pool.Destroy(context.Background(), "g1", cloud.ReasonFailure); err != nil {
		t.Fatal(err)
	}
	next := sshpool.New(sshpool.Options{StateDir: w.state, Hosts: w.hosts})
	if _, err := next.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: "g1"}, Label: "scn-r2-gpu"}); err != nil {
		t.Fatal(err)
	}
	// scn cleanup is a process of its own.
	sweeper := sshpool.New(sshpool.Options{StateDir: w.state, Hosts: w.hosts})
	tgt := &target.Target{Name: "lab", Compute: sweeper, Store: w.store}
	gone, err := Destroy(context.Background(), tgt, ledger.KindInstance, sshpool.ProviderName, "g1", "scn-r1-gpu")
	if err != nil || !gone {
		t.Fatalf("Destroy = gone %v, %v; want already gone", gone, err)
	}
	if l := w.leased(); !slices.Equal(l, []string{"g1=scn-r2-gpu"}) {
		t.Errorf("leased after cleanup: %v; want g1 still r2's", l)
	}
}
