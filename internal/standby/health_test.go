package standby

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// offline makes the fake answer the next n status reads of the instance
// with VAST's "offline" (host lost), as a flaky host does.
func offline(r *rig, m Machine, n int) {
	r.fake.Inject(vasttest.Fault{Method: http.MethodGet, Path: "/api/v0/instances/" + m.Instance.ID + "/", Times: n,
		Status: http.StatusOK, Body: fmt.Sprintf(`{"instances": {"id": %s, "actual_status": "offline", "status_msg": "host unreachable"}}`, m.Instance.ID)})
}

func TestDetectionFollowsTheThresholdExactly(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
	m := newManual()
	a := start(t, gpu, sb, m.options(Options{FailureThreshold: 3}))

	// Two failures (threshold − 1), then a success: the counter resets.
	offline(r, gpu, 2)
	for i := 1; i <= 2; i++ {
		h := m.check(t)
		if h.GPUFailures != i || h.State != Syncing || !strings.Contains(h.GPUProblem, "offline (host unreachable)") {
			t.Fatalf("check %d: %+v", i, h)
		}
	}
	if h := m.check(t); h.GPUFailures != 0 || h.GPUProblem != "" || h.State != Syncing {
		t.Fatalf("a good check must reset the count: %+v", h)
	}
	// Two more: still syncing.
	offline(r, gpu, 3)
	for i := 1; i <= 2; i++ {
		if h := m.check(t); h.GPUFailures != i || h.State != Syncing {
			t.Fatalf("check %d after reset: %+v", i, h)
		}
	}
	if st := a.Status(); st.State != Syncing || !st.DetectedAt.IsZero() {
		t.Fatalf("before the threshold: %+v", st)
	}
	before := time.Now()
	h := m.check(t) // the third in a row
	if h.GPUFailures != 3 || h.State != FailoverActive {
		t.Fatalf("third failure in a row: %+v", h)
	}
	st := a.Status()
	if st.State != FailoverActive || st.DetectedAt.Before(before) || !st.FirstFailureAt.Before(before) ||
		!strings.Contains(st.Problem, "failed 3 health checks in a row") {
		t.Errorf("after detection: %+v", st)
	}
	if d := st.Detection; d <= 0 || d != st.DetectedAt.Sub(st.AliveAt) {
		t.Errorf("detection seconds %v (alive %v, detected %v)", d, st.AliveAt, st.DetectedAt)
	}
	// The GPU is not watched any more; the standby still is.
	if h := m.check(t); h.GPUChecked || h.StandbyProblem != "" || h.State != FailoverActive {
		t.Errorf("check after failover: %+v", h)
	}
	if _, err := a.Sync(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "failover is active") {
		t.Errorf("forced sync after failover: %v", err)
	}
	if c := len(r.fake.CallsTo(http.MethodGet, "/api/v0/instances/"+gpu.Instance.ID+"/")); c == 0 {
		t.Error("the GPU's status was never read")
	}
}

func TestDeadGPUIsDetectedByStatusOrByItsWorkspace(t *testing.T) {
	r := newRig(t)
	for _, kill := range []string{"destroyed", "workspace gone"} {
		t.Run(kill, func(t *testing.T) {
			gpu, sb := r.machine(t), r.machine(t)
			m := newManual()
			a := start(t, gpu, sb, m.options(Options{FailureThreshold: 2}))
			want := "gone: vast no longer knows it"
			if kill == "destroyed" {
				r.destroy(t, gpu)
			} else { // the provider says running, SSH answers, but the disk is gone
				must(t, os.Rename(gpu.Dir, gpu.Dir+".lost"))
				want = "scanning the workspace " + gpu.Dir + " failed"
			}
			for i := 1; i <= 2; i++ {
				if h := m.check(t); h.GPUFailures != i || !strings.Contains(h.GPUProblem, want) {
					t.Fatalf("check %d: %+v, want problem %q", i, h, want)
				}
			}
			if st := a.Status(); st.State != FailoverActive {
				t.Errorf("state %s", st.State)
			}
		})
	}
}

func TestFilesWrittenAfterTheLastSyncAreReportedLost(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "synced.txt"), "safe")
	write(t, filepath.Join(gpu.Dir, "edited.txt"), "v1")
	m := newManual()
	a := start(t, gpu, sb, m.options(Options{FailureThreshold: 2}))
	if h := m.check(t); h.GPUProblem != "" || len(a.Status().Pending) != 0 {
		t.Fatalf("nothing written since the sync: %+v, pending %v", h, a.Status().Pending)
	}

	write(t, filepath.Join(gpu.Dir, "late", "result.txt"), "unsaved")
	write(t, filepath.Join(gpu.Dir, "edited.txt"), "v2, longer")
	write(t, filepath.Join(gpu.Dir, "scratch.tmp"), "excluded") // never synced anyway
	m.check(t)
	if got, want := a.Status().Pending, []string{"edited.txt", "late/result.txt"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pending %q, want %q", got, want)
	}
	syncedAt := a.Status().LastSyncAt

	r.destroy(t, gpu)
	m.check(t)
	if h := m.check(t); h.State != FailoverActive {
		t.Fatalf("not detected: %+v", h)
	}
	st := a.Status()
	if want := []string{"edited.txt", "late/result.txt"}; !reflect.DeepEqual(st.Lost, want) {
		t.Errorf("lost %q, want %q", st.Lost, want)
	}
	if risk := st.DataAtRisk; risk <= 0 || risk != st.FirstFailureAt.Sub(syncedAt) {
		t.Errorf("data at risk %vs: first failure %v, last sync %v", risk, st.FirstFailureAt, syncedAt)
	}
	// The standby holds the data as of the last sync, and only that.
	if b, err := os.ReadFile(filepath.Join(sb.Dir, "edited.txt")); err != nil || string(b) != "v1" {
		t.Errorf("edited.txt on the standby: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(sb.Dir, "late")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("late/ on the standby: %v", err)
	}

	// A sync in between makes them safe: after it nothing is pending.
	r2 := newRig(t)
	gpu2, sb2 := r2.machine(t), r2.machine(t)
	m2 := newManual()
	a2 := start(t, gpu2, sb2, m2.options(Options{}))
	write(t, filepath.Join(gpu2.Dir, "new.txt"), "n")
	m2.check(t)
	if len(a2.Status().Pending) != 1 {
		t.Fatalf("pending before the sync: %v", a2.Status().Pending)
	}
	if c := m2.sync(t); c.Error != "" || c.Files != 1 {
		t.Fatalf("sync: %+v", c)
	}
	if p := a2.Status().Pending; len(p) != 0 {
		t.Errorf("still pending after a sync that copied it: %v", p)
	}
}

func TestAStandbyThatDiesIsReported(t *testing.T) {
	r := newRig(t)
	for _, when := range []string{"while syncing", "while holding the only copy"} {
		t.Run(when, func(t *testing.T) {
			gpu, sb := r.machine(t), r.machine(t)
			write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
			m := newManual()
			a := start(t, gpu, sb, m.options(Options{FailureThreshold: 2}))
			if when != "while syncing" {
				r.destroy(t, gpu)
				m.check(t)
				if h := m.check(t); h.State != FailoverActive {
					t.Fatalf("GPU failure not detected: %+v", h)
				}
			}
			r.destroy(t, sb)
			if h := m.check(t); h.StandbyFailures != 1 || h.State == StandbyLost {
				t.Fatalf("first standby failure: %+v", h)
			}
			if h := m.check(t); h.StandbyFailures != 2 || h.State != StandbyLost || !strings.Contains(h.StandbyProblem, "gone") {
				t.Fatalf("second standby failure: %+v", h)
			}
			st := a.Status()
			if st.State != StandbyLost || !strings.Contains(st.Problem, "standby "+sb.Instance.ID+" lost") {
				t.Errorf("status %+v", st)
			}
			if when != "while syncing" && !strings.Contains(st.Problem, "only copy of the workspace") {
				t.Errorf("the problem should say the data is gone: %q", st.Problem)
			}
			// The loops end on their own: nothing is left to do.
			select {
			case <-a.done:
			case <-time.After(10 * time.Second):
				t.Fatal("the loops still run after the standby was lost")
			}
			if _, err := a.Sync(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "lost") {
				t.Errorf("sync to a lost standby: %v", err)
			}
			gpu3 := r.machine(t)
			if _, err := a.Restore(context.Background(), gpu3, nil, nil); err == nil || !strings.Contains(err.Error(), "nothing to restore from") {
				t.Errorf("restore from a lost standby: %v", err)
			}
		})
	}
}

// A drill that killed the GPU knows when (instance.destroy's accepted
// destroy, GPULost): data at risk runs from the last sync to that moment,
// and detection from it, not to and from the standby's own checks, which
// are up to a check interval off. Another GPU's loss changes nothing. The
// destroy returns only once the provider confirmed it (VAST: status reads
// seconds apart), so the standby may detect the loss before it is told:
// the known time still times both.
func TestAKnownFailureTimesDataAtRiskAndDetection(t *testing.T) {
	for _, toldAfterDetection := range []bool{false, true} {
		t.Run(fmt.Sprint("told after detection: ", toldAfterDetection), func(t *testing.T) {
			r := newRig(t)
			gpu, sb := r.machine(t), r.machine(t)
			m := newManual()
			a := start(t, gpu, sb, m.options(Options{FailureThreshold: 2}))
			syncedAt := a.Status().LastSyncAt
			m.check(t) // alive

			r.destroy(t, gpu)
			lostAt := time.Now()
			tell := func() {
				a.gpuLost("not-"+gpu.Instance.ID, lostAt.Add(-time.Hour))
				a.gpuLost(gpu.Instance.ID, lostAt)
			}
			if !toldAfterDetection {
				tell()
			}
			m.check(t)
			if h := m.check(t); h.State != FailoverActive {
				t.Fatalf("not detected: %+v", h)
			}
			if toldAfterDetection {
				tell()
			}
			st := a.Status()
			if st.DataAtRisk != lostAt.Sub(syncedAt) || st.FirstFailureAt.Before(lostAt) {
				t.Errorf("data at risk %v; want last sync → the known failure, %v (first failed check %v)", st.DataAtRisk, lostAt.Sub(syncedAt), st.FirstFailureAt)
			}
			if st.Detection != st.DetectedAt.Sub(lostAt) {
				t.Errorf("detection %v; want the known failure → detected, %v", st.Detection, st.DetectedAt.Sub(lostAt))
			}
		})
	}
}
