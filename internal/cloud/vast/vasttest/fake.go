// Package vasttest is an httptest server that speaks the VAST.ai REST API
// the way the official CLI sees it — same paths, same JSON field names and
// types, same error shapes (plain-text 429s, {"success":false,"error":
// ...,"msg":...} 4xx, {"instances": null} for unknown and destroyed
// instances) — so
// the vast provider and everything built on it can be tested without an
// account. Offers are programmed by the test, each rented instance follows
// a scripted lifecycle advanced by status polls, and when an instance
// reaches "running" the test's SSH hook hands out a real SSH server
// (StartSSHServers gives each instance an sshtest server). Faults (429
// bursts, 5xx, lost answers) are injected per request; every call is
// recorded for assertions, and a test that ends with instances still alive
// fails.
package vasttest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultAPIKey is the bearer key the fake accepts when Options.APIKey is empty.
const defaultAPIKey = "vast-fake-key-0123456789abcdef"

// Options programs the fake.
type Options struct {
	APIKey string  // the only key accepted; a fixed one when empty (see Fake.APIKey)
	Offers []Offer // what POST /api/v0/bundles/ can return and PUT /api/v0/asks/{id}/ can rent
	// Direct makes running instances publish SSH as a direct port
	// (public_ipaddr + ports["22/tcp"]) with an unreachable proxy beside it;
	// otherwise they publish VAST's proxy (ssh_host/ssh_port) and a public
	// address without a port 22 binding.
	Direct bool
	// SSH is called (once per instance, never concurrently) when an
	// instance first reports "running"; it returns where the instance's SSH
	// server listens. An error leaves ssh_host null: a machine whose SSH
	// never comes up.
	SSH func(id string) (host string, port int, err error)
	// SSHAfter, when set, frees SSH from the status reads: the instance
	// publishes its SSH address from the first read that shows it placed
	// (actual_status no longer null), and the server StartSSHServers gives
	// it answers SSHAfter after its creation, whatever the reads say. On
	// VAST the status is what the host's last heartbeat reported
	// (docs.vast.ai, show-instance: "loading — Docker image is downloading
	// or container is starting up", "unknown — No recent heartbeat from
	// the host"), so a container's sshd can answer while reads still say
	// loading, and a read saying running does not mean sshd answers yet
	// (clouds.md: real GPUs take 60–120 s to accept SSH). With a custom SSH
	// hook, the hook is called at that first placed read and its server
	// decides when it answers. Zero: SSH comes up at the first read that
	// says running, as before.
	SSHAfter time.Duration
	// DestroyLag is how many status reads still show a destroyed instance
	// (as exited) before {"instances": null}.
	DestroyLag int
	// ShowLag is how many status reads of a new instance answer
	// {"instances": null}, as if VAST did not know it yet, before it
	// shows. The official client's wait after a rent retries on that
	// answer ("No information returned for instance … Retrying": vast-cli
	// vast.py wait_for_instance, vastai/cli/commands/machines.py). The
	// rent itself is done: a DELETE meanwhile is accepted.
	ShowLag int
	// Clock is the fake's clock for what it bills by: instances' creation
	// (start_date), the reads that make them run or stop, the DELETE, and
	// Bill's now. nil is time.Now; a test that needs billed time to pass
	// advances its own clock instead of sleeping.
	Clock func() time.Time
	// StringOrder compares two strings (-1, 0, 1) as VAST's database
	// does in filters (eq … in) and orders. VAST does not document its
	// collation, and a locale's orders punctuation, case and accents
	// otherwise than bytes do; the official client only ever filters
	// labels with in (vast-cli vast.py show__instances_v1). nil is
	// bytewise (SQL's C collation); a test passes another to check that
	// scn does not depend on it.
	StringOrder func(a, b string) int
	// Credit and Balance are GET /api/v0/users/current/'s fields.
	Credit, Balance float64
	// AccountKeys are SSH public keys already on the account.
	AccountKeys []string
}

// Offer is a machine for rent. Its wire form is a VAST bundle.
type Offer struct {
	ID      int64
	GPUName string // VAST spelling: "RTX 4090"
	NumGPUs int
	// DPHTotal is the machine's price in USD/hour without storage (VAST's
	// dph_base; its dph_total when no disk is rented). StorageCost adds
	// the disk: the offers' and instances' dph_total include it.
	DPHTotal    float64
	StorageCost float64 // USD per GB per month of disk rented (VAST storage_cost)
	// InetUpCost and InetDownCost are the host's bandwidth prices, USD per
	// GB the instance sends and receives (VAST inet_up_cost and
	// inet_down_cost: vast-ai/docs search_offers.yaml, "Upload bandwidth
	// cost ($/GB)"); VAST bills "every byte sent or received to or from
	// the instance, regardless of what state it is in" (billing.mdx). The
	// fake does not see the bytes, so Bill leaves them out.
	InetUpCost, InetDownCost float64
	Reliability              float64
	DiskSpace                float64 // GB
	Geolocation              string
	Unverified               bool
	// Unavailable: the host cannot start an instance now. A rent with
	// cancel_unavail (the default for on-demand) answers 410; one without
	// makes an instance VAST will not start, billed its disk (see
	// createInstance).
	Unavailable bool
	// Lifecycle is what the instance rented from this offer goes through;
	// nil means defaultLifecycle: placed, loading for one read, then running.
	Lifecycle []Step
}

// Step is one stage of an instance's life, as its status reads show it.
type Step struct {
	Status string // actual_status; "" is null (still being placed)
	Msg    string // status_msg
	// Intended is intended_status; "" is "running". VAST sets "stopped"
	// when it will not run the instance (a host that cannot schedule it).
	Intended string
	Polls    int // status reads this step lasts (min 1); the last step lasts forever
}

// defaultLifecycle: placed, loading for one read, then running.
var defaultLifecycle = []Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image", Polls: 1}, {Status: "running", Msg: "success, running"}}

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string
	Query  url.Values
	Body   string
	Status int       // the status answered
	At     time.Time // when the request arrived
}

// Fault replaces the fake's answer to matching requests.
type Fault struct {
	Method string // "" matches any
	Path   string // path prefix; "" matches any
	Times  int    // matching requests affected; 0 means 1
	Status int    // 0: answer normally (a fault that only runs Before)
	Body   string // sent as is: JSON when it starts with '{', else text/plain
	// Before runs when a matching request arrives, before it is handled:
	// a test can cancel the client's context while the request is in flight.
	Before func()
	// After handles the request first and then answers with the fault: the
	// server acted but the client never learns it (a lost answer).
	After bool
}

// Instance is the fake's record of a rented instance.
type Instance struct {
	ID        int64
	OfferID   int64
	Label     string
	Image     string
	Disk      float64
	Runtype   string
	OnStart   string
	Env       map[string]string
	Keys      []string // the account's keys when it was created
	Destroyed bool
	// DeletedAt is when the first DELETE was accepted: VAST bills an
	// instance per second until then (see Fake.Bill).
	DeletedAt time.Time
	// RunningAt is when the instance entered a lifecycle step whose status
	// is running (its creation when the first step is): VAST bills the
	// machine from then, the disk from its creation. Zero: it never ran.
	RunningAt time.Time
	// StoppedAt is when it last went from running to stopped or offline:
	// VAST bills a stopped instance its disk only and an offline one
	// nothing, so the machine's bill paused there (see Fake.Bill). Zero
	// while it runs, and if it never stopped.
	StoppedAt time.Time

	offer       Offer
	steps       []Step
	polls       int // status reads so far
	sshDone     bool
	sshHost     string
	sshPort     int
	goneReads   int // status reads since destroyed
	hiddenReads int // status reads answered null after creation (Options.ShowLag)
	started     float64
	runSince    time.Time     // start of the run the machine is billed for now; zero when not running
	ran         time.Duration // the machine's earlier runs, billed
	offSince    time.Time     // start of the offline spell it is in: nothing billed; zero when online
	offline     time.Duration // its earlier offline spells
	seeded      bool
	status      string // for seeded instances
}

// Fake is a running fake VAST API.
type Fake struct {
	URL string // base URL to give the provider (VAST_URL)

	t      testing.TB
	opts   Options
	srv    *httptest.Server
	mu     sync.Mutex
	hookMu sync.Mutex // serialises Options.SSH calls
	calls  []Call
	faults []*Fault
	offers map[int64]*offerState
	insts  map[int64]*Instance
	nextID int64
	keys   []accountKey

	servers map[string]*SSHServer // by instance id, from StartSSHServers
}

type offerState struct {
	Offer
	rented bool
	taken  bool
}

type accountKey struct {
	ID  int64
	Key string
}

// New starts a fake VAST API for the test; it is closed, and checked for
// instances left alive, when the test ends.
func New(t testing.TB, o Options) *Fake {
	t.Helper()
	if o.APIKey == "" {
		o.APIKey = defaultAPIKey
	}
	f := &Fake{t: t, opts: o, offers: map[int64]*offerState{}, insts: map[int64]*Instance{}, nextID: 7000001, servers: map[string]*SSHServer{}}
	for _, of := range o.Offers {
		f.offers[of.ID] = &offerState{Offer: of}
	}
	for _, k := range o.AccountKeys {
		f.keys = append(f.keys, accountKey{ID: int64(len(f.keys) + 1), Key: k})
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(func() {
		f.srv.Close()
		if alive := f.Alive(); len(alive) > 0 {
			t.Errorf("vasttest: instances never destroyed (still billed on a real account): %v", alive)
		}
	})
	return f
}

// now is the fake's billing clock (Options.Clock).
func (f *Fake) now() time.Time {
	if f.opts.Clock != nil {
		return f.opts.Clock()
	}
	return time.Now()
}

// APIKey is the key the fake accepts.
func (f *Fake) APIKey() string { return f.opts.APIKey }

// Inject adds a fault; faults apply in the order they were added.
func (f *Fake) Inject(fault Fault) {
	if fault.Times <= 0 {
		fault.Times = 1
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault)
}

// RateLimit makes the next n requests (of any kind) answer 429 with VAST's
// plain-text body and no Retry-After.
func (f *Fake) RateLimit(n int) {
	f.Inject(Fault{Times: n, Status: http.StatusTooManyRequests, Body: "API requests too frequent"})
}

// TakeOffer makes an offer disappear as if someone else rented it first:
// renting it answers 404 (no_such_ask in its msg). It still shows in searches that ran before.
func (f *Fake) TakeOffer(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.offers[id]; o != nil {
		o.taken = true
	}
}

// Seed adds an instance that exists without having been rented through the
// fake (another run's, for List and cleanup tests) and returns its id.
// status is its actual_status.
func (f *Fake) Seed(label, status string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.nextID
	f.nextID++
	f.insts[id] = &Instance{ID: id, Label: label, seeded: true, status: status, started: float64(f.now().Unix())}
	return strconv.FormatInt(id, 10)
}

// Calls returns every request received so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// CallsTo returns the requests with this method whose path starts with prefix.
func (f *Fake) CallsTo(method, prefix string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Method == method && strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// Alive lists the ids of instances not destroyed, in creation order.
func (f *Fake) Alive() []string { return f.ids(func(in *Instance) bool { return !in.Destroyed }) }

// Created lists the ids of instances rented through PUT /api/v0/asks/, in order.
func (f *Fake) Created() []string { return f.ids(func(in *Instance) bool { return !in.seeded }) }

func (f *Fake) ids(keep func(*Instance) bool) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int64
	for id, in := range f.insts {
		if keep(in) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// Instance returns a copy of the fake's record of an instance.
func (f *Fake) Instance(id string) (Instance, bool) {
	n, _ := strconv.ParseInt(id, 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.insts[n]
	if !ok {
		return Instance{}, false
	}
	cp := *in
	cp.Keys = append([]string(nil), in.Keys...)
	return cp, true
}

// AuthorizedKeys is what the instance's SSH server must accept: the account
// keys it was created with.
func (f *Fake) AuthorizedKeys(id string) []string {
	in, _ := f.Instance(id)
	return in.Keys
}

// AccountKeys lists the SSH keys on the account.
func (f *Fake) AccountKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.keys))
	for i, k := range f.keys {
		out[i] = k.Key
	}
	return out
}

// AssertAllDestroyed fails t unless nothing is alive and every instance
// rented through the fake received a DELETE.
func (f *Fake) AssertAllDestroyed(t testing.TB) {
	t.Helper()
	if alive := f.Alive(); len(alive) > 0 {
		t.Errorf("instances still alive: %v", alive)
	}
	deleted := map[string]bool{}
	for _, c := range f.CallsTo(http.MethodDelete, "/api/v0/instances/") {
		deleted[strings.Trim(strings.TrimPrefix(c.Path, "/api/v0/instances/"), "/")] = true
	}
	for _, id := range f.Created() {
		if !deleted[id] {
			t.Errorf("instance %s was created but never received a DELETE", id)
		}
	}
}
