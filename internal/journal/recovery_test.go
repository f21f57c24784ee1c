package journal_test

import (
	"maps"
	"math"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

func step(t *testing.T, j *journal.Journal, id string) journal.Step {
	t.Helper()
	for _, s := range j.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s", id)
	return journal.Step{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// withOutputs sets outputs of step id, keeping its others.
func withOutputs(j *journal.Journal, id string, set map[string]any) {
	for i := range j.Steps {
		if j.Steps[i].ID != id {
			continue
		}
		out := map[string]any{}
		prev, _ := j.Steps[i].Outputs.(map[string]any)
		maps.Copy(out, prev)
		maps.Copy(out, set)
		j.Steps[i].Outputs = out
	}
}

// A standby drill: detection is the standby's failure_detected_at after
// the kill; the new GPU's rent, the failover copy and the drill's
// verification are their steps.
func TestRecoveryOfAStandbyDrill(t *testing.T) {
	j := fixture.Standby()
	r := journal.RecoveryOf(j)
	if r == nil {
		t.Fatal("no recovery found in a failover drill")
	}
	kill, gpu2, fo, verify := step(t, j, "kill"), step(t, j, "gpu2"), step(t, j, "failover"), step(t, j, "verify")
	detect := step(t, j, "detect")
	wantDetection := detect.EndedAt.Sub(kill.EndedAt).Seconds() - 2.5 // the fixture detects 2.5 s before the step ends
	if r.Instance != "29020002" || !r.Recovered || !r.FailedAt.Equal(kill.EndedAt) ||
		!near(r.Phases.Detection, wantDetection) || r.Phases.Provisioning != gpu2.Seconds ||
		r.Phases.Restore != fo.Seconds || r.Phases.Verification != verify.Seconds {
		t.Fatalf("recovery %+v", r)
	}
	sum := 0.0
	for _, s := range r.Phases.Seconds() {
		sum += s
	}
	if !near(r.Seconds, verify.EndedAt.Sub(kill.EndedAt).Seconds()) || r.Seconds < sum {
		t.Errorf("recovery took %.3fs, phases %.3fs: want failure → verified, at least the phases", r.Seconds, sum)
	}
}

// The GPU is lost when the provider accepted its destroy (the kill step's
// destroyed_at), not when the step ended after confirming it: on VAST
// that takes status reads seconds apart, which are scn's, not the
// platform's. A destroyed_at outside the step is not believed.
func TestRecoveryStartsWhenTheDestroyWasAccepted(t *testing.T) {
	j := fixture.Standby()
	kill, verify := step(t, j, "kill"), step(t, j, "verify")
	withDestroyedAt := func(at time.Time) *journal.Recovery {
		withOutputs(j, "kill", map[string]any{"destroyed_at": at.Format(time.RFC3339Nano)})
		return journal.RecoveryOf(j)
	}
	accepted := kill.StartedAt.Add(200 * time.Millisecond)
	r := withDestroyedAt(accepted)
	if r == nil || !r.FailedAt.Equal(accepted) || !near(r.Seconds, verify.EndedAt.Sub(accepted).Seconds()) {
		t.Fatalf("recovery %+v; want it to start at the accepted destroy %s", r, accepted)
	}
	if r := withDestroyedAt(kill.StartedAt.Add(-time.Hour)); r == nil || !r.FailedAt.Equal(kill.EndedAt) {
		t.Fatalf("recovery %+v; a destroyed_at before the step is not believed", r)
	}
}

// Provisioning ends when the new GPU's SSH first answered (created_at +
// ready_seconds), not when its step ended after a second, confirming
// probe; a readiness outside the step is not believed.
func TestRecoveryProvisioningEndsWhenSSHFirstAnswered(t *testing.T) {
	j := fixture.Standby()
	gpu2 := step(t, j, "gpu2")
	withReady := func(created time.Time, secs float64) *journal.Recovery {
		withOutputs(j, "gpu2", map[string]any{"created_at": created.Format(time.RFC3339Nano), "ready_seconds": secs})
		return journal.RecoveryOf(j)
	}
	created := gpu2.StartedAt.Add(2 * time.Second)
	ready := gpu2.EndedAt.Add(-1500 * time.Millisecond)
	if r := withReady(created, ready.Sub(created).Seconds()); r == nil || !near(r.Phases.Provisioning, ready.Sub(gpu2.StartedAt).Seconds()) {
		t.Fatalf("recovery %+v; want provisioning %.3fs, until SSH first answered", r, ready.Sub(gpu2.StartedAt).Seconds())
	}
	if r := withReady(created, time.Hour.Seconds()); r == nil || r.Phases.Provisioning != gpu2.Seconds {
		t.Fatalf("recovery %+v; a readiness after the step is not believed", r)
	}
}

// A standby that detects the failure before the step that lost the GPU
// has ended (that step still waiting on the provider) dates the failure
// when the GPU was last seen alive, within the step: detection is never 0
// for a failure scn did not know of, and the recovery counts from then.
func TestRecoveryDetectedBeforeTheKillEnded(t *testing.T) {
	j := fixture.Standby()
	kill, verify := step(t, j, "kill"), step(t, j, "verify")
	detected := kill.EndedAt.Add(-time.Second)
	// recovery with the standby's status saying it last saw the GPU alive
	// at alive and detected its failure a second before the kill ended.
	recovery := func(alive time.Time) *journal.Recovery {
		for i := range j.Steps {
			if j.Steps[i].ID == "detect" {
				j.Steps[i].Outputs = map[string]any{"failure_detected_at": detected.Format(time.RFC3339Nano),
					"gpu_alive_at": alive.Format(time.RFC3339Nano)}
			}
		}
		return journal.RecoveryOf(j)
	}

	alive := kill.StartedAt.Add(300 * time.Millisecond)
	if r := recovery(alive); r == nil || !r.FailedAt.Equal(alive) || !near(r.Phases.Detection, detected.Sub(alive).Seconds()) ||
		!near(r.Seconds, verify.EndedAt.Sub(alive).Seconds()) {
		t.Fatalf("recovery %+v; want the failure when the GPU was last seen alive, detection %.3fs after", r, detected.Sub(alive).Seconds())
	}
	// Last seen alive before the kill began: the kill's start is the bound.
	if r := recovery(kill.StartedAt.Add(-time.Minute)); r == nil || !r.FailedAt.Equal(kill.StartedAt) ||
		!near(r.Phases.Detection, detected.Sub(kill.StartedAt).Seconds()) {
		t.Fatalf("recovery %+v; want the failure dated when the kill began", r)
	}
}

// A snapshot drill: scn caused the failure, so detection is 0; a drill
// whose verification failed is measured but not recovered; a drill that
// lost no GPU has no recovery.
func TestRecoveryOfSnapshotDrills(t *testing.T) {
	pass := journal.RecoveryOf(fixture.Passing())
	if pass == nil || pass.Phases.Detection != 0 || !pass.Recovered || pass.Phases.Restore <= 0 || pass.Phases.Verification <= 0 {
		t.Fatalf("passing drill: %+v", pass)
	}
	fail := journal.RecoveryOf(fixture.Failing())
	if fail == nil || fail.Recovered || fail.Phases.Verification <= 0 {
		t.Fatalf("failing drill (files lost): %+v; want measured, not recovered", fail)
	}
	j := fixture.Passing()
	for i := range j.Steps {
		if j.Steps[i].Action == "instance.destroy" {
			j.Steps[i].With["reason"] = "user"
		}
	}
	if r := journal.RecoveryOf(j); r != nil {
		t.Fatalf("a drill that lost no GPU has recovery %+v", r)
	}
}
