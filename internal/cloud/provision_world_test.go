package cloud_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/remote/sshtest"
)

// The world of the Provision tests: the real VAST provider against the
// fake API; instances that reach "running" get real SSH servers on
// 127.0.0.1 and readiness is a real SSH dial + echo.

var (
	exitedLife = []vasttest.Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image", Polls: 2},
		{Status: "exited", Msg: "Error response from daemon: failed to create task: OCI runtime create failed"}}
	loadingForever = []vasttest.Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image"}}
	neverAnswers   = vasttest.SSHOptions{DropFirst: 1 << 30}
)

// sshNeverAnswersOn makes the instance rented from offer bad run an SSH
// server that drops every connection.
func sshNeverAnswersOn(bad int64) func(int64) vasttest.SSHOptions {
	return func(offer int64) vasttest.SSHOptions {
		if offer == bad {
			return neverAnswers
		}
		return vasttest.SSHOptions{}
	}
}

type world struct {
	f   *vasttest.Fake
	p   *vast.Provider
	log *hookLog
	o   cloud.ProvisionOptions // Request, Wait and Hooks filled in
}

// newWorld starts the fake with offers priced 0.40, 0.45, 0.50… (ids 1, 2,
// 3…), each following lives[id] (default lifecycle when absent). sshOpts,
// when set, tunes the SSH server of the instance rented from an offer.
func newWorld(t *testing.T, fo vasttest.Options, lives map[int64][]vasttest.Step, nOffers int, sshOpts func(offer int64) vasttest.SSHOptions) *world {
	t.Helper()
	for i := 1; i <= nOffers; i++ {
		id := int64(i)
		fo.Offers = append(fo.Offers, vasttest.Offer{ID: id, GPUName: "RTX 4090", NumGPUs: 1,
			DPHTotal: 0.35 + 0.05*float64(i), Reliability: 0.99, DiskSpace: 100, Lifecycle: lives[id]})
	}
	if fo.Credit == 0 {
		fo.Credit = 100
	}
	f := vasttest.New(t, fo)
	hostKey := sshtest.NewKey(t)
	f.StartSSHServers(t, func(id string) vasttest.SSHOptions {
		var o vasttest.SSHOptions
		if sshOpts != nil {
			rec, _ := f.Instance(id)
			o = sshOpts(rec.OfferID)
		}
		o.HostKey = hostKey
		return o
	})
	p, err := vast.New(vast.Config{BaseURL: f.URL, APIKey: f.APIKey(), PollInterval: time.Millisecond,
		RetryBase: time.Millisecond, RetryCap: 4 * time.Millisecond, MaxRetries: 6, DestroyChecks: 5})
	if err != nil {
		t.Fatal(err)
	}
	client := sshtest.NewKey(t)
	log := &hookLog{}
	return &world{f: f, p: p, log: log, o: cloud.ProvisionOptions{
		Request: cloud.CreateRequest{Label: "scn-run1-gpu", PublicKey: string(ssh.MarshalAuthorizedKey(client.PublicKey()))},
		Wait: cloud.WaitOptions{Interval: time.Millisecond, Timeout: 20 * time.Second, Probes: 2,
			Probe: sshtest.Probe(client, ssh.FixedHostKey(hostKey.PublicKey()))},
		Hooks: log.hooks(),
	}}
}

// offers returns the fake's offers with these ids, as gpu.offers would.
func offers(ids ...int64) []cloud.Offer {
	var out []cloud.Offer
	for _, id := range ids {
		out = append(out, cloud.Offer{ID: fmt.Sprint(id), Provider: "vast", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.35 + 0.05*float64(id)})
	}
	return out
}

// hookLog records the hooks; hooks are never concurrent, the mutex is for
// reading while Provision runs.
type hookLog struct {
	mu        sync.Mutex
	before    []string // offer ids
	created   []string // instance ids
	destroyed []string // instance ids
	errs      []error
}

func (h *hookLog) hooks() cloud.ProvisionHooks {
	return cloud.ProvisionHooks{
		BeforeCreate: func(o cloud.Offer) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.before = append(h.before, o.ID)
			return nil
		},
		Created: func(_ cloud.Offer, in *cloud.Instance) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.created = append(h.created, in.ID)
		},
		Destroyed: func(in *cloud.Instance, err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.destroyed = append(h.destroyed, in.ID)
			h.errs = append(h.errs, err)
		},
	}
}

// offerOf is the offer an instance was rented from.
func (w *world) offerOf(id string) int64 {
	rec, _ := w.f.Instance(id)
	return rec.OfferID
}

// finish destroys the winner as the runner's undo would, then checks that
// nothing is left, every rented instance got a DELETE, and the hooks kept
// their promise.
func (w *world) finish(t *testing.T, winner *cloud.Instance) {
	t.Helper()
	if winner != nil {
		if err := w.p.Destroy(context.Background(), winner.ID, cloud.ReasonUser); err != nil {
			t.Errorf("destroying the kept instance: %v", err)
		}
	}
	w.f.AssertAllDestroyed(t)
	for i, err := range w.log.errs {
		if err != nil {
			t.Errorf("Destroyed hook reported a failure for %s: %v", w.log.destroyed[i], err)
		}
	}
	// Every instance announced by Created is the winner or was announced by Destroyed.
	for _, id := range w.log.created {
		if (winner == nil || id != winner.ID) && !slices.Contains(w.log.destroyed, id) {
			t.Errorf("instance %s was created but neither returned nor reported destroyed", id)
		}
	}
}

// index is the position of the first call with this method and path.
func index(calls []vasttest.Call, method, path string) int {
	return slices.IndexFunc(calls, func(c vasttest.Call) bool { return c.Method == method && c.Path == path })
}

func statuses(calls []vasttest.Call) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = c.Status
	}
	return out
}
