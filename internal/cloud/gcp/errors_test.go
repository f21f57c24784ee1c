package gcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
)

// secretsOf returns the private key of a credentials file: what must never
// appear in an error.
func secretsOf(t *testing.T, credsFile string) []string {
	t.Helper()
	b, err := os.ReadFile(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(f.PrivateKey, "\n")
	return []string{lines[1], lines[len(lines)/2]} // body lines of the PEM
}

func assertNoSecrets(t *testing.T, err error, secrets []string) {
	t.Helper()
	msg := err.Error()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Fatalf("error leaks key material: %v", err)
		}
	}
	if strings.Contains(msg, "ya29.") || strings.Contains(msg, "Bearer") {
		t.Fatalf("error leaks an access token: %v", err)
	}
}

func TestInsertOperationErrorQuotesGoogle(t *testing.T) {
	r := newRig(t, nil)
	const msg = "Quota 'CPUS' exceeded.  Limit: 8.0 in region us-central1."
	r.fake.FailNextInsert("QUOTA_EXCEEDED", msg)
	_, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-q-1", PublicKey: r.key.line})
	if err == nil {
		t.Fatal("Create succeeded although the insert operation failed")
	}
	var gone *cloud.OfferGoneError
	if !strings.Contains(err.Error(), "QUOTA_EXCEEDED: "+msg) || !strings.Contains(err.Error(), "scn-q-1-") || errors.As(err, &gone) {
		t.Fatalf("error = %v; want Google's code and message, the VM name, and not offer-gone", err)
	}
	assertNoSecrets(t, err, secretsOf(t, r.cfg.CredentialsFile))
}

func TestStockoutIsOfferGone(t *testing.T) {
	r := newRig(t, nil)
	r.fake.FailNextInsert("ZONE_RESOURCE_POOL_EXHAUSTED",
		"The zone 'projects/scn-test/zones/us-central1-a' does not have enough resources available to fulfill the request.")
	_, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-s-1", PublicKey: r.key.line})
	var gone *cloud.OfferGoneError
	if !errors.As(err, &gone) || gone.Offer != "gcp:us-central1-a:e2-medium" || !strings.Contains(gone.Detail, "does not have enough resources") {
		t.Fatalf("error = %v, want *cloud.OfferGoneError quoting Google", err)
	}
}

func TestPermissionDeniedIsQuotedAndNotRetried(t *testing.T) {
	r := newRig(t, nil)
	const msg = "Required 'compute.instances.create' permission for 'projects/scn-test/zones/us-central1-a/instances/scn-p'"
	r.fake.FailNext(gcptest.Fault{Status: 403, Reason: "forbidden", Message: msg})
	_, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-p", PublicKey: r.key.line})
	if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "reason forbidden") ||
		!strings.Contains(err.Error(), "403") {
		t.Fatalf("error = %v; want Google's 403 message and reason", err)
	}
	assertNoSecrets(t, err, secretsOf(t, r.cfg.CredentialsFile))
	if n := len(r.fake.Calls()); n != 1 {
		t.Errorf("%d calls: a permission error must not be retried", n)
	}
}

func TestLostResponseRetriedWithSameRequestID(t *testing.T) {
	r := newRig(t, nil)
	// The insert is taken, but its answer is lost in a 503.
	r.fake.FailNext(gcptest.Fault{Status: 503, Reason: "backendError", Message: "Internal error. Please try again.", AfterProcessing: true})
	inst := r.create(t, "scn-retry")
	defer r.destroy(t, inst.ID)
	var ids []string
	for _, c := range r.fake.Calls() {
		if c.Method == "POST" && strings.HasSuffix(c.Path, "/instances") {
			ids = append(ids, c.Query.Get("requestId"))
		}
	}
	if len(ids) != 2 || ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("insert requestIds = %q, want the same one twice", ids)
	}
	if alive := r.fake.Alive(); len(alive) != 1 || alive[0] != inst.ID {
		t.Fatalf("alive VMs = %v, want only %s", alive, inst.ID)
	}
}

func TestServerErrorOnGetIsRetried(t *testing.T) {
	r := newRig(t, nil)
	inst := r.create(t, "scn-5xx")
	defer r.destroy(t, inst.ID)
	r.fake.FailNext(gcptest.Fault{Status: 500, Reason: "internalError", Message: "Internal error."})
	got, err := r.p.Get(r.ctx, inst.ID)
	if err != nil || got.ID != inst.ID {
		t.Fatalf("Get after one 500 = %v, %v", got, err)
	}
}

func TestDestroyTreatsNotFoundAsGone(t *testing.T) {
	r := newRig(t, nil)
	if err := r.p.Destroy(r.ctx, "scn-never-existed-abc123", cloud.ReasonUser); err != nil {
		t.Fatalf("Destroy of an unknown VM: %v", err)
	}
	// The delete operation vanishes before scn sees it DONE: scn asks the VM.
	inst := r.create(t, "scn-forgotten")
	r.fake.ForgetNextOperation()
	if err := r.p.Destroy(r.ctx, inst.ID, cloud.ReasonFailure); err != nil {
		t.Fatalf("Destroy with a forgotten operation: %v", err)
	}
	var opMissing bool
	for _, c := range r.fake.Calls() {
		opMissing = opMissing || strings.HasSuffix(c.Path, "/wait")
	}
	if _, err := r.p.Get(r.ctx, inst.ID); !errors.Is(err, cloud.ErrNotFound) || !opMissing {
		t.Fatalf("after Destroy: Get = %v (want ErrNotFound), wait attempted = %v", err, opMissing)
	}
	// Twice is fine too.
	if err := r.p.Destroy(r.ctx, inst.ID, cloud.ReasonUser); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
}

func TestPreemptedSpotVMIsExitedThenGone(t *testing.T) {
	r := newRig(t, nil)
	inst := r.create(t, "scn-preempt")
	ready := r.waitReady(t, inst.ID)
	if !r.fake.Preempt(inst.ID) {
		t.Fatal("fake does not know the VM")
	}
	got, err := r.p.Get(r.ctx, inst.ID)
	if err != nil || got.Status != cloud.StatusExited || !cloud.Fatal(got.Status) || !strings.Contains(got.StatusMsg, "preempted") {
		t.Fatalf("preempted VM = %+v, %v; want exited with Google's message", got, err)
	}
	if _, err := r.ssh(ready, "echo hi"); err == nil {
		t.Error("a preempted VM still answers SSH")
	}
	// instanceTerminationAction DELETE: the VM then disappears on its own.
	if _, err := r.p.Get(r.ctx, inst.ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("preempted VM after deletion: %v, want ErrNotFound", err)
	}
	r.destroy(t, inst.ID)
}

func TestWaitReadyFailsOnPreemption(t *testing.T) {
	r := newRig(t, nil)
	inst := r.create(t, "scn-preempt-early")
	r.fake.Preempt(inst.ID)
	_, err := cloud.WaitReady(r.ctx, r.p, inst.ID, cloud.WaitOptions{Interval: 1})
	var failed *cloud.InstanceFailedError
	if !errors.As(err, &failed) || failed.Status != cloud.StatusExited {
		t.Fatalf("WaitReady on a preempted VM: %v, want InstanceFailedError(exited)", err)
	}
	r.destroy(t, inst.ID)
}

func TestInterruptedCreateDeletesTheVM(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	r.fake.StallNextInsert()
	r.fake.OnCall = func(c gcptest.Call) {
		if strings.HasSuffix(c.Path, "/wait") {
			cancel() // the user pressed Ctrl-C while the VM was being created
		}
	}
	_, err := r.p.Create(ctx, cloud.CreateRequest{Label: "scn-interrupted", PublicKey: r.key.line})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "VM deleted") {
		t.Fatalf("interrupted Create: %v, want context.Canceled and the VM deleted", err)
	}
	// newRig's cleanup asserts nothing is left alive.
}

func TestUnknownKeyIsRefusedByTokenEndpoint(t *testing.T) {
	fake, other := gcptest.New(t), gcptest.New(t)
	cfg := fake.ProviderConfig(t)
	// A well-formed key the token endpoint never issued: its JWT fails the
	// signature check.
	creds := other.WriteCredentials(t)
	b, _ := os.ReadFile(creds)
	b = []byte(strings.ReplaceAll(string(b), other.TokenURL(), fake.TokenURL()))
	if err := os.WriteFile(creds, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.CredentialsFile = creds
	p, err := gcp.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Get(t.Context(), "scn-x")
	if err == nil || errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("Get with an unknown key: %v, want the token endpoint's invalid_grant", err)
	}
	assertNoSecrets(t, err, secretsOf(t, creds))
	if calls := fake.Calls(); len(calls) != 0 {
		t.Fatalf("compute was called without a token: %+v", calls)
	}
}

func TestPersistentServerErrorsGiveUp(t *testing.T) {
	r := newRig(t, nil)
	for range 20 {
		r.fake.FailNext(gcptest.Fault{Status: 503, Reason: "backendError", Message: "The service is currently unavailable."})
	}
	_, err := r.p.Get(r.ctx, "scn-unlucky")
	if err == nil || errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "The service is currently unavailable.") ||
		!strings.Contains(err.Error(), "reason backendError") {
		t.Fatalf("Get under persistent 503s: %v, want Google's message after bounded retries", err)
	}
	if n := len(r.fake.Calls()); n < 2 || n >= 20 {
		t.Fatalf("%d attempts: want a few retries, bounded", n)
	}
}

func TestInterruptedInsertCallDeletesTheVM(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	r.fake.OnCall = func(c gcptest.Call) {
		if c.Method == "POST" && strings.HasSuffix(c.Path, "/instances") {
			cancel() // interrupted while the insert is on the wire: the fake still takes it
		}
	}
	_, err := r.p.Create(ctx, cloud.CreateRequest{Label: "scn-cut", PublicKey: r.key.line})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "VM deleted") {
		t.Fatalf("Create interrupted during the insert: %v", err)
	}
	var deletes int
	for _, c := range r.fake.Calls() {
		if c.Method == "DELETE" {
			deletes++
		}
	}
	if deletes == 0 {
		t.Fatal("no delete was attempted for a VM whose insert may have been taken")
	}
}

func TestDroppedConnectionsAreRetriedThenReported(t *testing.T) {
	fake := gcptest.New(t)
	// A server that hangs up on every connection: the answer never comes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	cfg := fake.ProviderConfig(t)
	cfg.Endpoint = "http://" + ln.Addr().String() + "/compute/v1/"
	p, err := gcp.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Get(t.Context(), "scn-x")
	if err == nil || errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "read VM scn-x") {
		t.Fatalf("Get against a server that hangs up: %v", err)
	}
	if n := accepted.Load(); n < 3 || n > 20 {
		t.Fatalf("%d connections: want a few retries, bounded", n)
	}
}

// A creation scn gave up on and whose VM it then could not delete is
// uncertain: the run's ledger keeps the intent open, so `scn cleanup` looks
// the VM up by its label instead of taking the create for one that failed.
func TestAbandonedVMThatCouldNotBeDeletedIsUncertain(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	r.fake.StallNextInsert()
	r.fake.OnCall = func(c gcptest.Call) {
		switch {
		case strings.HasSuffix(c.Path, "/wait"):
			cancel() // Ctrl-C while the VM is being created
		case c.Method == "DELETE":
			r.fake.FailNext(gcptest.Fault{Status: 403, Reason: "forbidden", Message: "Required 'compute.instances.delete' permission"})
		}
	}
	_, err := r.p.Create(ctx, cloud.CreateRequest{Label: "scn-stuck", PublicKey: r.key.line})
	r.fake.OnCall = nil
	alive := r.fake.Alive()
	if !cloud.IsUncertain(err) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "deleting it failed") {
		t.Fatalf("Create = %v; want an uncertain error saying the delete failed", err)
	}
	if len(alive) != 1 {
		t.Fatalf("alive %v; want the VM the delete could not remove", alive)
	}
	r.destroy(t, alive[0])
}

// An insert taken whose every answer was lost (retries out on 503s): the VM
// exists under the name scn chose, so it is deleted, not left to bill.
func TestInsertTakenButEveryAnswerLostDeletesTheVM(t *testing.T) {
	r := newRig(t, nil)
	r.fake.OnCall = func(c gcptest.Call) {
		if c.Method == "POST" && strings.HasSuffix(c.Path, "/instances") {
			r.fake.FailNext(gcptest.Fault{Status: 503, Reason: "backendError", Message: "Internal error.", AfterProcessing: true})
		}
	}
	_, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-lost", PublicKey: r.key.line})
	if err == nil || !strings.Contains(err.Error(), "VM deleted") || !strings.Contains(err.Error(), "Internal error.") || cloud.IsUncertain(err) {
		t.Fatalf("Create = %v; want Google's error and the VM deleted", err)
	}
	// newRig's cleanup asserts nothing is left alive.
}

// An insert never taken (every attempt refused with a 503 before it was
// processed) leaves no VM, but a 404 cannot tell that from an insert taken
// and not started yet: scn looks again a few times, then says the creation
// is uncertain instead of claiming a deletion.
func TestInsertNeverSeenIsUncertainNotDeleted(t *testing.T) {
	r := newRig(t, nil)
	r.fake.OnCall = func(c gcptest.Call) {
		if c.Method == "POST" && strings.HasSuffix(c.Path, "/instances") {
			r.fake.FailNext(gcptest.Fault{Status: 503, Reason: "backendError", Message: "Internal error."})
		}
	}
	_, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-never", PublicKey: r.key.line})
	if !cloud.IsUncertain(err) || strings.Contains(err.Error(), "VM deleted") || !strings.Contains(err.Error(), "scn cleanup") {
		t.Fatalf("Create = %v; want an uncertain error pointing at scn cleanup", err)
	}
	var deletes int
	for _, c := range r.fake.Calls() {
		if c.Method == "DELETE" {
			deletes++
		}
	}
	if deletes < 2 {
		t.Fatalf("%d deletes: a 404 right after an insert must be looked at again", deletes)
	}
}
