package rent_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/remote/sshtest"
	"github.com/scnlabs/scn/internal/rent"
	"github.com/scnlabs/scn/internal/target"
)

// Instances given up — one that exited during fallback, one that lost the
// race — are billed like the one kept: from VAST's own creation time
// (start_date) at the instance's dph_total (its 20 GB disk included), as
// read while waiting for it, not from when scn heard back at the offer's
// price. Their cost is what VAST bills for them.
func TestRentBillsGivenUpInstancesByTheProvidersRecord(t *testing.T) {
	exited := []vasttest.Step{{Polls: 1}, {Status: "loading", Polls: 1}, {Status: "exited", Msg: "Error response from daemon: OCI runtime create failed"}}
	slow := []vasttest.Step{{Polls: 1}, {Status: "loading", Polls: 30}, {Status: "running"}}
	offer := func(id int64, life []vasttest.Step) vasttest.Offer {
		return vasttest.Offer{ID: id, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.30, StorageCost: 0.90, Reliability: 0.99, DiskSpace: 100, Lifecycle: life}
	}
	f := vasttest.New(t, vasttest.Options{Credit: 100, Offers: []vasttest.Offer{offer(1, exited), offer(2, slow), offer(3, nil)}})
	f.StartSSHServers(t, nil)
	p, err := vast.New(vast.Config{BaseURL: f.URL, APIKey: f.APIKey(), PollInterval: time.Millisecond,
		RetryBase: time.Millisecond, RetryCap: 4 * time.Millisecond, MaxRetries: 6, DestroyChecks: 5})
	if err != nil {
		t.Fatal(err)
	}
	// The offers' price as a search without the disk would list it: the
	// bill is the instance's dph_total with the disk rented.
	var offers []cloud.Offer
	for _, id := range []string{"1", "2", "3"} {
		offers = append(offers, cloud.Offer{ID: id, Provider: "vast", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.30})
	}
	const dphTotal = 0.30 + 0.90*vast.DefaultDiskGB/(30*24)
	run := actiontest.NewRun(t, &target.Target{Name: "vast", Compute: p, PollInterval: time.Millisecond, PublicKey: sshtest.AuthorizedKey(sshtest.NewKey(t))})
	run.Probe = func(context.Context, *cloud.Instance) error { return nil } // SSH answers once there is an address
	inst, _, err := run.Env("gpu").Rent(context.Background(), p, offers,
		rent.Options{Kind: "instance", Race: 2, Fallback: 1, Poll: time.Millisecond, ReadyTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Destroy(context.Background(), inst.ID, cloud.ReasonUser) })
	gaveUp := 0
	for _, r := range run.Resources.Resources() {
		rec, _ := f.Instance(r.ID)
		if math.Abs(r.PricePerHour-dphTotal) > 1e-9 {
			t.Errorf("instance %s (%s) priced $%v/h, VAST bills its dph_total $%v/h", r.ID, r.State, r.PricePerHour, dphTotal)
		}
		if d := r.CreatedAt.Sub(rec.CreatedAt()); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("instance %s (%s) created at %v, VAST's start_date is %v", r.ID, r.State, r.CreatedAt, rec.CreatedAt())
		}
		if r.ID == inst.ID {
			continue
		}
		gaveUp++
		usd, secs := f.Bill(r.ID)
		if r.State != "destroyed" || math.Abs(r.LifetimeSeconds-secs) > 0.05 || math.Abs(r.CostUSD-usd) > dphTotal*0.05/3600 {
			t.Errorf("given-up instance %s (%s): %.3fs costing $%.8f, VAST billed %.3fs, $%.8f", r.ID, r.State, r.LifetimeSeconds, r.CostUSD, secs, usd)
		}
	}
	if gaveUp != 2 {
		t.Errorf("%d instances given up, want the exited one and the race's loser", gaveUp)
	}
}

// An instance that loads for a while before it runs is billed as VAST
// bills it: its disk from its creation, the machine only from when a read
// first said running. scn sees that at most a poll late, so its cost is
// the bill within a poll of GPU time — and well under billing the whole
// dph_total over the loading too.
func TestRentBillsTheMachineFromWhenItRan(t *testing.T) {
	loads := []vasttest.Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image", Polls: 30}, {Status: "running"}}
	f, p, run, inst := rentOne(t, loads)
	readFor(t, p, inst.ID, 20) // the drill uses it
	r, usd, secs := destroyAndBill(t, f, run, inst.ID)
	rec, _ := f.Instance(inst.ID)
	storage := 0.90 * vast.DefaultDiskGB / (30 * 24)
	loaded := rec.RunningAt.Sub(rec.CreatedAt()).Seconds()
	if loaded < 0.2 || math.Abs(r.StoragePerHour-storage) > 1e-12 || r.RunningAt.IsZero() {
		t.Fatalf("loaded %.3fs; record: storage $%v/h (want %v), running at %v", loaded, r.StoragePerHour, storage, r.RunningAt)
	}
	// RunningAt is when the wait asked for the read that said running
	// (cloud.WaitReady), which the provider may send up to a poll later
	// (its spacing of reads): on the shared clock (vasttest.SimClock), no later
	// than VAST ran it and at most a poll before.
	if d := rec.RunningAt.Sub(r.RunningAt); d < 0 || d > poll {
		t.Errorf("scn saw it running at %v, VAST ran it at %v", r.RunningAt, rec.RunningAt)
	}
	// start_date is float seconds: a microsecond covers its rounding; the
	// machine's part may be billed up to that poll early.
	if math.Abs(r.LifetimeSeconds-secs) > 1e-6 || r.CostUSD < usd-36*1e-6/3600 || r.CostUSD > usd+36*poll.Seconds()/3600 {
		t.Errorf("%.6fs costing $%.6f, VAST billed %.6fs, $%.6f", r.LifetimeSeconds, r.CostUSD, secs, usd)
	}
	if whole := r.PricePerHour * secs / 3600; usd > whole-36*(loaded-poll.Seconds())/3600 {
		t.Errorf("VAST billed $%.6f, the whole dph_total over the lifetime is $%.6f: the loading was billed", usd, whole)
	}
	f.AssertAllDestroyed(t)
}

// poll is the status poll interval of these tests: the provider spaces
// its reads of one instance this far apart, which is how time passes in
// them while the machine runs, as a drill's status reads would.
const poll = 10 * time.Millisecond

// rentOne rents a dear machine (36 $/h, so that a few polls of it are far
// above the tolerance) living life on a fake VAST, through rent. The fake
// bills by one vasttest.SimClock, and scn's provider and wait read and
// space their polls by the same.
func rentOne(t *testing.T, life []vasttest.Step) (*vasttest.Fake, *vast.Provider, *actiontest.Run, *cloud.Instance) {
	t.Helper()
	clock := vasttest.NewSimClock()
	f := vasttest.New(t, vasttest.Options{Credit: 100, Clock: clock.Now, Offers: []vasttest.Offer{
		{ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 36, StorageCost: 0.90, Reliability: 0.99, DiskSpace: 100, Lifecycle: life}}})
	f.StartSSHServers(t, nil)
	p, err := vast.New(vast.Config{BaseURL: f.URL, APIKey: f.APIKey(), PollInterval: poll, Clock: clock,
		RetryBase: time.Millisecond, RetryCap: 4 * time.Millisecond, MaxRetries: 6, DestroyChecks: 5})
	if err != nil {
		t.Fatal(err)
	}
	run := actiontest.NewRun(t, &target.Target{Name: "vast", Compute: p, PollInterval: poll, PublicKey: sshtest.AuthorizedKey(sshtest.NewKey(t))})
	run.Probe = func(context.Context, *cloud.Instance) error { return nil }
	offers := []cloud.Offer{{ID: "1", Provider: "vast", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 36}}
	inst, _, err := run.Env("gpu").Rent(context.Background(), p, offers,
		rent.Options{Kind: "instance", Fallback: -1, Poll: poll, ReadyTimeout: 20 * time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return f, p, run, inst
}

// readFor reads instance id's status n times, a poll apart (on the
// provider's clock).
func readFor(t *testing.T, p *vast.Provider, id string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := p.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
}

// destroyAndBill destroys instance id as the drill's end would and returns
// scn's record of it beside the fake's bill.
func destroyAndBill(t *testing.T, f *vasttest.Fake, run *actiontest.Run, id string) (r journal.Resource, usd, secs float64) {
	t.Helper()
	if err := run.Resources.Find("instance", id).Destroy(context.Background(), "user"); err != nil {
		t.Fatal(err)
	}
	usd, secs = f.Bill(id)
	return run.Resources.Resources()[0], usd, secs
}

// A GPU stopped while it is rented (an interruptible one outbid) is billed
// by VAST its disk only from then on until the DELETE, and one whose host
// went offline nothing at all: scn's cost pauses its parts at the read
// that first saw it so, whoever made that read, and is the bill.
//
// The fake and scn share a clock that moves only by the polls' spacing
// (vasttest.SimClock): VAST pauses at the read that shows the stop, scn at that
// read's answer, the same instant on that clock, so the pause and the
// cost are compared exactly, not within a loaded machine's latency.
func TestRentPausesTheBillWhereVASTDoes(t *testing.T) {
	for _, status := range []string{"stopped", "offline"} {
		t.Run(status, func(t *testing.T) {
			life := []vasttest.Step{{Polls: 1}, {Status: "loading", Polls: 1}, {Status: "running", Polls: 23}, {Status: status}}
			f, p, run, inst := rentOne(t, life)
			readFor(t, p, inst.ID, 40) // ~20 reads running, then paused: a standby's checks
			r, usd, secs := destroyAndBill(t, f, run, inst.ID)
			rec, _ := f.Instance(inst.ID)
			if rec.StoppedAt.IsZero() || r.StoppedAt.IsZero() || r.OfflineAt.IsZero() != (status != "offline") {
				t.Fatalf("VAST paused it at %v, scn's record says %v (offline at %v)", rec.StoppedAt, r.StoppedAt, r.OfflineAt)
			}
			if !r.StoppedAt.Equal(rec.StoppedAt) {
				t.Errorf("scn saw it pause at %v, VAST paused it at %v", r.StoppedAt, rec.StoppedAt)
			}
			// start_date is float seconds: a microsecond covers its rounding.
			if math.Abs(r.LifetimeSeconds-secs) > 1e-6 || math.Abs(r.CostUSD-usd) > 36*1e-6/3600 {
				t.Errorf("%.3fs costing $%.6f, VAST billed %.3fs, $%.6f", r.LifetimeSeconds, r.CostUSD, secs, usd)
			}
			// Billed to the DELETE, the machine would cost ~15 polls more.
			if ran := rec.StoppedAt.Sub(rec.RunningAt); ran <= 0 || r.DestroyedAt.Sub(rec.StoppedAt) < 10*poll {
				t.Fatalf("ran %v, paused %v before the DELETE: too short to tell", ran, r.DestroyedAt.Sub(rec.StoppedAt))
			}
			f.AssertAllDestroyed(t)
		})
	}
}
