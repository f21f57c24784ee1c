package sshpool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/scnlabs/scn/internal/atomicfile"
	"github.com/scnlabs/scn/internal/cloud"
)

func testHosts() []Host {
	return []Host{
		{Name: "gpu1", Host: "10.0.0.5", User: "scn", IdentityFile: "/keys/lab", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.5},
		{Name: "gpu2", Host: "10.0.0.6", Port: 2222, Workspace: "/srv/ws", GPU: "RTX_3090", NumGPUs: 2, PricePerHour: 0.3},
		{Name: "gpu3", Host: "10.0.0.7", GPU: "RTX_4090", NumGPUs: 1}, // price not given: free
		{Name: "cpu1", Host: "10.0.0.9", Role: RoleStandby},
	}
}

func newPool(t *testing.T, role string) (*Provider, string) {
	t.Helper()
	dir := t.TempDir()
	return New(Options{StateDir: dir, Hosts: testHosts(), Role: role}), dir
}

func offerIDs(t *testing.T, p *Provider, q cloud.OfferQuery) []string {
	t.Helper()
	offers, err := p.Offers(context.Background(), q)
	if err != nil {
		t.Fatalf("Offers(%+v): %v", q, err)
	}
	ids := []string{}
	for _, o := range offers {
		ids = append(ids, o.ID)
	}
	return ids
}

func create(t *testing.T, p *Provider, offerID, label string) *cloud.Instance {
	t.Helper()
	inst, err := p.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: offerID}, Label: label})
	if err != nil {
		t.Fatalf("Create(%s): %v", offerID, err)
	}
	return inst
}

func TestOffersFilterOrderAndHideLeasedHosts(t *testing.T) {
	p, _ := newPool(t, "")
	cases := []struct {
		q    cloud.OfferQuery
		want []string
	}{
		{cloud.OfferQuery{}, []string{"gpu3", "gpu2", "gpu1"}}, // by price; standby host not offered
		{cloud.OfferQuery{GPU: "rtx 4090"}, []string{"gpu3", "gpu1"}},
		{cloud.OfferQuery{GPU: "RTX_3090,rtx_4090"}, []string{"gpu3", "gpu2", "gpu1"}},
		{cloud.OfferQuery{GPU: "A100"}, []string{}},
		{cloud.OfferQuery{NumGPUs: 2}, []string{"gpu2"}},
		{cloud.OfferQuery{MaxPrice: 0.4}, []string{"gpu3", "gpu2"}},
		{cloud.OfferQuery{Order: "reliability", Limit: 2}, []string{"gpu3", "gpu2"}},
		{cloud.OfferQuery{MinReliability: 0.99}, []string{"gpu3", "gpu2", "gpu1"}},
	}
	for _, c := range cases {
		if got := offerIDs(t, p, c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Offers(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
	if _, err := p.Offers(context.Background(), cloud.OfferQuery{Order: "speed"}); err == nil || !strings.Contains(err.Error(), `"speed"`) {
		t.Errorf("ordering by speed: err = %v, want an error naming the order", err)
	}

	offers, _ := p.Offers(context.Background(), cloud.OfferQuery{GPU: "RTX_3090"})
	want := cloud.Offer{ID: "gpu2", Provider: "ssh", GPU: "RTX_3090", NumGPUs: 2, PricePerHour: 0.3, Reliability: 1, Location: "10.0.0.6"}
	if len(offers) != 1 || offers[0] != want {
		t.Errorf("offer for gpu2 = %+v, want %+v", offers, want)
	}

	create(t, p, "gpu3", "scn-r1-gpu")
	if got := offerIDs(t, p, cloud.OfferQuery{}); !reflect.DeepEqual(got, []string{"gpu2", "gpu1"}) {
		t.Errorf("offers with gpu3 leased = %v, want [gpu2 gpu1]", got)
	}
	standby := New(Options{StateDir: filepath.Dir(p.dir), Hosts: testHosts(), Role: RoleStandby})
	if got := offerIDs(t, standby, cloud.OfferQuery{}); !reflect.DeepEqual(got, []string{"cpu1"}) {
		t.Errorf("standby offers = %v, want [cpu1]", got)
	}
}

func TestCreateGetListDestroy(t *testing.T) {
	p, dir := newPool(t, RoleGPU)
	ctx := context.Background()
	inst := create(t, p, "gpu1", "scn-r1-gpu")
	want := cloud.Instance{ID: "gpu1", Provider: "ssh", Label: "scn-r1-gpu", Status: cloud.StatusRunning,
		Host: "10.0.0.5", Port: 22, User: "scn", Workspace: "/workspace", GPU: "RTX_4090", NumGPUs: 1,
		PricePerHour: 0.5, IdentityFile: "/keys/lab", CreatedAt: inst.CreatedAt}
	if !reflect.DeepEqual(*inst, want) {
		t.Errorf("Create = %+v\nwant     %+v", *inst, want)
	}
	if inst.CreatedAt.IsZero() {
		t.Error("CreatedAt is zero")
	}
	if _, err := os.Stat(filepath.Join(dir, "sshpool", "gpu1.lease")); err != nil {
		t.Errorf("lease file: %v", err)
	}
	defaults := create(t, p, "gpu2", "scn-r2-gpu")
	if defaults.Port != 2222 || defaults.User != "root" || defaults.Workspace != "/srv/ws" || defaults.IdentityFile != "" {
		t.Errorf("gpu2 = %+v: want port 2222, user root, workspace /srv/ws, project key", defaults)
	}

	got, err := p.Get(ctx, "gpu1")
	if err != nil || !reflect.DeepEqual(*got, *inst) {
		t.Errorf("Get(gpu1) = %+v, %v; want %+v", got, err, *inst)
	}
	// The standby provider of the same target can see and release GPU
	// leases too: a sweeper may ask either.
	standby := New(Options{StateDir: dir, Hosts: testHosts(), Role: RoleStandby})
	if got, err := standby.Get(ctx, "gpu1"); err != nil || got.Label != "scn-r1-gpu" {
		t.Errorf("standby.Get(gpu1) = %+v, %v", got, err)
	}
	for _, id := range []string{"nosuch", "../gpu1"} {
		if _, err := p.Get(ctx, id); !errors.Is(err, cloud.ErrNotFound) {
			t.Errorf("Get(%s) err = %v, want ErrNotFound", id, err)
		}
	}
	// A free host is still the team's machine: a drill may name it.
	for _, id := range []string{"gpu3", "cpu1"} {
		if got, err := p.Get(ctx, id); err != nil || got.ID != id || got.Label != "" || got.Status != cloud.StatusRunning {
			t.Errorf("Get(%s) of a free host = %+v, %v; want it running, unlabelled", id, got, err)
		}
	}

	for prefix, want := range map[string][]string{"": {"gpu1", "gpu2"}, "scn-r1": {"gpu1"}, "scn-r3": nil} {
		list, err := p.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		var ids []string
		for _, i := range list {
			ids = append(ids, i.ID)
		}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("List(%q) = %v, want %v", prefix, ids, want)
		}
	}
	if list, _ := standby.List(ctx, ""); len(list) != 0 {
		t.Errorf("standby.List lists GPU hosts: %+v", list)
	}

	for range 2 { // idempotent
		if err := p.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
			t.Fatalf("Destroy(gpu1): %v", err)
		}
	}
	if got, err := p.Get(ctx, "gpu1"); err != nil || got.Label != "" {
		t.Errorf("Get after Destroy = %+v, %v; want the free host, unlabelled", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sshpool", "gpu1.lease")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("gpu1's lease after Destroy: %v", err)
	}
	if ids := offerIDs(t, p, cloud.OfferQuery{GPU: "RTX_4090"}); !reflect.DeepEqual(ids, []string{"gpu3", "gpu1"}) {
		t.Errorf("offers after Destroy = %v, want gpu1 back", ids)
	}
	if err := p.Destroy(ctx, "../gpu2", cloud.ReasonUser); err == nil {
		t.Error("Destroy(../gpu2) accepted a path")
	}
	if _, err := os.Stat(filepath.Join(dir, "sshpool", "gpu2.lease")); err != nil {
		t.Errorf("gpu2's lease after destroying ../gpu2: %v", err)
	}
}

func TestCreateRefusals(t *testing.T) {
	p, _ := newPool(t, RoleGPU)
	ctx := context.Background()
	if _, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu9"}}); err == nil || !strings.Contains(err.Error(), "gpu1, gpu2, gpu3, cpu1") {
		t.Errorf("unknown host: err = %v, want the list of hosts", err)
	}
	if _, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "cpu1"}}); err == nil || !strings.Contains(err.Error(), "role standby") {
		t.Errorf("standby host from the GPU provider: err = %v", err)
	}
	create(t, p, "gpu1", "scn-20260101-000000-abcd-gpu")
	_, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}, Label: "scn-x-gpu"})
	var gone *cloud.OfferGoneError
	if !errors.As(err, &gone) || gone.Offer != "gpu1" {
		t.Fatalf("second lease of gpu1: err = %v, want *cloud.OfferGoneError", err)
	}
	for _, s := range []string{"scn-20260101-000000-abcd-gpu", "scn cleanup --run 20260101-000000-abcd", "scn do instance.destroy --with id=gpu1"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("busy error %q does not say %q", err, s)
		}
	}
	// The lease's holder is this (live) process: no "has exited" claim.
	if strings.Contains(err.Error(), "exited") {
		t.Errorf("busy error claims a live holder exited: %v", err)
	}
}

func TestCreateWithoutOfferIDTakesFirstFreeMatchingHost(t *testing.T) {
	p, _ := newPool(t, RoleGPU)
	ctx := context.Background()
	req := cloud.CreateRequest{Offer: cloud.Offer{GPU: "rtx 4090"}, Label: "scn-r-a"}
	var got []string
	for range 2 {
		inst, err := p.Create(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, inst.ID)
	}
	if !reflect.DeepEqual(got, []string{"gpu1", "gpu3"}) {
		t.Errorf("hosts taken = %v, want [gpu1 gpu3]", got)
	}
	_, err := p.Create(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "host gpu1 is leased by scn-r-a") || !strings.Contains(err.Error(), "host gpu3 is leased") {
		t.Errorf("all RTX_4090 busy: err = %v, want each holder", err)
	}
	if _, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{GPU: "H100"}}); err == nil || !strings.Contains(err.Error(), "no gpu host with GPU H100") {
		t.Errorf("no H100: err = %v", err)
	}
	standby := New(Options{StateDir: filepath.Dir(p.dir), Hosts: testHosts(), Role: RoleStandby})
	if inst, err := standby.Create(ctx, cloud.CreateRequest{Label: "scn-r-standby"}); err != nil || inst.ID != "cpu1" {
		t.Errorf("standby.Create = %+v, %v; want cpu1", inst, err)
	}
}

func TestConcurrentCreatesOneWins(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := New(Options{StateDir: dir, Hosts: testHosts()}) // as separate scn processes would
			<-start
			_, errs[i] = p.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}, Label: "scn-r-" + string(rune('a'+i))})
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("goroutines %d and %d both leased gpu1", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("nobody leased gpu1: %v", errs)
	}
	label := "scn-r-" + string(rune('a'+winner))
	for i, err := range errs {
		var gone *cloud.OfferGoneError
		if i != winner && (!errors.As(err, &gone) || !strings.Contains(err.Error(), "leased by "+label)) {
			t.Errorf("loser %d: err = %v, want OfferGoneError naming %s", i, err, label)
		}
	}
	inst, err := New(Options{StateDir: dir, Hosts: testHosts()}).Get(context.Background(), "gpu1")
	if err != nil || inst.Label != label {
		t.Errorf("lease holder = %+v, %v; want %s", inst, err, label)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "sshpool", atomicfile.TempPrefix+"*")); len(tmp) != 0 {
		t.Errorf("temporary lease files left behind: %v", tmp)
	}
}

func TestDamagedLease(t *testing.T) {
	p, dir := newPool(t, RoleGPU)
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Join(dir, "sshpool"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sshpool", "gpu1.lease"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get(ctx, "gpu1"); err == nil || errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("Get on a damaged lease: err = %v", err)
	}
	var gone *cloud.OfferGoneError
	if _, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}}); !errors.As(err, &gone) {
		t.Errorf("Create on a damaged lease: err = %v, want OfferGoneError", err)
	}
	if ids := offerIDs(t, p, cloud.OfferQuery{GPU: "RTX_4090"}); !reflect.DeepEqual(ids, []string{"gpu3"}) {
		t.Errorf("offers = %v: a damaged lease still holds its host", ids)
	}
	if err := p.Destroy(ctx, "gpu1", cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	create(t, p, "gpu1", "scn-r-gpu")
}

// A host destroyed with reason failure is a dead GPU for the rest of the
// process: a failover must land on another machine, since this one's disk
// still holds the files the drill is about to restore elsewhere.
func TestFailedHostIsNotHandedOutAgain(t *testing.T) {
	p, dir := newPool(t, RoleGPU)
	ctx := context.Background()
	create(t, p, "gpu1", "scn-r-a")
	if err := p.Destroy(ctx, "gpu1", cloud.ReasonFailure); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sshpool", "gpu1.lease")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed host's lease was not released: %v", err)
	}
	if ids := offerIDs(t, p, cloud.OfferQuery{GPU: "RTX_4090"}); !reflect.DeepEqual(ids, []string{"gpu3"}) {
		t.Errorf("offers after a failure = %v, want only gpu3", ids)
	}
	var gone *cloud.OfferGoneError
	if _, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "gpu1"}, Label: "scn-r-b"}); !errors.As(err, &gone) || !strings.Contains(err.Error(), "reason failure") {
		t.Errorf("Create(gpu1) after its failure: err = %v, want OfferGoneError saying why", err)
	}
	if inst, err := p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{GPU: "RTX_4090"}, Label: "scn-r-c"}); err != nil || inst.ID != "gpu3" {
		t.Errorf("Create(any RTX_4090) = %+v, %v; want gpu3", inst, err)
	}
	// The next scn process starts afresh.
	next := New(Options{StateDir: dir, Hosts: testHosts()})
	if ids := offerIDs(t, next, cloud.OfferQuery{GPU: "RTX_4090"}); !reflect.DeepEqual(ids, []string{"gpu1"}) {
		t.Errorf("offers to the next process = %v, want gpu1 (gpu3 is leased)", ids)
	}
}
