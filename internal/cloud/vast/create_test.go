package vast_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// pathsOf lists "METHOD path" of calls, for order assertions.
func pathsOf(calls []vasttest.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Method + " " + c.Path
	}
	return out
}

func TestCreateRegistersTheKeyThenRents(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
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
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers, AccountKeys: []string{pub + " added-by-hand"}})
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
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
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

// A 404 page that is not VAST's JSON (a proxy's, a wrong VAST_URL's) does
// not say the offer is gone, nor that nothing was rented: the create is
// uncertain, and cleanup looks for it by its label.
func TestCreateWithA404ThatIsNotVASTsIsAmbiguous(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	f.Inject(vasttest.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Status: http.StatusNotFound, Body: "<html><h1>404 Not Found</h1></html>"})
	_, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	var gone *cloud.OfferGoneError
	var amb *vast.AmbiguousError
	if errors.As(err, &gone) || !errors.As(err, &amb) || !strings.Contains(err.Error(), "VAST_URL") || !strings.Contains(err.Error(), `"scn-r-a"`) {
		t.Fatalf("a 404 page from something else: %v, want an AmbiguousError naming VAST_URL and the label", err)
	}
	f.AssertAllDestroyed(t)
}

func TestCreateRetries429ButNotALostAnswer(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	ctx := context.Background()
	f.Inject(vasttest.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Times: 2, Status: 429, Body: "API requests too frequent"})
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	if s := statuses(f.CallsTo(http.MethodPut, "/api/v0/asks/1/")); !reflect.DeepEqual(s, []int{429, 429, 200}) {
		t.Errorf("answers %v", s)
	}

	// VAST rents offer 4 but the answer is lost: renting again could rent twice.
	f.Inject(vasttest.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Status: 502, Body: "<html>502 Bad Gateway</html>", After: true})
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
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
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

func TestCreateCancelledInFlightStillReturnsTheInstance(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Inject(vasttest.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Before: cancel})
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

// A rent VAST took whose answer arrived cut, or without the contract's
// number, may have made an instance: the error is ambiguous (the run's
// ledger keeps its intent open for cleanup). A 2xx saying success: false
// made nothing.
func TestCreateWithACutOrIncompleteAnswerIsAmbiguous(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	ctx := context.Background()
	for _, c := range []struct {
		offer, label, body string
		ambiguous          bool
	}{
		{"1", "scn-r-cut", `{"success": true, "new_con`, true},
		{"4", "scn-r-nocontract", `{"success": true}`, true},
		{"2", "scn-r-refused", `{"success": false, "error": "invalid_args", "msg": "bad image"}`, false},
	} {
		f.Inject(vasttest.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Status: 200, Body: c.body, After: c.ambiguous})
		_, err := p.Create(ctx, cloud.CreateRequest{Offer: offer(c.offer, 0.4), Label: c.label})
		if err == nil || cloud.IsUncertain(err) != c.ambiguous {
			t.Errorf("%s: %v; want an error, uncertain %v", c.label, err, c.ambiguous)
		}
		if c.ambiguous && !strings.Contains(err.Error(), c.label) {
			t.Errorf("%s: %v; want the label cleanup finds it by", c.label, err)
		}
	}
	found, err := p.List(ctx, "")
	if err != nil || len(found) != 2 {
		t.Fatalf("instances %v, %v; want the two whose answers were lost", found, err)
	}
	destroyAll(t, p, found[0].ID, found[1].ID)
	f.AssertAllDestroyed(t)
}

// A host that cannot start the instance now: scn's rent (cancel_unavail)
// is refused with a 410 and nothing is billed; without cancel_unavail
// VAST would make an instance that never starts, its disk billed.
func TestCreateOnAHostThatCannotStartItIsOfferGone(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: []vasttest.Offer{{ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.4, StorageCost: 0.1, Reliability: 0.99, DiskSpace: 100, Unavailable: true}}})
	p := newProvider(t, f)
	_, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	var gone *cloud.OfferGoneError
	if !errors.As(err, &gone) || gone.Offer != "1" || !strings.Contains(gone.Detail, "no longer available") {
		t.Errorf("rent on a host that cannot start it: %v, want an OfferGoneError quoting VAST", err)
	}
	if s := statuses(f.CallsTo(http.MethodPut, "/api/v0/asks/")); !reflect.DeepEqual(s, []int{http.StatusGone}) {
		t.Errorf("answers %v, want one 410", s)
	}
	if created := f.Created(); len(created) != 0 {
		t.Errorf("instances %v were made (and their disks billed)", created)
	}
	f.AssertAllDestroyed(t)
}
