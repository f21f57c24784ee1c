package vast_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/remote/sshtest"
)

// newProvider points a provider at the fake with millisecond timings.
func newProvider(t *testing.T, f *vasttest.Fake, adjust ...func(*vast.Config)) *vast.Provider {
	t.Helper()
	cfg := vast.Config{
		BaseURL: f.URL, APIKey: f.APIKey(),
		PollInterval: time.Millisecond, RetryBase: time.Millisecond, RetryCap: 4 * time.Millisecond,
		MaxRetries: 5, DestroyChecks: 5,
	}
	for _, a := range adjust {
		a(&cfg)
	}
	p, err := vast.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noKey fails if an error would print the API key.
func noKey(t *testing.T, err error, key string) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), key) {
		t.Errorf("error quotes the API key: %v", err)
	}
}

func statuses(calls []vasttest.Call) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = c.Status
	}
	return out
}

// clientKey is the authorized_keys line of a fresh key, as a run's
// project key would be.
func clientKey(t *testing.T) string { return sshtest.AuthorizedKey(sshtest.NewKey(t)) }

var rtxOffers = []vasttest.Offer{
	{ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.40, Reliability: 0.99, DiskSpace: 100, Geolocation: "Norway, NO"},
	{ID: 2, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.35, Reliability: 0.97, DiskSpace: 100}, // unreliable
	{ID: 3, GPUName: "RTX 3090", NumGPUs: 1, DPHTotal: 0.20, Reliability: 0.99, DiskSpace: 100}, // other GPU
	{ID: 4, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.55, Reliability: 0.995, DiskSpace: 200, Geolocation: "Texas, US",
		InetUpCost: 0.0125, InetDownCost: 0.005}, // bandwidth billed per GB
	{ID: 5, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.80, Reliability: 0.99, DiskSpace: 100},                   // too dear
	{ID: 6, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.30, Reliability: 0.99, DiskSpace: 100, Unverified: true}, // unverified
	{ID: 7, GPUName: "RTX 4090", NumGPUs: 2, DPHTotal: 0.50, Reliability: 0.99, DiskSpace: 100},                   // two GPUs
	{ID: 8, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.45, Reliability: 0.99, DiskSpace: 20},                    // small disk
}

func TestOffersSendsTheCLIQueryAndMapsOffers(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	got, err := p.Offers(context.Background(), cloud.OfferQuery{GPU: "RTX_4090", NumGPUs: 1, MaxPrice: 0.6, MinReliability: 0.98, MinDiskGB: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := []cloud.Offer{
		{ID: "1", Provider: "vast", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.40, Reliability: 0.99, DiskGB: 100, Location: "Norway, NO"},
		{ID: "4", Provider: "vast", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.55, Reliability: 0.995, DiskGB: 200, Location: "Texas, US",
			SentPerGB: 0.0125, ReceivedPerGB: 0.005},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("offers:\n got %+v\nwant %+v", got, want)
	}
	calls := f.CallsTo(http.MethodPost, "/api/v0/bundles/")
	if len(calls) != 1 {
		t.Fatalf("want 1 search, got %d", len(calls))
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(calls[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{
		"gpu_name": map[string]any{"in": []any{"RTX 4090"}}, "num_gpus": map[string]any{"eq": 1.0},
		"rentable": map[string]any{"eq": true}, "rented": map[string]any{"eq": false},
		"verified": map[string]any{"eq": true}, "external": map[string]any{"eq": false},
		"reliability": map[string]any{"gte": 0.98}, "dph_total": map[string]any{"lte": 0.6},
		"disk_space": map[string]any{"gte": 50.0}, "order": []any{[]any{"dph_total", "asc"}},
		"type": "on-demand", "limit": 20.0, "allocated_storage": float64(vast.DefaultDiskGB),
	}
	if !reflect.DeepEqual(body, wantBody) {
		t.Errorf("search body:\n got %v\nwant %v", body, wantBody)
	}
	f.AssertAllDestroyed(t)
}

func TestOffersOrderByReliabilityAndSeveralGPUs(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	got, err := p.Offers(context.Background(), cloud.OfferQuery{GPU: "RTX_4090, RTX_3090", NumGPUs: 1, Order: "reliability", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
	}
	// 4 (0.995) first; then the 0.99s by price: 3 (0.20), 1 (0.40) — the limit cuts the rest.
	if want := []string{"4", "3", "1"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("order: got %v, want %v", ids, want)
	}
	if _, err := p.Offers(context.Background(), cloud.OfferQuery{Order: "vibes"}); err == nil {
		t.Error("an unknown order was accepted")
	}
	if n := len(f.CallsTo(http.MethodPost, "/api/v0/bundles/")); n != 1 {
		t.Errorf("a query that cannot be built reached the API: %d searches", n)
	}
	f.AssertAllDestroyed(t)
}

func TestRateLimitBurstThenSuccess(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f)
	f.RateLimit(3)
	got, err := p.Offers(context.Background(), cloud.OfferQuery{GPU: "RTX_3090"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "3" {
		t.Errorf("offers after the burst: %+v", got)
	}
	if s := statuses(f.CallsTo(http.MethodPost, "/api/v0/bundles/")); !reflect.DeepEqual(s, []int{429, 429, 429, 200}) {
		t.Errorf("answers: %v, want three 429s then 200", s)
	}
	f.AssertAllDestroyed(t)
}

func TestRateLimitGivesUpAfterMaxRetries(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{})
	p := newProvider(t, f, func(c *vast.Config) { c.MaxRetries = 3 })
	f.RateLimit(100)
	_, err := p.Balance(context.Background())
	if err == nil {
		t.Fatal("balance read through an endless 429 burst")
	}
	for _, want := range []string{"429", "API requests too frequent", "gave up after 4 tries"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	noKey(t, err, f.APIKey())
	if n := len(f.Calls()); n != 4 {
		t.Errorf("%d requests, want 4 (1 + 3 retries)", n)
	}
	f.AssertAllDestroyed(t)
}

func TestServerErrorsRetriedForReads(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Credit: 12.5, Balance: -1})
	p := newProvider(t, f)
	f.Inject(vasttest.Fault{Method: http.MethodGet, Path: "/api/v0/users/current", Times: 2, Status: 502, Body: "<html>502 Bad Gateway</html>"})
	bal, err := p.Balance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if bal != 12.5 {
		t.Errorf("balance %v, want the credit 12.5", bal)
	}
	if s := statuses(f.CallsTo(http.MethodGet, "/api/v0/users/current/")); !reflect.DeepEqual(s, []int{502, 502, 200}) {
		t.Errorf("answers: %v", s)
	}
	f.AssertAllDestroyed(t)
}

func TestClientErrorsQuoteTheAPIButNeverTheKey(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	secret := "sk-live-0000-this-must-not-leak"
	p := newProvider(t, f, func(c *vast.Config) { c.APIKey = secret })
	_, err := p.Offers(context.Background(), cloud.OfferQuery{})
	if err == nil {
		t.Fatal("a wrong key was accepted")
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "Invalid user key") {
		t.Errorf("error does not quote the API: %v", err)
	}
	noKey(t, err, secret)
	if n := len(f.Calls()); n != 1 {
		t.Errorf("a 401 was retried: %d requests", n)
	}
	f.AssertAllDestroyed(t)
}

func TestNewAndConfigFromEnv(t *testing.T) {
	if _, err := vast.New(vast.Config{}); err == nil || !strings.Contains(err.Error(), "VAST_API_KEY") {
		t.Errorf("missing key: %v", err)
	}
	if _, err := vast.New(vast.Config{APIKey: "k", BaseURL: "console.vast.ai"}); err == nil {
		t.Error("a base URL without scheme was accepted")
	}
	if _, err := vast.New(vast.Config{APIKey: "k", Runtype: "jupyter_proxy"}); err == nil {
		t.Error("a runtype without ssh was accepted")
	}
	t.Setenv("VAST_API_KEY", "from-env")
	t.Setenv("VAST_URL", "http://127.0.0.1:9")
	if c := vast.ConfigFromEnv(); c.APIKey != "from-env" || c.BaseURL != "http://127.0.0.1:9" {
		t.Errorf("ConfigFromEnv: %+v", c)
	}
}

func TestBalanceReadsTheCurrentUser(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Credit: 7.25})
	p := newProvider(t, f)
	bal, err := p.Balance(context.Background())
	if err != nil || bal != 7.25 {
		t.Fatalf("balance %v, %v", bal, err)
	}
	if n := len(f.CallsTo(http.MethodGet, "/api/v0/users/current/")); n != 1 {
		t.Errorf("%d user reads", n)
	}
	f.AssertAllDestroyed(t)
}

// Config.Workspace is what instances report and what their onstart creates.
func TestWorkspaceSetting(t *testing.T) {
	if _, err := vast.New(vast.Config{APIKey: "k", Workspace: "workspace"}); err == nil {
		t.Error("a relative workspace was accepted")
	}
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers})
	p := newProvider(t, f, func(c *vast.Config) { c.Workspace = "/data/ws" })
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-gpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer destroyAll(t, p, inst.ID)
	got, err := p.Get(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := p.List(ctx, "scn-r-")
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	for what, ws := range map[string]string{"Create": inst.Workspace, "Get": got.Workspace, "List": list[0].Workspace} {
		if ws != "/data/ws" {
			t.Errorf("%s reports workspace %q, want /data/ws", what, ws)
		}
	}
	if rec, _ := f.Instance(inst.ID); !strings.HasPrefix(rec.OnStart, "mkdir -p /data/ws") {
		t.Errorf("onstart %q does not create the workspace", rec.OnStart)
	}
}

// 429s come as text or JSON (vast-ai/docs rate-limits-and-errors.mdx: "often
// plain text (in certain cases JSON with success/error/msg)"; the openapi
// files give {"detail": ...}), never with Retry-After: each is retried and,
// when retries run out, quoted.
func TestRateLimitInEveryDocumentedShape(t *testing.T) {
	for _, body := range []string{
		`API requests too frequent: endpoint threshold=2.0`,
		`{"detail": "API requests too frequent endpoint threshold=2.0"}`,
		`{"success": false, "error": "rate_limit_exceeded", "msg": "API requests too frequent endpoint threshold=3.0"}`,
	} {
		f := vasttest.New(t, vasttest.Options{Credit: 3})
		p := newProvider(t, f, func(c *vast.Config) { c.MaxRetries = 2 })
		f.Inject(vasttest.Fault{Times: 2, Status: http.StatusTooManyRequests, Body: body})
		if bal, err := p.Balance(context.Background()); err != nil || bal != 3 {
			t.Errorf("%s: balance %v, %v after two 429s", body, bal, err)
		}
		f.Inject(vasttest.Fault{Times: 3, Status: http.StatusTooManyRequests, Body: body})
		_, err := p.Balance(context.Background())
		if err == nil || !strings.Contains(err.Error(), "API requests too frequent") || !strings.Contains(err.Error(), "gave up after 3 tries") {
			t.Errorf("%s: %v, want the 429 quoted after 3 tries", body, err)
		}
	}
}
