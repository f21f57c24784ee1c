package vast_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// A fresh account has no SSH keys, and VAST says so with a 404: the rent
// must add the key and go on, not fail.
func TestCreateOnAFreshAccountWithNoKeys(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	pub := clientKey(t)
	inst, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a", PublicKey: pub})
	if err != nil {
		t.Fatalf("renting on an account without keys: %v", err)
	}
	if lists := f.CallsTo(http.MethodGet, "/api/v0/ssh/"); len(lists) != 1 || lists[0].Status != http.StatusNotFound {
		t.Errorf("key listing calls %+v, want one answered 404", lists)
	}
	if keys := f.AccountKeys(); len(keys) != 1 {
		t.Errorf("account keys after the rent: %v, want the run's", keys)
	}
	destroyAll(t, p, inst.ID)
	f.AssertAllDestroyed(t)
}

// A 404 that is not VAST's "no keys" answer (a wrong base URL) stays an error.
func TestKeyListing404OtherThanNoKeysIsAnError(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	f.Inject(vasttest.Fault{Method: http.MethodGet, Path: "/api/v0/ssh/", Status: http.StatusNotFound, Body: "<h1>Not Found</h1>"})
	p := newProvider(t, f)
	_, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a", PublicKey: clientKey(t)})
	if err == nil {
		t.Fatal("a 404 page was taken for an empty key list")
	}
	if n := len(f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 0 {
		t.Errorf("%d rents after the key listing failed", n)
	}
}

// An instance VAST has decided to stop (actual or intended status
// "stopped") will never run: the wait ends at its first read, not after
// the ready timeout.
func TestWaitFailsAtOnceOnAStoppedInstance(t *testing.T) {
	for name, lc := range map[string][]vasttest.Step{
		"actual":   {{Polls: 1}, {Status: "stopped", Msg: "Stopped"}},
		"intended": {{Polls: 1}, {Status: "loading", Msg: "Pulling image", Intended: "stopped"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := vasttest.New(t, vasttest.Options{Offers: []vasttest.Offer{{ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.4, Reliability: 0.99, DiskSpace: 100, Lifecycle: lc}}})
			p := newProvider(t, f)
			ctx := context.Background()
			inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cloud.WaitReady(ctx, p, inst.ID, cloud.WaitOptions{Interval: time.Millisecond, Timeout: time.Hour})
			var failed *cloud.InstanceFailedError
			if !errors.As(err, &failed) || failed.Status != cloud.StatusStopped {
				t.Fatalf("wait on a stopped instance: %v, want failed (stopped)", err)
			}
			if n := len(f.CallsTo(http.MethodGet, "/api/v0/instances/")); n != 2 {
				t.Errorf("%d status reads, want 2 (placed, then stopped)", n)
			}
			destroyAll(t, p, inst.ID)
			f.AssertAllDestroyed(t)
		})
	}
}

// VAST's errors come in several shapes (vast-ai/docs api-reference/
// rate-limits-and-errors.mdx: "Some omit error and return only msg or
// message"; the openapi files' 429s say "detail"; 429s are often text).
// Whichever carries "No SSH keys found", a fresh account still rents.
func TestNoKeysAnswerInEveryErrorShape(t *testing.T) {
	for _, body := range []string{
		`{"success": false, "error": "not_found", "msg": "No SSH keys found for the user."}`,
		`{"success": false, "message": "No SSH keys found for the user."}`,
		`{"detail": "No SSH keys found for the user."}`,
		`No SSH keys found for the user.`,
	} {
		f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
		f.Inject(vasttest.Fault{Method: http.MethodGet, Path: "/api/v0/ssh/", Status: http.StatusNotFound, Body: body})
		p := newProvider(t, f)
		inst, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a", PublicKey: clientKey(t)})
		if err != nil {
			t.Errorf("404 %s: %v", body, err)
			continue
		}
		destroyAll(t, p, inst.ID)
		f.AssertAllDestroyed(t)
	}
}

// Right after a rent VAST may answer a status read {"instances": null};
// the official client's wait retries on it (vast-cli vast.py
// wait_for_instance). Taking it for "gone" would throw the machine away,
// and a DELETE that VAST answers 404 then would leave it billed.
func TestANewInstanceNotShownYetIsNotGone(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers, ShowLag: 2})
	f.StartSSHServers(t, nil)
	p := newProvider(t, f)
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	ready, err := cloud.WaitReady(ctx, p, inst.ID, cloud.WaitOptions{Interval: time.Millisecond, Timeout: time.Minute})
	if err != nil || ready.Status != cloud.StatusRunning {
		t.Fatalf("wait on an instance VAST showed after two reads: %+v, %v", ready, err)
	}
	destroyAll(t, p, inst.ID)

	// Destroyed while not shown yet, with VAST's 404 to the first DELETE:
	// only a later DELETE VAST accepts ends it.
	inst, err = p.Create(ctx, cloud.CreateRequest{Offer: offer("4", 0.55), Label: "scn-r-b"})
	if err != nil {
		t.Fatal(err)
	}
	f.Inject(vasttest.Fault{Method: http.MethodDelete, Path: "/api/v0/instances/" + inst.ID + "/", Status: http.StatusNotFound,
		Body: `{"success": false, "error": "not_found", "msg": "Instance not found"}`})
	if err := p.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	if rec, _ := f.Instance(inst.ID); rec.DeletedAt.IsZero() {
		t.Error("Destroy believed a 404 about an instance VAST had not shown yet: still billed")
	}
	// Once VAST has shown (or accepted the DELETE of) an instance, its
	// null is final.
	if _, err := p.Get(ctx, inst.ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("a destroyed instance: %v, want ErrNotFound", err)
	}
	f.AssertAllDestroyed(t)
}

// An instance VAST never shows after its rent, and whose every DELETE it
// answers 404, cannot be said to be gone: the destroy fails saying so,
// not that VAST "still lists" a machine it never listed.
func TestANeverShownInstanceFailsItsDestroySayingSo(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers, ShowLag: 1000})
	p := newProvider(t, f)
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	f.Inject(vasttest.Fault{Method: http.MethodDelete, Path: "/api/v0/instances/" + inst.ID + "/", Status: http.StatusNotFound, Times: 2,
		Body: `{"success": false, "error": "not_found", "msg": "Instance not found"}`})
	err = p.Destroy(ctx, inst.ID, cloud.ReasonUser)
	if err == nil || !strings.Contains(err.Error(), "has not shown it since it was rented") || strings.Contains(err.Error(), "still lists") {
		t.Fatalf("destroying an instance VAST never showed: %v", err)
	}
	destroyAll(t, p, inst.ID) // the fake's own record: DELETE it for real
	f.AssertAllDestroyed(t)
}
