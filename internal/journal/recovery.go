package journal

import (
	"time"
)

// Recovery is how a failover drill got back from a lost GPU, in phases
// (docs/journal.md names them):
//
//   - detection: from the failure (the step that lost the GPU ends) to it
//     being detected: a standby's failure_detected_at; 0 when scn caused the
//     failure itself and so knew at once. A standby can detect it before
//     that step ends (the step still waits on the provider): the failure
//     is then dated when the GPU was last seen alive, or the step began;
//   - provisioning: the new instance's rent, from asking for it to SSH ready
//     (its instance.create step);
//   - restore: the data back on it: streaming download, extract and the
//     checks made while restoring, one phase since they overlap (the
//     snapshot.restore or failover.restore step);
//   - verification: the drill's own verification after the restore (its
//     validation step), 0 when the restore's checks were the verdict.
//
// Seconds runs from the failure to the end of the last phase, wall clock:
// it includes the drill's other steps in between, so it is at least the
// phases' sum. The standby's mttr_seconds keeps its own meaning (detection
// to restored and verified).
type Recovery struct {
	Instance string    `json:"instance"`  // the instance recovered onto
	FailedAt time.Time `json:"failed_at"` // when the GPU was lost
	// Recovered is false when the drill's verification found the data
	// did not come back: the phases are still measured, but Seconds is not
	// a time to recovery.
	Recovered bool           `json:"recovered"`
	Seconds   float64        `json:"seconds"`
	Phases    RecoveryPhases `json:"phases"`
}

// RecoveryPhases are the seconds of each phase of a Recovery.
type RecoveryPhases struct {
	Detection    float64 `json:"detection"`
	Provisioning float64 `json:"provisioning"`
	Restore      float64 `json:"restore"`
	Verification float64 `json:"verification"`
}

// Phase names, in order, as the reports show them.
var RecoveryPhaseNames = []string{"detection", "provisioning", "restore", "verification"}

// Seconds returns the phases' seconds in RecoveryPhaseNames' order.
func (p RecoveryPhases) Seconds() []float64 {
	return []float64{p.Detection, p.Provisioning, p.Restore, p.Verification}
}

// RecoveryOf finds the failover in a journal's steps: the first step that
// destroyed an instance with reason failure, then the first instance.create
// after it, then the first restore transfer (snapshot.restore,
// failover.restore) after that, each passed, then the drill's validation
// step, passed or failed. nil when the drill has no such failover.
func RecoveryOf(j *Journal) *Recovery {
	failed, rent, restore, verify := -1, -1, -1, -1
	for i, s := range j.Steps {
		if s.Section != "steps" {
			continue
		}
		passed := s.Status == StepPassed
		switch {
		case failed < 0:
			if passed && s.Action == "instance.destroy" && s.With["reason"] == "failure" {
				failed = i
			}
		case rent < 0:
			if passed && s.Action == "instance.create" {
				rent = i
			}
		case restore < 0:
			if passed && restoredBy(j, s.ID) {
				restore = i
			}
		case verify < 0:
			if (passed || s.Status == StepFailed) && j.Validation != nil && j.Validation.Step == s.ID {
				verify = i
			}
		}
	}
	if restore < 0 {
		return nil
	}
	st := j.Steps
	r := &Recovery{FailedAt: st[failed].EndedAt, Recovered: j.Validation == nil || j.Validation.Success}
	// The GPU was lost when the provider accepted its destroy (the step's
	// destroyed_at, where its bill ends), not when the step ended: that
	// waited on status reads confirming it, seconds apart on VAST.
	if at, ok := timeOutput(st[failed].Outputs, "destroyed_at"); ok && !at.Before(st[failed].StartedAt) && at.Before(r.FailedAt) {
		r.FailedAt = at
	}
	r.Instance, _ = output(st[rent].Outputs, "id").(string)
	for _, s := range st[failed+1 : rent] {
		at, ok := timeOutput(s.Outputs, "failure_detected_at")
		if !ok || at.Before(st[failed].StartedAt) {
			continue // no detection, or one of an earlier failure
		}
		if !at.After(r.FailedAt) {
			// Detected while the step that lost the GPU was still ending
			// (waiting on the provider's answer): the GPU was lost before,
			// after the step began and after it was last seen alive.
			r.FailedAt = st[failed].StartedAt
			if alive, ok := timeOutput(s.Outputs, "gpu_alive_at"); ok && alive.After(r.FailedAt) && !alive.After(at) {
				r.FailedAt = alive
			}
		}
		r.Phases.Detection = at.Sub(r.FailedAt).Seconds()
		break
	}
	r.Phases.Provisioning = st[rent].Seconds
	// Until SSH first answered (created_at + ready_seconds: scn's clock,
	// as the step's), not until the step ended: its second, confirming
	// probe is scn's caution, not the platform's time.
	if created, ok := timeOutput(st[rent].Outputs, "created_at"); ok {
		if secs, ok := output(st[rent].Outputs, "ready_seconds").(float64); ok && secs > 0 {
			ready := created.Add(time.Duration(secs * float64(time.Second)))
			if ready.After(st[rent].StartedAt) && ready.Before(st[rent].EndedAt) {
				r.Phases.Provisioning = ready.Sub(st[rent].StartedAt).Seconds()
			}
		}
	}
	r.Phases.Restore = st[restore].Seconds
	end := st[restore].EndedAt
	if verify >= 0 {
		r.Phases.Verification = st[verify].Seconds
		end = st[verify].EndedAt
	}
	r.Seconds = end.Sub(r.FailedAt).Seconds()
	return r
}

// PlannedStep is what MayRecover knows of a step before the run: its
// action, the reason given to instance.destroy ("" when computed, so
// unknown), and whether its action restores data onto a machine
// (snapshot.restore, failover.restore).
type PlannedStep struct {
	Action   string
	Reason   string
	Restores bool
}

// MayRecover reports whether steps (the scenario's steps:, in order) can
// make the failover RecoveryOf finds: an instance.destroy with reason
// failure, then an instance.create, then a restore. Without one the run
// never measures the recovery phases.
func MayRecover(steps []PlannedStep) bool {
	stage := 0
	for _, s := range steps {
		switch {
		case stage == 0 && s.Action == "instance.destroy" && (s.Reason == "failure" || s.Reason == ""):
			stage = 1
		case stage == 1 && s.Action == "instance.create":
			stage = 2
		case stage == 2 && s.Restores:
			return true
		}
	}
	return false
}

// NoRecovery says why a run has no recovery phases, for an objective that
// reads one.
const NoRecovery = "no instance.destroy with reason: failure followed by an instance.create and a restore (snapshot.restore, failover.restore)"

// restoredBy says whether step moved data back onto a machine.
func restoredBy(j *Journal, step string) bool {
	for _, t := range j.Snapshots {
		if t.Step == step && (t.Kind == "restore" || t.Kind == "failover") {
			return true
		}
	}
	return false
}

func output(outputs any, key string) any {
	m, _ := outputs.(map[string]any)
	return m[key]
}

// timeOutput reads a time output, as the journal keeps it (RFC 3339 text).
func timeOutput(outputs any, key string) (time.Time, bool) {
	switch v := output(outputs, key).(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		return t, err == nil
	case time.Time:
		return v, !v.IsZero()
	}
	return time.Time{}, false
}
