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
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
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

func TestGetFollowsTheLifecycleAndFindsSSH(t *testing.T) {
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			f := vasttest.New(t, vasttest.Options{Direct: direct, Offers: []vasttest.Offer{{
				ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.4, Reliability: 0.99, DiskSpace: 100,
				Lifecycle: []vasttest.Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image", Polls: 2}, {Status: "running", Msg: "success, running"}},
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
	f := vasttest.New(t, vasttest.Options{})
	p := newProvider(t, f)
	if _, err := p.Get(context.Background(), "123"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf(`{"instances": null}: %v, want ErrNotFound`, err)
	}
	// An id VAST could never have issued (another provider's) is not found
	// there either, so lookups across a target's providers move on.
	if _, err := p.Get(context.Background(), "x"); !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "not a VAST instance id") {
		t.Errorf("bad id: %v", err)
	}
	f.AssertAllDestroyed(t)
}

func TestDestroyWaitsUntilVASTForgetsTheInstance(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers, DestroyLag: 2})
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
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers, DestroyLag: 1000})
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
	f := vasttest.New(t, vasttest.Options{})
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
	f.Seed("scn.other", "running") // >= "scn-run1-" bytewise: VAST returns it, the prefix check drops it
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
	if want := map[string]any{"label": map[string]any{"gte": "scn-run1-"}}; !reflect.DeepEqual(filter, want) {
		t.Errorf("select_filters %v, want %v", filter, want)
	}
	if pages[0].Query.Get("limit") != "25" || pages[0].Query.Get("after_token") != "" || pages[1].Query.Get("after_token") == "" {
		t.Errorf("paging queries: %v / %v", pages[0].Query, pages[1].Query)
	}
	// The keyset order of the official clients, on every page.
	for _, pg := range pages {
		if got := pg.Query.Get("order_by"); got != `[{"col":"id","dir":"asc"}]` {
			t.Errorf("order_by %q, want id ascending as vast-cli sends it", got)
		}
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
	f := vasttest.New(t, vasttest.Options{})
	p := newProvider(t, f, func(c *vast.Config) { c.MaxListPages = 2 })
	for i := range 60 {
		f.Seed(fmt.Sprintf("scn-r-%02d", i), "running")
	}
	if _, err := p.List(context.Background(), "scn-r-"); err == nil || !strings.Contains(err.Error(), "more than 2 pages") {
		t.Errorf("60 instances in pages of 25 with a 2-page bound: %v", err)
	}
	f.Inject(vasttest.Fault{Method: http.MethodGet, Path: "/api/v1/instances/", Times: 5, Status: 200,
		Body: `{"success": true, "instances": [], "next_token": "c2FtZQ=="}`})
	if _, err := p.List(context.Background(), "scn-r-"); err == nil || !strings.Contains(err.Error(), "repeated page token") {
		t.Errorf("a server repeating its token: %v", err)
	}
	destroyAll(t, p, f.Alive()...)
	f.AssertAllDestroyed(t)
}

func TestStatusReadsAreSpacedByPollInterval(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
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

// A 404 page that is not VAST's JSON (a proxy's, a wrong base URL's) does
// not prove an instance gone: believing it would stop destroying a
// machine that is still billed. VAST's own 404 is JSON (vast-ai/docs
// destroy_instance.yaml); an instance it no longer has reads as null.
func TestA404PageIsNotVASTSayingGone(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	page := func(method string) vasttest.Fault {
		return vasttest.Fault{Method: method, Path: "/api/v0/instances/", Status: http.StatusNotFound, Body: "<html><h1>404 Not Found</h1></html>"}
	}
	f.Inject(page(http.MethodGet))
	if _, err := p.Get(ctx, inst.ID); err == nil || errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("a 404 page read as %v, want an error that is not ErrNotFound", err)
	}
	// The DELETE's 404 page stops nothing: the reads still show the
	// instance, so the DELETE is sent again, and that one is VAST's.
	f.Inject(page(http.MethodDelete))
	if err := p.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	if s := statuses(f.CallsTo(http.MethodDelete, "/api/v0/instances/")); !reflect.DeepEqual(s, []int{404, 200}) {
		t.Errorf("DELETE answers %v, want the page's 404 then VAST's 200", s)
	}
	if rec, _ := f.Instance(inst.ID); rec.DeletedAt.IsZero() {
		t.Error("Destroy returned while VAST never accepted a DELETE: still billed")
	}
	// VAST's own 404 is final.
	if err := p.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Errorf("destroying a destroyed instance: %v", err)
	}
	f.AssertAllDestroyed(t)
}

// VAST's collation is not documented. Under one that weighs punctuation
// last (as locales do), a label range "scn-r-" ≤ label < "scn-r." holds
// no "scn-r-…" label at all; List must find them whatever the order, or
// cleanup leaves the machines of a lost rent billed.
func TestListDoesNotDependOnVASTsCollation(t *testing.T) {
	punctuationLast := func(a, b string) int {
		strip := func(s string) string { return strings.NewReplacer("-", "", ".", "").Replace(s) }
		if c := strings.Compare(strip(a), strip(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	}
	f := vasttest.New(t, vasttest.Options{StringOrder: punctuationLast})
	p := newProvider(t, f)
	want := []string{f.Seed("scn-r-gpu", "running"), f.Seed("scn-r-cpu", "loading")}
	f.Seed("scn-q-gpu", "running")
	got, err := p.List(context.Background(), "scn-r-")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range got {
		ids = append(ids, in.ID)
	}
	sort.Strings(ids)
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("List(scn-r-) = %v, want %v", ids, want)
	}
	destroyAll(t, p, f.Alive()...)
	f.AssertAllDestroyed(t)
}
