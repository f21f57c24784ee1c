package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/target"
)

// vastAPIKey is the account key of these tests: distinctive, so that a
// leak anywhere is found by a plain substring search.
const vastAPIKey = "vast-e2e-api-key-7f3c9a1b2d4e5f60"

// The offers of the bad day below, cheapest first.
const (
	offerGone    = 1001 // someone rents it between our search and our PUT
	offerExits   = 1002 // its instance loads for a while, then exits
	offerGPUA    = 1003 // GPU A
	offerGPUB    = 1004 // GPU B, after the failover
	offerTooDear = 1005 // above the drill's max_price: never rented
)

// sshDrops is how many connections each instance's SSH server drops
// before it answers, like VAST's proxy before the container's sshd is up.
const sshDrops = 2

func badDayOffers() []vasttest.Offer {
	o := func(id int64, dph float64, life []vasttest.Step) vasttest.Offer {
		return vasttest.Offer{ID: id, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: dph, Reliability: 0.995,
			DiskSpace: 120, Geolocation: "Oregon, US", Lifecycle: life}
	}
	return []vasttest.Offer{
		o(offerGone, 0.301, nil),
		o(offerExits, 0.322, []vasttest.Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image", Polls: 4},
			{Status: "exited", Msg: "container exited with code 137"}}),
		o(offerGPUA, 0.347, nil),
		o(offerGPUB, 0.389, nil),
		o(offerTooDear, 1.49, nil),
	}
}

// vastMachines stands for the machines the VAST fake rents out (see
// machineSet): VAST images keep their work in /workspace, here the
// provider's workspace is one temporary folder. A machine stops answering
// SSH when VAST accepts its DELETE, as a destroyed container does.
type vastMachines struct {
	*machineSet
	fake *vasttest.Fake
}

func newVastMachines(t *testing.T) *vastMachines {
	return &vastMachines{machineSet: newMachineSet(t, "GPU", sshDrops)}
}

// boot is the fake's SSH hook: instance id reports running for the first time.
func (m *vastMachines) boot(id string) (string, int, error) {
	host, port, err := m.machineSet.boot(id, m.fake.AuthorizedKeys(id))
	if err == nil {
		m.fake.Inject(vasttest.Fault{Method: http.MethodDelete, Path: "/api/v0/instances/" + id + "/",
			Before: func() { m.release(id) }})
	}
	return host, port, err
}

// realtime-sync on the vast target on a bad day: a 429 burst, the first
// offer gone when rented, an instance stuck loading that then exits, SSH
// slow to come up on every machine, 429s on the DELETEs — against the VAST
// fake handing out real SSH servers and B2 as gofakes3 over HTTPS behind
// the B2 guard.
func TestRealtimeSyncOnVastBadDay(t *testing.T) {
	t.Parallel()
	machines := newVastMachines(t)
	offers := badDayOffers()
	fake := vasttest.New(t, vasttest.Options{APIKey: vastAPIKey, Offers: offers, Credit: 25, SSH: machines.boot})
	machines.fake = fake
	b2 := s3test.StartServer(t, s3test.Options{})

	fake.RateLimit(3) // the drill's first requests are throttled
	fake.Inject(vasttest.Fault{Method: http.MethodPut, Path: fmt.Sprintf("/api/v0/asks/%d/", offerGone),
		Before: func() { fake.TakeOffer(offerGone) }}) // taken just before our PUT arrives
	fake.Inject(vasttest.Fault{Method: http.MethodDelete, Path: "/api/v0/instances/", Times: 2,
		Status: http.StatusTooManyRequests, Body: "API requests too frequent"})

	env := map[string]string{
		"VAST_API_KEY": vastAPIKey, "VAST_URL": fake.URL,
		"B2_ENDPOINT": b2.Endpoint, "B2_BUCKET": b2.Bucket, "B2_REGION": "us-west-004",
		"B2_KEY_ID": s3test.AccessKeyID, "B2_APPLICATION_KEY": s3test.SecretAccessKey,
	}
	state := t.TempDir()
	tgt, err := assembly.Open(context.Background(), assembly.OpenOptions{
		Name: "vast", StateDir: state, ConfigFile: filepath.Join(state, "scn.yaml"),
		Getenv: func(k string) string { return env[k] },
		TuneVast: func(c *vast.Config) {
			c.Workspace = machines.Workspace
			c.PollInterval, c.RetryBase, c.RetryCap = 20*time.Millisecond, 5*time.Millisecond, 40*time.Millisecond
		},
		// The machines' agent reaches "B2" too, trusting its certificate.
		TuneS3: func(c *s3store.Config) {
			c.HTTPClient, c.MaxBackoff, c.CAPEM = b2.Client, 50*time.Millisecond, b2.CertPEM
		},
		Agents: agentBinaries(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tgt.Close)
	if !tgt.Paid {
		t.Error("the vast target does not say it spends money")
	}
	tgt.PollInterval = 20 * time.Millisecond

	d := runDrill(t, tgt, scenario("realtime-sync.yaml"), nil)
	mustPass(t, d)
	j := d.Journal
	if v := j.Validation; v == nil || v.Valid != 3 || v.Total != 3 {
		t.Errorf("validation %+v, want 3/3 valid", v)
	}

	// Which instance came from which offer.
	byOffer := map[int64]string{}
	for _, id := range fake.Created() {
		in, _ := fake.Instance(id)
		byOffer[in.OfferID] = id
	}
	if len(byOffer) != 3 || byOffer[offerExits] == "" || byOffer[offerGPUA] == "" || byOffer[offerGPUB] == "" {
		t.Fatalf("instances rented by offer: %v; want one each from offers %d, %d and %d", byOffer, offerExits, offerGPUA, offerGPUB)
	}
	if got := output(t, j, "gpu_a", "id"); got != byOffer[offerGPUA] {
		t.Errorf("GPU A is %v, want the instance of offer %d (%s)", got, offerGPUA, byOffer[offerGPUA])
	}
	if got := output(t, j, "gpu_a", "attempts"); got != 3.0 {
		t.Errorf("GPU A took %v attempts, want 3 (gone, exited, ready)", got)
	}
	if got := output(t, j, "gpu_b", "id"); got != byOffer[offerGPUB] {
		t.Errorf("GPU B is %v, want the instance of offer %d (%s)", got, offerGPUB, byOffer[offerGPUB])
	}
	gone := fake.CallsTo(http.MethodPut, fmt.Sprintf("/api/v0/asks/%d/", offerGone))
	if len(gone) != 1 || gone[0].Status != http.StatusNotFound {
		t.Errorf("renting the gone offer: %+v, want one PUT answered 404", gone)
	}

	// Nothing left rented: every instance received a DELETE and is gone.
	fake.AssertAllDestroyed(t)
	for _, r := range j.Resources {
		if r.Kind == "instance" && r.State != "destroyed" {
			t.Errorf("instance %s ended %s", r.ID, r.State)
		}
	}
	throttled := 0
	for _, c := range fake.Calls() {
		if c.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 5 {
		t.Errorf("%d requests answered 429, want the 5 injected", throttled)
	}
	for _, off := range []int64{offerGPUA, offerGPUB} {
		srv := machines.Server(byOffer[off])
		if srv == nil || srv.Connections() <= sshDrops {
			t.Errorf("instance of offer %d: SSH server %v never answered after its %d dropped connections", off, srv, sshDrops)
		}
	}

	assertCostsFromOffers(t, j, fake, offers)
	assertB2(t, tgt, b2)
	// The GPUs moved the bytes themselves, straight to and from B2 with
	// URLs scn presigned, and no machine saw B2's secret.
	for _, id := range []string{"snap", "restore"} {
		if via := output(t, j, id, "via"); via != "agent" {
			t.Errorf("step %s went via %v, want the agent", id, via)
		}
		if n := output(t, j, id, "scn_bytes"); n != 0.0 {
			t.Errorf("step %s sent %v bytes through scn, want none", id, n)
		}
	}
	if b2.Presigned() == 0 {
		t.Error("B2 saw no presigned request: the agent did not move the bytes")
	}
	assertNoSecrets(t, "", []string{s3test.SecretAccessKey}, machines.Homes())

	// The files written on A reached B through the snapshot alone: A's
	// disk was moved aside before B booted on an empty one.
	files, _ := output(t, j, "files", "files").([]any)
	if len(files) != 3 {
		t.Fatalf("files.create recorded %d files, want 3", len(files))
	}
	for _, f := range files {
		p, _ := f.(map[string]any)["path"].(string)
		rel, err := filepath.Rel(machines.Workspace, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("file %q is not in the workspace %s", p, machines.Workspace)
		}
		onA, errA := os.ReadFile(filepath.Join(machines.Disk(byOffer[offerGPUA]), rel))
		onB, errB := os.ReadFile(filepath.Join(machines.Disk(byOffer[offerGPUB]), rel))
		if errA != nil || errB != nil || string(onA) != string(onB) {
			t.Errorf("%s: on A %v, on B %v, same content %v", rel, errA, errB, string(onA) == string(onB))
		}
	}

	mustExist(t, filepath.Join(d.Dir, "journal.json"), filepath.Join(d.Dir, "metrics.json"), filepath.Join(d.Dir, "report.html"))
	assertNoSecrets(t, d.Console, []string{vastAPIKey, s3test.SecretAccessKey, s3test.AccessKeyID}, state)
}

// assertCostsFromOffers checks every instance is priced at the dph_total
// of the offer it was rented from, and its cost is that price over its
// lifetime.
func assertCostsFromOffers(t *testing.T, j *journal.Journal, fake *vasttest.Fake, offers []vasttest.Offer) {
	t.Helper()
	dph := map[int64]float64{}
	for _, o := range offers {
		dph[o.ID] = o.DPHTotal
	}
	total, instances := 0.0, 0
	for _, r := range j.Resources {
		total += r.CostUSD
		if r.Kind != "instance" {
			continue
		}
		instances++
		in, ok := fake.Instance(r.ID)
		if !ok {
			t.Errorf("journal resource %s is no instance of the fake", r.ID)
			continue
		}
		if want := dph[in.OfferID]; r.PricePerHour != want {
			t.Errorf("instance %s: price $%v/h, want offer %d's dph_total $%v/h", r.ID, r.PricePerHour, in.OfferID, want)
		}
		if want := r.PricePerHour * r.LifetimeSeconds / 3600; r.CostUSD <= 0 || math.Abs(r.CostUSD-want) > 1e-6 {
			t.Errorf("instance %s: cost $%v, want $%v/h × %.2fs = $%v", r.ID, r.CostUSD, r.PricePerHour, r.LifetimeSeconds, want)
		}
		if r.Simulated {
			t.Errorf("instance %s: a VAST price is marked simulated", r.ID)
		}
	}
	if instances != 3 {
		t.Errorf("the journal lists %d instances, want the 3 rented", instances)
	}
	if j.Cost.Simulated || math.Abs(j.Cost.TotalUSD-total) > 1e-6 {
		t.Errorf("run cost %+v, want the resources' total $%v, not simulated", j.Cost, total)
	}
}

// assertB2 checks the snapshot went to the bucket and was removed at the
// end, and that B2 would have accepted every request.
func assertB2(t *testing.T, tgt *target.Target, b2 *s3test.Server) {
	t.Helper()
	objs, err := tgt.Store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		t.Errorf("left in the bucket: %s", o.Key)
	}
	var data, manifest, deletes int
	for _, r := range b2.Requests() {
		if h := s3test.ForbiddenHeader(r.Header); h != "" || r.Status == http.StatusBadRequest {
			t.Errorf("%s %s?%s: B2 refuses it (header %q, status %d)", r.Method, r.Path, r.Query, h, r.Status)
		}
		switch {
		case r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/data.tar.lz4"):
			data++
		case r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/manifest.json"):
			manifest++
		case r.Method == http.MethodDelete || (r.Method == http.MethodPost && strings.Contains(r.Query, "delete")):
			deletes++
		}
	}
	if data == 0 || manifest == 0 || deletes == 0 {
		t.Errorf("B2 saw %d data uploads, %d manifest uploads and %d deletes; want each", data, manifest, deletes)
	}
}
