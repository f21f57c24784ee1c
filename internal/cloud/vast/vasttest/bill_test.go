package vasttest_test

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// billFake is a fake renting offers 1..n of a 0.40 $/h machine whose 72 GB
// disk (0.50 $/GB-month) costs 0.05 $/h, each living lives[i-1], on clk.
func billFake(t *testing.T, clk *vasttest.SimClock, lives ...[]vasttest.Step) (*vasttest.Fake, func(offer int) string) {
	var offers []vasttest.Offer
	for i, life := range lives {
		offers = append(offers, vasttest.Offer{ID: int64(i + 1), GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.40, StorageCost: 0.50, DiskSpace: 100, Lifecycle: life})
	}
	f := vasttest.New(t, vasttest.Options{Offers: offers, Clock: clk.Now})
	return f, func(offer int) string {
		st, _, body := call(t, f, "PUT", "/api/v0/asks/"+strconv.Itoa(offer)+"/", `{"client_id":"me","image":"img","disk":72}`)
		var out struct {
			NewContract int64 `json:"new_contract"`
		}
		if st != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("rent: %d %s", st, body)
		}
		return strconv.FormatInt(out.NewContract, 10)
	}
}

// wantBill checks instance id's bill: the disk for lived, the machine for ran.
func wantBill(t *testing.T, f *vasttest.Fake, id string, lived, ran time.Duration) {
	t.Helper()
	usd, secs := f.Bill(id)
	want := (0.05*lived.Seconds() + 0.40*ran.Seconds()) / 3600
	if secs != lived.Seconds() || math.Abs(usd-want) > 1e-12 {
		t.Errorf("instance %s: billed $%v for %vs, want $%v for %vs (machine %v)", id, usd, secs, want, lived.Seconds(), ran)
	}
}

// Bill charges as VAST does: the disk from creation to the DELETE, the
// machine only from the read that first showed it running — nothing for an
// instance destroyed while loading.
func TestBillChargesTheMachineOnlyFromRunning(t *testing.T) {
	clk := vasttest.NewSimClock()
	f, rent := billFake(t, clk, nil, nil)
	loading, ran := rent(1), rent(2)
	clk.Advance(2 * time.Minute)
	for i := 0; i < 3; i++ { // placed, loading, running (the default lifecycle)
		call(t, f, "GET", "/api/v0/instances/"+ran+"/", "")
	}
	call(t, f, "GET", "/api/v0/instances/"+loading+"/", "")
	clk.Advance(10 * time.Minute)
	for _, id := range []string{loading, ran} {
		call(t, f, "DELETE", "/api/v0/instances/"+id+"/", "")
	}
	if in, _ := f.Instance(loading); !in.RunningAt.IsZero() {
		t.Errorf("an instance never read running ran at %v", in.RunningAt)
	}
	wantBill(t, f, loading, 12*time.Minute, 0)
	wantBill(t, f, ran, 12*time.Minute, 10*time.Minute)
}

// An instance that is stopped (an interruptible one outbid) is billed its
// disk only from then (docs.vast.ai, show-instance: "stopped — Disk
// charges continue; no GPU charges"), and its machine again if it runs
// again. One whose container exited is billed as before: the docs do not
// say it stops the GPU's charge.
func TestBillStopsTheMachineWhileItIsStopped(t *testing.T) {
	clk := vasttest.NewSimClock()
	outbid := []vasttest.Step{{Status: "running", Polls: 2}, {Status: "stopped", Intended: "stopped", Msg: "outbid"}}
	resumes := []vasttest.Step{{Status: "running", Polls: 1}, {Status: "stopped", Intended: "stopped", Polls: 1}, {Status: "running"}}
	exits := []vasttest.Step{{Status: "running", Polls: 1}, {Status: "exited", Msg: "container exited"}}
	f, rent := billFake(t, clk, outbid, resumes, exits)
	stopped, resumed, exited := rent(1), rent(2), rent(3)
	read := func(id string, after time.Duration) {
		clk.Advance(after)
		call(t, f, "GET", "/api/v0/instances/"+id+"/", "")
	}
	read(stopped, 0)              // running from its creation
	read(stopped, 10*time.Minute) // still running
	read(stopped, 5*time.Minute)  // stopped: the machine ran 15 min
	read(resumed, 0)              // running from its creation, 15 min ago
	read(resumed, 10*time.Minute) // stopped: the machine ran 25 min
	read(resumed, 20*time.Minute) // running again
	read(exited, 0)               // running
	read(exited, 0)               // exited: still billed
	clk.Advance(5 * time.Minute)  // 5 min more: then all are destroyed
	if in, _ := f.Instance(stopped); in.StoppedAt.Sub(in.CreatedAt()) != 15*time.Minute {
		t.Errorf("stopped %v after its creation, want 15m", in.StoppedAt.Sub(in.CreatedAt()))
	}
	for _, id := range []string{stopped, resumed, exited} {
		call(t, f, "DELETE", "/api/v0/instances/"+id+"/", "")
	}
	if in, _ := f.Instance(resumed); !in.StoppedAt.IsZero() {
		t.Errorf("running again, but stopped at %v", in.StoppedAt)
	}
	wantBill(t, f, stopped, 50*time.Minute, 15*time.Minute)
	wantBill(t, f, resumed, 50*time.Minute, 30*time.Minute)
	wantBill(t, f, exited, 50*time.Minute, 50*time.Minute)
}

// An instance whose host went offline is billed nothing while it is
// (vast-ai/docs billing.mdx: "You are not charged active rental or storage
// costs for instances that are currently offline"), and both again when it
// is back.
func TestBillChargesNothingWhileOffline(t *testing.T) {
	clk := vasttest.NewSimClock()
	flaky := []vasttest.Step{{Status: "running", Polls: 1}, {Status: "offline", Polls: 1}, {Status: "running"}}
	lost := []vasttest.Step{{Status: "running", Polls: 1}, {Status: "offline"}}
	f, rent := billFake(t, clk, flaky, lost)
	back, gone := rent(1), rent(2)
	clk.Advance(10 * time.Minute) // both run from their creation
	for _, id := range []string{back, gone} {
		call(t, f, "GET", "/api/v0/instances/"+id+"/", "") // running
	}
	clk.Advance(10 * time.Minute) // 20 min running
	for _, id := range []string{back, gone} {
		call(t, f, "GET", "/api/v0/instances/"+id+"/", "") // offline
	}
	clk.Advance(30 * time.Minute)
	call(t, f, "GET", "/api/v0/instances/"+back+"/", "") // back: running again
	clk.Advance(5 * time.Minute)
	for _, id := range []string{back, gone} {
		call(t, f, "DELETE", "/api/v0/instances/"+id+"/", "")
	}
	// 55 min alive: 30 of them offline.
	usd, secs := f.Bill(back)
	if want := (0.05*25*60 + 0.40*25*60) / 3600; secs != 55*60 || math.Abs(usd-want) > 1e-12 {
		t.Errorf("offline for 30 of its 55 min: billed $%v for %vs, want $%v", usd, secs, want)
	}
	if usd, _ := f.Bill(gone); math.Abs(usd-(0.05+0.40)*20*60/3600) > 1e-12 {
		t.Errorf("offline from its 20th minute to its DELETE: billed $%v, want its first 20 min only", usd)
	}
}
