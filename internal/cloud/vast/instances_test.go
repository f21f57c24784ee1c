package vast_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vastfake"
)

func offer(id string, price float64) cloud.Offer {
	return cloud.Offer{ID: id, Provider: "vast", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: price}
}

func destroyAll(t *testing.T, p *vast.Provider, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := p.Destroy(context.Background(), id, cloud.ReasonUser); err != nil {
			t.Errorf("destroying %s: %v", id, err)
		}
	}
}

// pathsOf lists "METHOD path" of calls, for order assertions.
func pathsOf(calls []vastfake.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method + " " + c.Path
	}
	return out
}

func TestCreateRegistersTheKeyThenRents(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	pub := clientKey(t)
	ctx := context.Background()
	req := cloud.CreateRequest{
		Offer: offer("1", 0.40), Label: "scn-run1-gpu", PublicKey: pub + " drill@laptop",
		OnStart: "echo started > /tmp/started", Env: map[string]string{"SCN_RUN": "run1"},
	}
	inst, err := p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if created := f.Created(); !reflect.DeepEqual(created, []string{inst.ID}) {
		t.Fatalf("instance %s, fake created %v", inst.ID, created)
	}
	want := cloud.Instance{ID: inst.ID, Provider: "vast", Label: "scn-run1-gpu", Status: cloud.StatusCreating,
		User: "root", Workspace: "/workspace", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.40, CreatedAt: inst.CreatedAt}
	if !reflect.DeepEqual(*inst, want) || inst.CreatedAt.IsZero() {
		t.Errorf("instance:\n got %+v\nwant %+v", *inst, want)
	}
	if got := pathsOf(f.Calls()); !reflect.DeepEqual(got, []string{"GET /api/v0/ssh/", "POST /api/v0/ssh/", "PUT /api/v0/asks/1/"}) {
		t.Errorf("calls: %v (the key must be on the account before the rent)", got)
	}
	rec, _ := f.Instance(inst.ID)
	if rec.Label != "scn-run1-gpu" || rec.Image != vast.DefaultImage || rec.Disk != vast.DefaultDiskGB || rec.Runtype != "ssh_direc ssh_proxy" {
		t.Errorf("create body as the fake saw it: %+v", rec)
	}
	if rec.OnStart != "mkdir -p /workspace\necho started > /tmp/started" {
		t.Errorf("onstart %q", rec.OnStart)
	}
	if !reflect.DeepEqual(rec.Env, map[string]string{"SCN_RUN": "run1"}) {
		t.Errorf("env %v", rec.Env)
	}
	if len(rec.Keys) != 1 || !strings.HasPrefix(rec.Keys[0], pub) {
		t.Errorf("the instance was created with keys %v, want the run's", rec.Keys)
	}

	// A second rent with the same key does not touch the account's keys again.
	req.Offer, req.Image, req.DiskGB = offer("4", 0.55), "ubuntu:24.04", 64
	inst2, err := p.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.CallsTo(http.MethodGet, "/api/v0/ssh/")) + len(f.CallsTo(http.MethodPost, "/api/v0/ssh/")); n != 2 {
		t.Errorf("%d key calls after two rents, want the first two only", n)
	}
	if rec2, _ := f.Instance(inst2.ID); rec2.Image != "ubuntu:24.04" || rec2.Disk != 64 {
		t.Errorf("request image/disk not sent: %+v", rec2)
	}
	destroyAll(t, p, inst.ID, inst2.ID)
	f.AssertAllDestroyed(t)
}

func TestCreateKeepsAKeyAlreadyOnTheAccount(t *testing.T) {
	pub := clientKey(t)
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers, AccountKeys: []string{pub + " added-by-hand"}})
	p := newProvider(t, f)
	inst, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a", PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.CallsTo(http.MethodPost, "/api/v0/ssh/")); n != 0 {
		t.Errorf("the key was added again (%d POSTs)", n)
	}
	if keys := f.AccountKeys(); len(keys) != 1 {
		t.Errorf("account keys %v", keys)
	}
	destroyAll(t, p, inst.ID)
	f.AssertAllDestroyed(t)
}

func TestCreateOfferGone(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	f.TakeOffer(1)
	for _, id := range []string{"1", "99"} {
		_, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer(id, 0.4), Label: "scn-r-a"})
		var gone *cloud.OfferGoneError
		if !errors.As(err, &gone) || gone.Offer != id || !strings.Contains(gone.Detail, "not available") {
			t.Errorf("offer %s: %v, want an OfferGoneError quoting VAST", id, err)
		}
	}
	if s := statuses(f.CallsTo(http.MethodPut, "/api/v0/asks/")); !reflect.DeepEqual(s, []int{404, 404}) {
		t.Errorf("answers %v", s)
	}
	f.AssertAllDestroyed(t)
}

func TestCreateRetries429ButNotALostAnswer(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	ctx := context.Background()
	f.Inject(vastfake.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Times: 2, Status: 429, Body: "API requests too frequent"})
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	if s := statuses(f.CallsTo(http.MethodPut, "/api/v0/asks/1/")); !reflect.DeepEqual(s, []int{429, 429, 200}) {
		t.Errorf("answers %v", s)
	}

	// VAST rents offer 4 but the answer is lost: renting again could rent twice.
	f.Inject(vastfake.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Status: 502, Body: "<html>502 Bad Gateway</html>", After: true})
	_, err = p.Create(ctx, cloud.CreateRequest{Offer: offer("4", 0.55), Label: "scn-r-b"})
	if err == nil || !strings.Contains(err.Error(), "may exist") || !strings.Contains(err.Error(), `"scn-r-b"`) {
		t.Fatalf("lost answer: %v, want a warning naming the label", err)
	}
	var amb *vast.AmbiguousError
	if !errors.As(err, &amb) {
		t.Errorf("error is not an AmbiguousError: %T", err)
	}
	if n := len(f.CallsTo(http.MethodPut, "/api/v0/asks/4/")); n != 1 {
		t.Errorf("the rent was sent %d times", n)
	}
	// The label is how cleanup finds it.
	found, err := p.List(ctx, "scn-r-b")
	if err != nil || len(found) != 1 {
		t.Fatalf("list by label: %v, %v", found, err)
	}
	destroyAll(t, p, inst.ID, found[0].ID)
	f.AssertAllDestroyed(t)
}

func TestCreateRefusesBadRequestsBeforeCallingVAST(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	for name, req := range map[string]cloud.CreateRequest{
		"foreign offer": {Offer: cloud.Offer{ID: "1", Provider: "local"}, Label: "scn-a"},
		"bad offer id":  {Offer: cloud.Offer{ID: "abc"}, Label: "scn-a"},
		"no label":      {Offer: offer("1", 0.4)},
		"long onstart":  {Offer: offer("1", 0.4), Label: "scn-a", OnStart: strings.Repeat("x", 5000)},
		"bad key":       {Offer: offer("1", 0.4), Label: "scn-a", PublicKey: "not a key"},
	} {
		if _, err := p.Create(context.Background(), req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := len(f.Calls()); n != 0 {
		t.Errorf("%d calls reached VAST", n)
	}
	f.AssertAllDestroyed(t)
}

func TestGetFollowsTheLifecycleAndFindsSSH(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			f := vastfake.New(t, vastfake.Options{Direct: direct, Offers: []vastfake.Offer{{
				ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.4, Reliability: 0.99, DiskSpace: 100,
				Lifecycle: []vastfake.Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image", Polls: 2}, {Status: "running", Msg: "success, running"}},
			}}})
			f.StartSSHServers(t, nil)
			p := newProvider(t, f)
			ctx := context.Background()
			inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-gpu"})
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for range 4 {
				got, err := p.Get(ctx, inst.ID)
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, got.Status)
				if got.Status != cloud.StatusRunning && got.Host != "" {
					t.Errorf("%s instance already has SSH %s", got.Status, got.Addr())
				}
				if got.Status == cloud.StatusRunning {
					srv := f.SSHServer(inst.ID)
					want := cloud.Instance{ID: inst.ID, Provider: "vast", Label: "scn-r-gpu", Status: "running", StatusMsg: "success, running",
						Host: "127.0.0.1", Port: srv.Port, User: "root", Workspace: "/workspace", GPU: "RTX_4090", NumGPUs: 1,
						PricePerHour: 0.4, CreatedAt: got.CreatedAt}
					if !reflect.DeepEqual(*got, want) {
						t.Errorf("running instance:\n got %+v\nwant %+v", *got, want)
					}
					if time.Since(got.CreatedAt) > time.Minute || got.CreatedAt.After(time.Now()) {
						t.Errorf("start_date not read: %v", got.CreatedAt)
					}
				}
			}
			if want := []string{"creating", "loading", "loading", "running"}; !reflect.DeepEqual(seen, want) {
				t.Errorf("statuses %v, want %v", seen, want)
			}
			destroyAll(t, p, inst.ID)
			f.AssertAllDestroyed(t)
		})
	}
}

func TestGetUnknownInstanceIsNotFound(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{})
	p := newProvider(t, f)
	if _, err := p.Get(context.Background(), "123"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("404: %v, want ErrNotFound", err)
	}
	// An id VAST could never have issued (another provider's) is not found
	// there either, so lookups across a target's providers move on.
	if _, err := p.Get(context.Background(), "x"); !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "not a VAST instance id") {
		t.Errorf("bad id: %v", err)
	}
	f.AssertAllDestroyed(t)
}

func TestDestroyWaitsUntilVASTForgetsTheInstance(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers, DestroyLag: 2})
	p := newProvider(t, f)
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Destroy(ctx, inst.ID, cloud.ReasonFailure); err != nil {
		t.Fatal(err)
	}
	var after []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c.Path, "/api/v0/instances/") {
			after = append(after, fmt.Sprintf("%s %d", c.Method, c.Status))
		}
	}
	// Shown twice as exited, then {"instances": null}.
	if want := []string{"DELETE 200", "GET 200", "GET 200", "GET 200"}; !reflect.DeepEqual(after, want) {
		t.Errorf("destroy calls %v, want %v", after, want)
	}
	if _, err := p.Get(ctx, inst.ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf(`{"instances": null}: %v, want ErrNotFound`, err)
	}
	// Already gone is not an error.
	if err := p.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Errorf("destroying again: %v", err)
	}
	f.AssertAllDestroyed(t)
}

func TestDestroyThatNeverCompletesIsAnError(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers, DestroyLag: 1000})
	p := newProvider(t, f, func(c *vast.Config) { c.DestroyChecks = 3 })
	inst, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Destroy(context.Background(), inst.ID, cloud.ReasonUser)
	if err == nil || !strings.Contains(err.Error(), "still lists it") || !strings.Contains(err.Error(), inst.ID) {
		t.Fatalf("unconfirmed destroy: %v", err)
	}
	if n := len(f.CallsTo(http.MethodDelete, "/api/v0/instances/")); n != 2 {
		t.Errorf("%d DELETEs, want 2", n)
	}
	if n := len(f.CallsTo(http.MethodGet, "/api/v0/instances/")); n != 6 {
		t.Errorf("%d checks, want 2×3", n)
	}
	f.AssertAllDestroyed(t) // the DELETE was accepted: billing stopped on the fake
}

func TestListFiltersByLabelAndPages(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{})
	p := newProvider(t, f)
	ctx := context.Background()
	var run1, all []string
	for i := range 30 {
		id := f.Seed(fmt.Sprintf("scn-run1-gpu-%02d", i), "running")
		run1 = append(run1, id)
	}
	for i := range 5 {
		f.Seed(fmt.Sprintf("scn-run2-gpu-%d", i), "loading")
	}
	f.Seed("scn.other", "running") // just above the range: "." follows "-"
	f.Seed("training-job", "running")
	f.Seed("", "exited")
	got, err := p.List(ctx, "scn-run1-")
	if err != nil {
		t.Fatal(err)
	}
	ids := func(insts []cloud.Instance) []string {
		var out []string
		for _, in := range insts {
			out = append(out, in.ID)
		}
		sort.Strings(out)
		return out
	}
	if !reflect.DeepEqual(ids(got), run1) {
		t.Errorf("List(scn-run1-): %d instances %v, want %v", len(got), ids(got), run1)
	}
	pages := f.CallsTo(http.MethodGet, "/api/v1/instances/")
	if len(pages) != 2 {
		t.Fatalf("%d pages for 30 instances, want 2", len(pages))
	}
	var filter map[string]any
	if err := json.Unmarshal([]byte(pages[0].Query.Get("select_filters")), &filter); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"label": map[string]any{"gte": "scn-run1-", "lt": "scn-run1."}}; !reflect.DeepEqual(filter, want) {
		t.Errorf("select_filters %v, want %v", filter, want)
	}
	if pages[0].Query.Get("limit") != "25" || pages[0].Query.Get("after_token") != "" || pages[1].Query.Get("after_token") == "" {
		t.Errorf("paging queries: %v / %v", pages[0].Query, pages[1].Query)
	}

	all, err = func() ([]string, error) { l, err := p.List(ctx, ""); return ids(l), err }()
	if err != nil || len(all) != 35 {
		t.Errorf(`List(""): %d instances (%v), want the 35 scn- ones`, len(all), err)
	}
	// Cleanup the way `scn cleanup` will: list, destroy, list again.
	destroyAll(t, p, all...)
	if left, err := p.List(ctx, ""); err != nil || len(left) != 0 {
		t.Errorf("after destroying: %v, %v", left, err)
	}
	destroyAll(t, p, f.Alive()...) // the foreign ones, so the fake ends empty
	f.AssertAllDestroyed(t)
}

func TestListIsBounded(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{})
	p := newProvider(t, f, func(c *vast.Config) { c.MaxListPages = 2 })
	for i := range 60 {
		f.Seed(fmt.Sprintf("scn-r-%02d", i), "running")
	}
	if _, err := p.List(context.Background(), "scn-r-"); err == nil || !strings.Contains(err.Error(), "more than 2 pages") {
		t.Errorf("60 instances in pages of 25 with a 2-page bound: %v", err)
	}
	f.Inject(vastfake.Fault{Method: http.MethodGet, Path: "/api/v1/instances/", Times: 5, Status: 200,
		Body: `{"success": true, "instances": [], "next_token": "c2FtZQ=="}`})
	if _, err := p.List(context.Background(), "scn-r-"); err == nil || !strings.Contains(err.Error(), "repeated page token") {
		t.Errorf("a server repeating its token: %v", err)
	}
	destroyAll(t, p, f.Alive()...)
	f.AssertAllDestroyed(t)
}

func TestStatusReadsAreSpacedByPollInterval(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers})
	const interval = 40 * time.Millisecond
	p := newProvider(t, f, func(c *vast.Config) { c.PollInterval = interval })
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 3 {
		if _, err := p.Get(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Three reads need two full intervals between them, whoever asks.
	if d := time.Since(start); d < 2*interval {
		t.Errorf("three status reads in %v, faster than 2×%v", d, interval)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Get(cctx, inst.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled wait for the poll slot: %v", err)
	}
	destroyAll(t, p, inst.ID)
	f.AssertAllDestroyed(t)
}

func TestCreateCancelledInFlightStillReturnsTheInstance(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Inject(vastfake.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Before: cancel})
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatalf("VAST rented while the run was being cancelled, but Create lost the id: %v", err)
	}
	if ctx.Err() == nil || !reflect.DeepEqual(f.Alive(), []string{inst.ID}) {
		t.Fatalf("ctx %v, alive %v, instance %s", ctx.Err(), f.Alive(), inst.ID)
	}
	// A cancelled context still stops what has not started.
	if _, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("4", 0.55), Label: "scn-r-b"}); !errors.Is(err, context.Canceled) {
		t.Errorf("rent with a cancelled context: %v", err)
	}
	if n := len(f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 1 {
		t.Errorf("%d rents sent", n)
	}
	destroyAll(t, p, inst.ID)
	f.AssertAllDestroyed(t)
}
