package sshpool

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
)

// The end-of-run undo of a host that run A gave up with reason failure
// runs after another run, B, has leased the host again: it must give back
// only A's lease, which is gone, and leave B's in place, so that a third
// run, C, cannot take the machine B is driving.
func TestDestroyLeavesAnotherRunsLease(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a := New(Options{StateDir: dir, Hosts: testHosts()}) // three scn processes
	b := New(Options{StateDir: dir, Hosts: testHosts()})
	c := New(Options{StateDir: dir, Hosts: testHosts()})

	create(t, a, "gpu1", "scn-20260101-000000-aaaa-gpu")
	if err := a.Destroy(ctx, "gpu1", cloud.ReasonFailure); err != nil {
		t.Fatal(err)
	}
	// To A the host is a dead machine now: instance.destroy asks, and
	// drops the run's cleanup of it.
	if _, err := a.Get(ctx, "gpu1"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("A's Get(gpu1) after its failure: err = %v, want ErrNotFound", err)
	}
	create(t, b, "gpu1", "scn-20260101-000000-bbbb-gpu")
	if err := a.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil { // A's undo
		t.Fatalf("A's second destroy of gpu1: %v", err)
	}

	if inst, err := c.Get(ctx, "gpu1"); err != nil || inst.Label != "scn-20260101-000000-bbbb-gpu" {
		t.Errorf("gpu1 after A's undo = %+v, %v; want still leased by B", inst, err)
	}
	var gone *cloud.OfferGoneError
	_, err := c.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}, Label: "scn-20260101-000000-cccc-gpu"})
	if !errors.As(err, &gone) || !strings.Contains(err.Error(), "leased by scn-20260101-000000-bbbb-gpu") {
		t.Errorf("C leasing gpu1 while B holds it: err = %v, want OfferGoneError naming B", err)
	}
	// B's own destroy still gives the host back.
	if err := b.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	create(t, c, "gpu1", "scn-20260101-000000-cccc-gpu")
}

// scn cleanup knows a host by a dead run's record: it releases the lease
// only while it still carries that run's label.
func TestDestroyLabelledReleasesOnlyTheRecordsLease(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	run := New(Options{StateDir: dir, Hosts: testHosts()})
	sweeper := New(Options{StateDir: dir, Hosts: testHosts()}) // scn cleanup, another process
	create(t, run, "gpu1", "scn-r2-gpu")

	for _, id := range []string{"gpu1", "gpu2"} { // another run's lease; a free host
		if err := sweeper.DestroyLabelled(ctx, id, "scn-r1-gpu", cloud.ReasonUser); !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("DestroyLabelled(%s, scn-r1-gpu): err = %v, want ErrNotFound", id, err)
		}
	}
	if inst, err := sweeper.Get(ctx, "gpu1"); err != nil || inst.Label != "scn-r2-gpu" {
		t.Errorf("gpu1 after the sweep for r1 = %+v, %v; want still leased by r2", inst, err)
	}
	if err := sweeper.DestroyLabelled(ctx, "gpu1", "scn-r2-gpu", cloud.ReasonUser); err != nil {
		t.Fatalf("DestroyLabelled(gpu1, scn-r2-gpu): %v", err)
	}
	if inst, err := sweeper.Get(ctx, "gpu1"); err != nil || inst.Label != "" {
		t.Errorf("gpu1 after the sweep for r2 = %+v, %v; want it free", inst, err)
	}
	// The run's own undo, late: the host is free, and stays so.
	if err := run.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	create(t, New(Options{StateDir: dir, Hosts: testHosts()}), "gpu1", "scn-r3-gpu")
	if err := run.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	if inst, err := sweeper.Get(ctx, "gpu1"); err != nil || inst.Label != "scn-r3-gpu" {
		t.Errorf("gpu1 after r2's late undo = %+v, %v; want still leased by r3", inst, err)
	}
}

// A Provider that leases a host again, even under the same label, gives
// back its new lease: it keeps the latest lease's token, not the first.
func TestDestroyReleasesTheProvidersLatestLease(t *testing.T) {
	p, dir := newPool(t, RoleGPU)
	ctx := context.Background()
	for range 2 {
		create(t, p, "gpu1", "scn-r1-gpu")
		if err := p.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := New(Options{StateDir: dir, Hosts: testHosts()}).readLease("gpu1"); !isNotFound(err) {
		t.Errorf("gpu1's lease after its second destroy: %+v, %v", l, err)
	}
}

// A run's own release, scn cleanup's release of the same lease and a new
// taker, all at once: a lease the taker got is still there afterwards.
// Both releases check the lease and remove it under one lock, so the one
// that comes second cannot remove the taker's lease in place of the one
// it read.
func TestConcurrentReleasesNeverRemoveANewLease(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for i := range 200 {
		run := New(Options{StateDir: dir, Hosts: testHosts()})
		sweeper := New(Options{StateDir: dir, Hosts: testHosts()})
		taker := New(Options{StateDir: dir, Hosts: testHosts()})
		create(t, run, "gpu1", "scn-r1-gpu")
		var wg sync.WaitGroup
		var took error
		wg.Add(3)
		go func() { defer wg.Done(); _ = run.Destroy(ctx, "gpu1", cloud.ReasonUser) }()
		go func() { defer wg.Done(); _ = sweeper.DestroyLabelled(ctx, "gpu1", "scn-r1-gpu", cloud.ReasonUser) }()
		go func() {
			defer wg.Done()
			_, took = taker.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}, Label: "scn-r2-gpu"})
		}()
		wg.Wait()
		if took == nil {
			if l, err := taker.readLease("gpu1"); err != nil || l.Label != "scn-r2-gpu" {
				t.Fatalf("round %d: the taker's lease after the releases: %+v, %v", i, l, err)
			}
		}
		if err := taker.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
			t.Fatal(err)
		}
	}
}
