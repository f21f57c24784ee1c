package cloud_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// These tests drive Provision through the real VAST provider against the
// fake API (see provision_world_test.go).

func TestProvisionMovesOnWhenTheOfferIsGone(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, nil, 2, nil)
	w.f.TakeOffer(1)
	inst, err := cloud.Provision(context.Background(), w.p, offers(1, 2), w.o)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.offerOf(inst.ID); got != 2 {
		t.Errorf("kept an instance of offer %d, want 2", got)
	}
	if inst.Status != cloud.StatusRunning || inst.Host != "127.0.0.1" || inst.Port != w.f.SSHServer(inst.ID).Port || inst.Label != "scn-run1-gpu" {
		t.Errorf("ready instance: %+v", inst)
	}
	if s := statuses(w.f.CallsTo(http.MethodPut, "/api/v0/asks/")); !reflect.DeepEqual(s, []int{404, 200}) {
		t.Errorf("rents answered %v", s)
	}
	if !reflect.DeepEqual(w.log.before, []string{"1", "2"}) || !reflect.DeepEqual(w.log.created, []string{inst.ID}) || len(w.log.destroyed) != 0 {
		t.Errorf("hooks: %+v", w.log)
	}
	w.finish(t, inst)
}

func TestProvisionDestroysAnExitedInstanceAndTakesTheNextOffer(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, map[int64][]vasttest.Step{1: exitedLife}, 2, nil)
	inst, err := cloud.Provision(context.Background(), w.p, offers(1, 2), w.o)
	if err != nil {
		t.Fatal(err)
	}
	if w.offerOf(inst.ID) != 2 {
		t.Errorf("kept %s from offer %d", inst.ID, w.offerOf(inst.ID))
	}
	created := w.f.Created()
	if len(created) != 2 || !reflect.DeepEqual(w.log.destroyed, created[:1]) {
		t.Fatalf("created %v, destroyed by Provision %v", created, w.log.destroyed)
	}
	calls := w.f.Calls()
	del, put2 := index(calls, http.MethodDelete, "/api/v0/instances/"+created[0]+"/"), index(calls, http.MethodPut, "/api/v0/asks/2/")
	if del < 0 || del > put2 {
		t.Errorf("the exited instance was destroyed at call %d, the next rent was call %d: destroy first", del, put2)
	}
	w.finish(t, inst)
}

func TestProvisionErrorListsEveryAttempt(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, map[int64][]vasttest.Step{2: exitedLife}, 4,
		sshNeverAnswersOn(3))
	w.f.TakeOffer(1)
	w.o.Wait.Timeout = 300 * time.Millisecond
	inst, err := cloud.Provision(context.Background(), w.p, offers(1, 2, 3, 4), w.o) // default fallback: 3 offers
	if err == nil {
		t.Fatalf("got %+v from offers that all fail", inst)
	}
	created := w.f.Created()
	if len(created) != 2 {
		t.Fatalf("created %v, want instances of offers 2 and 3 only (offer 4 is beyond the fallback)", created)
	}
	for _, want := range []string{
		"offer 1: gone: error 404/3603: no_such_ask Instance type by id 1 is not available.",
		"instance " + created[0] + " (offer 2): exited: Error response from daemon: failed to create task",
		"instance " + created[1] + " (offer 3): running: not ready after",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	var pe *cloud.ProvisionError
	if !errors.As(err, &pe) || len(pe.Attempts) != 3 || pe.Err != nil {
		t.Errorf("ProvisionError: %#v", pe)
	}
	if n := len(w.f.CallsTo(http.MethodPut, "/api/v0/asks/4/")); n != 0 {
		t.Error("offer 4 was tried beyond the fallback")
	}
	if srv := w.f.SSHServer(created[1]); srv == nil || srv.Connections() == 0 || len(srv.Execs()) != 0 {
		t.Errorf("offer 3's SSH should have been dialled and never answered")
	}
	w.finish(t, nil)
}

func TestProvisionWaitsForSSHToAnswerTwice(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, nil, 1, func(int64) vasttest.SSHOptions { return vasttest.SSHOptions{DropFirst: 3} })
	var notes []string
	w.o.Wait.OnPoll = func(_ *cloud.Instance, _ time.Duration, note string) { notes = append(notes, note) }
	inst, err := cloud.Provision(context.Background(), w.p, offers(1), w.o)
	if err != nil {
		t.Fatal(err)
	}
	srv := w.f.SSHServer(inst.ID)
	if srv.Connections() != 5 || !reflect.DeepEqual(srv.Execs(), []string{"echo scn-probe", "echo scn-probe"}) {
		t.Errorf("connections %d, execs %v: want 3 refused then 2 answered probes", srv.Connections(), srv.Execs())
	}
	joined := strings.Join(notes, "\n")
	if !strings.Contains(joined, "SSH not answering") || !strings.Contains(joined, "SSH answered once") {
		t.Errorf("poll notes do not tell the story:\n%s", joined)
	}
	w.finish(t, inst)
}

func TestProvisionRaceKeepsTheFirstReadyAndDestroysTheRest(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, map[int64][]vasttest.Step{2: loadingForever}, 3,
		sshNeverAnswersOn(3))
	w.o.Race = 3
	inst, err := cloud.Provision(context.Background(), w.p, offers(1, 2, 3), w.o)
	if err != nil {
		t.Fatal(err)
	}
	if w.offerOf(inst.ID) != 1 {
		t.Errorf("kept offer %d, want 1 (the only one that can be ready)", w.offerOf(inst.ID))
	}
	if alive := w.f.Alive(); !reflect.DeepEqual(alive, []string{inst.ID}) {
		t.Errorf("alive when Provision returned: %v, want only the winner %s", alive, inst.ID)
	}
	if len(w.log.created) != 3 || len(w.log.destroyed) != 2 || slices.Contains(w.log.destroyed, inst.ID) {
		t.Errorf("hooks: created %v, destroyed %v", w.log.created, w.log.destroyed)
	}
	w.finish(t, inst)
}

func TestProvisionRaceRefillsFromTheFallbackOffers(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, map[int64][]vasttest.Step{1: exitedLife, 2: loadingForever}, 3, nil)
	w.o.Race, w.o.Fallback = 2, 1
	inst, err := cloud.Provision(context.Background(), w.p, offers(1, 2, 3), w.o)
	if err != nil {
		t.Fatal(err)
	}
	if w.offerOf(inst.ID) != 3 {
		t.Errorf("kept offer %d, want 3 (taken when 1 exited)", w.offerOf(inst.ID))
	}
	if alive := w.f.Alive(); !reflect.DeepEqual(alive, []string{inst.ID}) {
		t.Errorf("alive: %v", alive)
	}
	w.finish(t, inst)
}

func TestProvisionRefusesWhenTheBalanceIsTooLow(t *testing.T) {
	w := newWorld(t, vasttest.Options{Credit: 0.42}, nil, 3, nil)
	w.o.MinBalanceHours = 2 // needs 0.80+ for offer 1 at 0.40/h
	_, err := cloud.Provision(context.Background(), w.p, offers(1, 2, 3), w.o)
	if !errors.Is(err, cloud.ErrInsufficientBalance) {
		t.Fatalf("%v, want ErrInsufficientBalance", err)
	}
	if !strings.Contains(err.Error(), "balance $0.42") || !strings.Contains(err.Error(), "$0.400/h for 2h") {
		t.Errorf("refusal does not explain itself: %v", err)
	}
	if n := len(w.f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 0 || len(w.log.before) != 0 {
		t.Errorf("rented %d times, BeforeCreate %v", n, w.log.before)
	}
	if n := len(w.f.CallsTo(http.MethodGet, "/api/v0/users/current/")); n != 1 {
		t.Errorf("balance read %d times", n)
	}
	w.finish(t, nil)
}

func TestProvisionRefusesAnAccountInDebt(t *testing.T) {
	w := newWorld(t, vasttest.Options{Credit: -3.5}, nil, 1, nil)
	_, err := cloud.Provision(context.Background(), w.p, offers(1), w.o)
	if !errors.Is(err, cloud.ErrInsufficientBalance) || !strings.Contains(err.Error(), "balance $-3.50") {
		t.Fatalf("%v, want a refusal", err)
	}
	if n := len(w.f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 0 {
		t.Errorf("rented %d times", n)
	}
	w.finish(t, nil)
}

func TestProvisionRaceStaysWithinTheBalance(t *testing.T) {
	// 0.50 covers one hour of one instance (0.40 or 0.45), not of two racing.
	w := newWorld(t, vasttest.Options{Credit: 0.5}, nil, 2, nil)
	w.o.Race = 2
	inst, err := cloud.Provision(context.Background(), w.p, offers(1, 2), w.o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 1 {
		t.Errorf("%d rents with money for one", n)
	}
	w.finish(t, inst)
}

func TestProvisionCancelledMidWaitDestroysWhatItRented(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, map[int64][]vasttest.Step{1: loadingForever}, 1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polls := 0
	w.o.Wait.OnPoll = func(*cloud.Instance, time.Duration, string) {
		if polls++; polls == 3 {
			cancel() // the user pressed Ctrl-C while the GPU was loading
		}
	}
	_, err := cloud.Provision(ctx, w.p, offers(1), w.o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("error does not say the instance was interrupted: %v", err)
	}
	if len(w.log.created) != 1 || !reflect.DeepEqual(w.log.destroyed, w.log.created) {
		t.Errorf("created %v, destroyed %v", w.log.created, w.log.destroyed)
	}
	w.finish(t, nil)
}

func TestProvisionCancelledDuringTheRentDestroysTheNewInstance(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, nil, 2, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.f.Inject(vasttest.Fault{Method: http.MethodPut, Path: "/api/v0/asks/", Before: cancel})
	_, err := cloud.Provision(ctx, w.p, offers(1, 2), w.o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
	if created := w.f.Created(); len(created) != 1 || !reflect.DeepEqual(w.log.created, created) || !reflect.DeepEqual(w.log.destroyed, created) {
		t.Errorf("VAST created %v; hooks saw created %v, destroyed %v", created, w.log.created, w.log.destroyed)
	}
	if n := len(w.f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 1 {
		t.Errorf("%d rents after the cancel", n)
	}
	w.finish(t, nil)
}

func TestProvisionStopsWhenBeforeCreateFails(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, nil, 2, nil)
	ledgerFull := errors.New("ledger: disk full")
	w.o.Hooks.BeforeCreate = func(cloud.Offer) error { return ledgerFull }
	_, err := cloud.Provision(context.Background(), w.p, offers(1, 2), w.o)
	if !errors.Is(err, ledgerFull) {
		t.Fatalf("%v, want the hook's error", err)
	}
	if n := len(w.f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 0 {
		t.Errorf("rented %d times without a ledger entry", n)
	}
	w.finish(t, nil)
}

func TestProvisionNegativeFallbackTriesOneOffer(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, nil, 2, nil)
	w.f.TakeOffer(1)
	w.o.Fallback = -1
	_, err := cloud.Provision(context.Background(), w.p, offers(1, 2), w.o)
	if err == nil || !strings.Contains(err.Error(), "offer 1: gone") {
		t.Fatalf("%v", err)
	}
	if n := len(w.f.CallsTo(http.MethodPut, "/api/v0/asks/")); n != 1 {
		t.Errorf("%d rents, want 1", n)
	}
	if _, err := cloud.Provision(context.Background(), w.p, nil, w.o); err == nil {
		t.Error("no offers: no error")
	}
	w.finish(t, nil)
}

func TestProvisionThroughRateLimitBursts(t *testing.T) {
	w := newWorld(t, vasttest.Options{}, nil, 1, nil)
	w.f.RateLimit(4) // the first four requests (all of them the balance read)
	w.f.Inject(vasttest.Fault{Method: http.MethodGet, Path: "/api/v0/instances/", Times: 3, Status: 429, Body: "API requests too frequent"})
	inst, err := cloud.Provision(context.Background(), w.p, offers(1), w.o)
	if err != nil {
		t.Fatal(err)
	}
	n429 := 0
	for _, c := range w.f.Calls() {
		if c.Status == http.StatusTooManyRequests {
			n429++
		}
	}
	if n429 != 7 {
		t.Errorf("%d requests throttled, want 7", n429)
	}
	w.finish(t, inst)
}

func TestProvisionWithoutBalanceCheck(t *testing.T) {
	w := newWorld(t, vasttest.Options{Credit: -5}, nil, 1, nil) // an account in debt
	w.o.MinBalanceHours = -1
	inst, err := cloud.Provision(context.Background(), w.p, offers(1), w.o)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.f.CallsTo(http.MethodGet, "/api/v0/users/current/")); n != 0 {
		t.Errorf("balance read %d times with the check off", n)
	}
	w.finish(t, inst)
}

// VAST's status is the host's last heartbeat: the container's sshd can
// answer while reads still say loading. The ready time is when SSH first
// answered (probed every tick once there is an address), not the later
// read that said running; status reads stay one per Interval.
func TestProvisionReadyIsWhenSSHAnsweredNotWhenAReadSaidRunning(t *testing.T) {
	const sshAfter = 450 * time.Millisecond
	slowStatus := []vasttest.Step{{Polls: 1}, {Status: "loading", Msg: "Pulling image", Polls: 3}, {Status: "running", Msg: "success, running"}}
	w := newWorld(t, vasttest.Options{SSHAfter: sshAfter}, map[int64][]vasttest.Step{1: slowStatus}, 1, nil)
	w.o.Wait.Interval, w.o.Wait.ProbeInterval = 300*time.Millisecond, 10*time.Millisecond
	inst, err := cloud.Provision(context.Background(), w.p, offers(1), w.o)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := w.f.Instance(inst.ID)
	up := rec.CreatedAt().Add(sshAfter)
	if inst.ReadyAt.Before(up) || inst.ReadyAt.After(up.Add(100*time.Millisecond)) {
		t.Errorf("ready %v after creation, SSH answered from %v: the ready time must be the first answering probe's",
			inst.ReadyAt.Sub(rec.CreatedAt()), sshAfter)
	}
	if inst.Status != cloud.StatusRunning {
		t.Errorf("kept an instance whose last read says %s", inst.Status)
	}
	if n := len(w.f.CallsTo(http.MethodGet, "/api/v0/instances/"+inst.ID+"/")); n > 5 {
		t.Errorf("%d status reads for a wait of 4 intervals: probes must not cost API calls", n)
	}
	w.finish(t, inst)
}
