package local_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/remote"
)

func TestOffersFromCatalogue(t *testing.T) {
	t.Parallel()
	p := local.New(local.Options{StateDir: t.TempDir()})
	ctx := context.Background()
	all, err := p.Offers(ctx, cloud.OfferQuery{})
	if err != nil || len(all) < 15 {
		t.Fatalf("all offers: %d, %v", len(all), err)
	}
	for i, o := range all {
		if !o.Simulated || o.Provider != "local" || o.PricePerHour <= 0 || o.ID == "" {
			t.Fatalf("offer %+v: want simulated local offers with a price", o)
		}
		if i > 0 && o.PricePerHour < all[i-1].PricePerHour {
			t.Fatalf("default order is not cheapest first: %v before %v", all[i-1].PricePerHour, o.PricePerHour)
		}
	}
	again, _ := p.Offers(ctx, cloud.OfferQuery{})
	if !reflect.DeepEqual(all, again) {
		t.Fatal("catalogue is not deterministic")
	}

	rtx, _ := p.Offers(ctx, cloud.OfferQuery{GPU: "rtx 4090", NumGPUs: 1})
	if len(rtx) < 3 {
		t.Fatalf("rtx 4090 offers: %d, want several", len(rtx))
	}
	for _, o := range rtx {
		if o.GPU != "RTX_4090" || o.NumGPUs != 1 || o.PricePerHour < 0.25 || o.PricePerHour > 0.5 {
			t.Fatalf("RTX 4090 query returned %+v", o)
		}
	}
	cheap, _ := p.Offers(ctx, cloud.OfferQuery{GPU: "RTX_4090", MaxPrice: 0.36, MinReliability: 0.99})
	if len(cheap) != 1 || cheap[0].PricePerHour > 0.36 || cheap[0].Reliability < 0.99 {
		t.Fatalf("max price + reliability: %+v", cheap)
	}
	byRel, _ := p.Offers(ctx, cloud.OfferQuery{GPU: "A100", Order: "reliability", Limit: 1})
	if len(byRel) != 1 || byRel[0].Reliability != 0.997 {
		t.Fatalf("most reliable A100: %+v", byRel)
	}
	h100, _ := p.Offers(ctx, cloud.OfferQuery{GPU: "h100", Limit: 1})
	if len(h100) != 1 || h100[0].PricePerHour < 2 || h100[0].PricePerHour > 2.5 {
		t.Fatalf("cheapest H100: %+v", h100)
	}
	cpu, _ := p.Offers(ctx, cloud.OfferQuery{GPU: "E2-MEDIUM"})
	if len(cpu) != 1 || cpu[0].NumGPUs != 0 || cpu[0].PricePerHour != 0.034 {
		t.Fatalf("e2-medium: %+v", cpu)
	}
	if none, _ := p.Offers(ctx, cloud.OfferQuery{GPU: "RTX_5090"}); len(none) != 0 {
		t.Fatalf("unknown GPU matched %d offers", len(none))
	}
	if _, err := p.Offers(ctx, cloud.OfferQuery{Order: "speed"}); err == nil {
		t.Fatal("unknown order accepted")
	}
}

func TestCreateUnknownOfferIsGone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{})
	_, err := f.p.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: "vast-123"}, Label: "scn-x"})
	var gone *cloud.OfferGoneError
	if !errors.As(err, &gone) {
		t.Fatalf("create from an offer not in the catalogue: %v, want OfferGoneError", err)
	}
	for _, id := range []string{"l-00000000", "../keys", ""} {
		if _, err := f.p.Get(context.Background(), id); !errors.Is(err, cloud.ErrNotFound) {
			t.Fatalf("Get(%q): %v, want ErrNotFound", id, err)
		}
	}
}

func TestSandboxLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{})
	ctx := context.Background()
	created := f.create("scn-run1-gpu")
	if created.Status != cloud.StatusLoading && created.Status != cloud.StatusRunning {
		t.Fatalf("fresh instance status %q", created.Status)
	}
	if created.PricePerHour != 0.312 || !created.Simulated || created.GPU != "RTX_4090" {
		t.Fatalf("instance does not carry its offer: %+v", created)
	}
	inst := f.ready(created.ID, nil)
	if inst.Host != "127.0.0.1" || inst.Port == 0 || inst.HostKey == "" || !filepath.IsAbs(inst.Workspace) {
		t.Fatalf("ready instance: %+v", inst)
	}
	got, err := f.run(inst, "echo payload > data.txt; pwd")
	if err != nil || strings.TrimSpace(got) != inst.Workspace {
		t.Fatalf("exec in workspace: %q, %v (want %s)", got, err, inst.Workspace)
	}
	if b, err := os.ReadFile(filepath.Join(inst.Workspace, "data.txt")); err != nil || string(b) != "payload\n" {
		t.Fatalf("file written over SSH: %q, %v", b, err)
	}

	// A later scn command (another Provider, another pool) reaches it.
	later := f.provider(local.Faults{})
	again, err := later.Get(ctx, inst.ID)
	if err != nil || again.Port != inst.Port || again.HostKey != inst.HostKey || again.Status != cloud.StatusRunning {
		t.Fatalf("second provider sees %+v, %v", again, err)
	}
	pool := remote.NewPool(f.key.Signer, remote.Options{})
	defer pool.Close()
	c, err := pool.Client(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := remote.Run(ctx, c, "cat data.txt", nil); err != nil || got != "payload\n" {
		t.Fatalf("second provider reads the file: %q, %v", got, err)
	}
	list, err := later.List(ctx, "scn-run1-")
	if err != nil || len(list) != 1 || list[0].ID != inst.ID {
		t.Fatalf("List(scn-run1-): %+v, %v", list, err)
	}
	if other, _ := later.List(ctx, "scn-run2-"); len(other) != 0 {
		t.Fatalf("List(scn-run2-) found %d", len(other))
	}

	pid := f.pid(inst.ID)
	if err := later.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pid)
	if _, err := os.Stat(filepath.Dir(inst.Workspace)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("folder after destroy: %v", err)
	}
	if _, err := f.p.Get(ctx, inst.ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("Get after destroy: %v, want ErrNotFound", err)
	}
	if err := f.p.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Fatalf("destroying a gone instance: %v", err)
	}
}

func TestFailureKeepsDiskAndKillsCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{})
	ctx := context.Background()
	inst := f.ready(f.create("scn-fail-gpu").ID, nil)
	if _, err := f.run(inst, "echo kept > kept.txt"); err != nil {
		t.Fatal(err)
	}
	// A command still running when the machine dies.
	c, err := f.pool.Client(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	pidLine := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		pr, pw := io.Pipe()
		go func() {
			b := make([]byte, 64)
			n, _ := pr.Read(b)
			pidLine <- strings.TrimSpace(string(b[:n]))
			io.Copy(io.Discard, pr)
		}()
		_, err := c.Exec(ctx, "echo $$; exec sleep 100", nil, pw, nil)
		pw.Close()
		done <- err
	}()
	cmdPid, _ := strconv.Atoi(<-pidLine)

	if err := f.p.Destroy(ctx, inst.ID, cloud.ReasonFailure); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("a command survived its machine's failure")
	}
	if processAlive(cmdPid) {
		t.Fatalf("command %d still running after the sandbox was killed", cmdPid)
	}
	got, err := f.p.Get(ctx, inst.ID)
	if err != nil || got.Status != cloud.StatusExited || !cloud.Fatal(got.Status) {
		t.Fatalf("after failure: %+v, %v; want exited", got, err)
	}
	if b, err := os.ReadFile(filepath.Join(inst.Workspace, "kept.txt")); err != nil || string(b) != "kept\n" {
		t.Fatalf("disk after failure: %q, %v", b, err)
	}
	if err := f.p.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(inst.Workspace)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("folder after user destroy of a failed sandbox: %v", err)
	}
}

func TestEnvironmentOnStartAndSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{})
	ctx := context.Background()
	created, err := f.p.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: "loc-e2-medium"}, Label: "scn-env-cpu",
		Env: map[string]string{"DRILL": "yes"}, OnStart: "echo booted > booted.txt"})
	if err != nil {
		t.Fatal(err)
	}
	f.seen = append(f.seen, f.pid(created.ID))
	inst := f.ready(created.ID, nil)
	got, err := f.run(inst, `echo "$DRILL $USER"; env`)
	if err != nil || !strings.HasPrefix(got, "yes "+inst.User+"\n") {
		t.Fatalf("command environment: %q, %v", got, err)
	}
	if strings.Contains(got, secretValue) || strings.Contains(got, secretEnv) {
		t.Fatal("scn's secret leaked into the sandbox's commands")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(inst.Workspace, "booted.txt"))
		if string(b) == "booted\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("onstart command never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBootDelayShowsLoadingThenRunning(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{BootDelay: 1500 * time.Millisecond})
	created := f.create("scn-slow-gpu")
	var seen []string
	f.ready(created.ID, func(inst *cloud.Instance, _ time.Duration, _ string) {
		if inst != nil && (len(seen) == 0 || seen[len(seen)-1] != inst.Status) {
			seen = append(seen, inst.Status)
		}
	})
	if len(seen) < 2 || seen[0] != cloud.StatusLoading || seen[len(seen)-1] != cloud.StatusRunning {
		t.Fatalf("statuses while booting: %v, want loading then running", seen)
	}
}

func TestRefusedSSHIsRetriedByDial(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{RefuseSSHFor: 2 * time.Second})
	inst := f.waitStatus(f.create("scn-refuse-gpu").ID, cloud.StatusRunning)
	var retries []error
	ctx := context.Background()
	c, err := remote.Dial(ctx, remote.Endpoint{Host: inst.Host, Port: inst.Port, User: inst.User},
		remote.Options{Signer: f.key.Signer, HostKey: inst.HostKey, RetryFor: 20 * time.Second,
			RetryDelay: 20 * time.Millisecond, OnRetry: func(_ int, err error) { retries = append(retries, err) }})
	if err != nil {
		t.Fatalf("dial through refused SSH: %v", err)
	}
	defer c.Close()
	if len(retries) == 0 {
		t.Fatal("the sandbox never refused SSH")
	}
	if got, err := remote.Run(ctx, c, "echo in", nil); err != nil || got != "in\n" {
		t.Fatalf("after refusals: %q, %v", got, err)
	}
}

func TestPreemptionLeavesDisk(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{PreemptAfter: 500 * time.Millisecond})
	created := f.create("scn-spot-gpu")
	// Data on the machine's disk (written directly: SSH may already be gone).
	if err := os.WriteFile(filepath.Join(created.Workspace, "before.txt"), []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pid := f.pid(created.ID)
	gone := f.waitStatus(created.ID, cloud.StatusExited)
	if gone.Port != 0 {
		t.Fatalf("exited instance still advertises port %d", gone.Port)
	}
	assertGone(t, pid)
	if !strings.Contains(f.log(created.ID), "fault preempt_after") {
		t.Fatalf("sandbox did not die of preemption; log:\n%s", f.log(created.ID))
	}
	if b, err := os.ReadFile(filepath.Join(created.Workspace, "before.txt")); err != nil || string(b) != "before\n" {
		t.Fatalf("disk after preemption: %q, %v", b, err)
	}
	_, err := cloud.WaitReady(context.Background(), f.p, created.ID, cloud.WaitOptions{Interval: 10 * time.Millisecond})
	var failed *cloud.InstanceFailedError
	if !errors.As(err, &failed) || failed.Status != cloud.StatusExited {
		t.Fatalf("WaitReady on a preempted instance: %v", err)
	}
}

func TestThrottledLinkKeepsDataIntact(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{LinkBytesPerSec: 1 << 20})
	inst := f.ready(f.create("scn-slow-link").ID, nil)
	c, err := f.pool.Client(context.Background(), inst)
	if err != nil {
		t.Fatal(err)
	}
	const size = 2 << 20
	data := func() io.Reader { return io.LimitReader(rand.NewChaCha8([32]byte{42}), size) }
	want := sha256.New()
	io.Copy(want, data())
	got := sha256.New()
	code, err := c.Exec(context.Background(), "cat", data(), got, nil)
	if err != nil || code != 0 || string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("2 MB through a 1 MB/s link: code %d, %v, checksum match %v", code, err, string(got.Sum(nil)) == string(want.Sum(nil)))
	}
}

func TestSandboxOutlivesItsCreator(t *testing.T) {
	t.Parallel()
	f := newFixture(t, local.Faults{})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := exec.Command(exe)
	helper.Env = append(os.Environ(), "LOCAL_TEST_HELPER=create", "LOCAL_TEST_STATEDIR="+f.stateDir, "LOCAL_TEST_KEYDIR="+f.keyDir)
	out, err := helper.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	id := string(out)
	f.seen = append(f.seen, f.pid(id))
	inst := f.ready(id, nil) // the helper has exited by now
	if got, err := f.run(inst, "echo still here"); err != nil || got != "still here\n" {
		t.Fatalf("sandbox after its creator exited: %q, %v", got, err)
	}
	if inst.Label != "scn-helper-gpu" {
		t.Fatalf("label %q", inst.Label)
	}
}
