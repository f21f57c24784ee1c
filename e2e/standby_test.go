package e2e

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
)

// cpu-standby on the vast target: GPUs from the VAST fake, the standby an
// e2-medium Spot VM from the Compute Engine fake, every machine a real SSH
// server of its own. The GPU dies after files were written that no sync
// copied; the standby notices, holds the rest, and hands it to a new GPU.
func TestCPUStandbyOnVast(t *testing.T) {
	t.Parallel()
	w := newStandbyWorld(t)
	d := runDrill(t, w.tgt, scenario("cpu-standby.yaml"), standbyVars)
	mustPass(t, d)
	j := d.Journal

	// The drill's figures, in the journal and in metrics.json.
	var m report.MetricsFile
	if err := json.Unmarshal(mustRead(t, filepath.Join(d.Dir, "metrics.json")), &m); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*float64{"mttr_sec": m.MTTRSeconds, "detection_sec": m.DetectionSeconds, "data_at_risk_sec": m.DataAtRiskSeconds} {
		if v == nil || *v <= 0 {
			t.Errorf("metrics.json %s = %v, want > 0", name, v)
		}
	}
	if m.LostFiles == nil || *m.LostFiles < 2 {
		t.Errorf("metrics.json lost_files = %v, want at least the 2 late files", m.LostFiles)
	}
	for _, name := range []string{"mttr_seconds", "detection_seconds", "data_at_risk_seconds"} {
		if v, _ := m.Metrics[name].(float64); v <= 0 { // the scenario's report.metrics
			t.Errorf("metrics.json metrics.%s = %v, want > 0", name, m.Metrics[name])
		}
	}
	if v, _ := m.Metrics["lost_files"].(float64); v < 2 {
		t.Errorf("metrics.json metrics.lost_files = %v, want at least 2", m.Metrics["lost_files"])
	}
	if s := j.Standby; s == nil || s.LostFiles < 2 || s.MTTRSeconds <= 0 {
		t.Errorf("journal standby %+v, want MTTR > 0 and at least 2 lost files", s)
	}
	if v := j.Validation; v == nil || v.Valid != 3 || v.Total != 3 {
		t.Errorf("validation %+v, want 3/3 valid", v)
	}
	// The recovery in phases: the standby detected the failure after the
	// kill, then gpu2's rent, the failover copy and the verification.
	if r := j.Recovery; r == nil || !r.Recovered || r.Instance != output(t, j, "gpu2", "id") || r.Phases.Detection <= 0 ||
		r.Phases.Provisioning != step(t, j, "gpu2").Seconds || r.Phases.Restore != step(t, j, "restore").Seconds ||
		r.Phases.Verification != step(t, j, "verify").Seconds || r.Seconds < r.Phases.Detection+r.Phases.Provisioning+r.Phases.Restore {
		t.Errorf("journal recovery %+v", r)
	}

	// The standby: one e2-medium Spot VM, inserted, then deleted.
	ins := w.vms.Inserts()
	if len(ins) != 1 {
		t.Fatalf("%d inserts, want 1: %v", len(ins), ins)
	}
	name, _ := ins[0]["name"].(string)
	if got := output(t, j, "standby", "id"); got != name || name == "" {
		t.Errorf("standby.create reports VM %v, the insert named %q", got, name)
	}
	assertStandbyBody(t, ins[0], w.tgt.PublicKey, w.vms.Workspace)
	// The first sync went GPU → B2 → standby by the machines' agents: no
	// byte of it through scn (docs/decisions.md, "Standby sync").
	if via, n := output(t, j, "standby", "sync_via"), output(t, j, "standby", "sync_scn_bytes"); via != "agent" || n != float64(0) {
		t.Errorf("the first sync went via %v with %v bytes through scn, want the agents and none", via, n)
	}
	// And the failover copy went standby → B2 → new GPU the same way.
	if via, n := output(t, j, "restore", "via"), output(t, j, "restore", "scn_bytes"); via != "agent" || n != float64(0) {
		t.Errorf("the failover copy went via %v with %v bytes through scn, want the agents and none", via, n)
	}
	if got := output(t, j, "standby", "workspace"); got != w.vms.Workspace {
		t.Errorf("the standby keeps its copy in %v, want the VMs' workspace %s", got, w.vms.Workspace)
	}
	if got := w.gceCalls(t); got["insert"] != 1 || got["delete"] != 1 || got["get"] == 0 {
		t.Errorf("Compute Engine calls %v, want 1 insert, status reads, 1 delete", got)
	}
	if posts, bearers := w.google.seen(); posts == 0 || len(bearers) == 0 {
		t.Errorf("%d token requests, %d bearer tokens: the OAuth token endpoint was not used", posts, len(bearers))
	}
	if srv := w.vms.Server(name); srv == nil || len(srv.Execs()) == 0 {
		t.Errorf("the standby VM's SSH server %v ran no command", srv)
	}
	assertOwnPathsOnly(t, w.vms.machineSet, w.gpus.Workspace)
	assertOwnPathsOnly(t, w.gpus.machineSet, w.vms.Workspace)
	w.assertNothingAlive(t)
	for _, r := range j.Resources {
		if r.State != "destroyed" && r.Kind != "snapshot" {
			t.Errorf("%s %s ended %s", r.Kind, r.ID, r.State)
		}
		// The standby VM is priced from Google's price list, read with the
		// same service account, not from scn's table.
		if r.Kind == "standby" && (r.Estimated || !strings.HasPrefix(r.PriceSource, "gcp billing catalog")) {
			t.Errorf("standby %s priced %v/h from %q (estimated %v), want the billing catalogue", r.ID, r.PricePerHour, r.PriceSource, r.Estimated)
		}
		// And its cost is Google's bill: the seconds from its creation to
		// its deletion, at least a minute (the drill's VM lives less).
		if r.Kind == "standby" {
			usd, secs := w.gce.Bill(r.ID)
			if math.Abs(r.LifetimeSeconds-secs) > 0.5 {
				t.Errorf("standby %s: lifetime %.3fs, Compute Engine billed %.3fs", r.ID, r.LifetimeSeconds, secs)
			}
			if math.Abs(r.CostUSD-usd) > r.PricePerHour*0.5/3600 || usd <= 0 {
				t.Errorf("standby %s cost $%.7f in the journal, Compute Engine billed $%.7f for %.1fs (a minute at least)", r.ID, r.CostUSD, usd, secs)
			}
		}
	}

	// Where the files are: GPU A had all five; the standby and GPU B only
	// the three synced before the failure (B got them from the standby:
	// A's disk was never B's).
	gpuA, gpuB := output(t, j, "gpu", "id").(string), output(t, j, "gpu2", "id").(string)
	early, late := createdFiles(t, d, "files", w.gpus.Workspace), createdFiles(t, d, "late", w.gpus.Workspace)
	if len(early) != 3 || len(late) != 2 {
		t.Fatalf("files written: %v and late %v, want 3 and 2", early, late)
	}
	diskA := w.gpus.Disk(gpuA)
	assertHolds(t, "GPU A", diskA, "", append(early, late...), nil)
	assertHolds(t, "the standby", w.vms.Disk(name), diskA, early, late)
	assertHolds(t, "GPU B", w.gpus.Disk(gpuB), diskA, early, late)
	if held := output(t, j, "held", "valid"); held != 3.0 {
		t.Errorf("files.verify on the standby: %v valid, want 3", held)
	}

	mustExist(t, filepath.Join(d.Dir, "journal.json"), filepath.Join(d.Dir, "report.html"))
	assertNoSecrets(t, d.Console, w.secrets(t), w.state)
}

// assertStandbyBody checks the insert asks for what the standby is: an
// e2-medium Spot VM deleted on preemption, reachable with the project key,
// whose startup script makes the workspace.
func assertStandbyBody(t *testing.T, body map[string]any, publicKey, workspace string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	var vm struct {
		MachineType string
		Scheduling  struct{ ProvisioningModel, InstanceTerminationAction string }
		Metadata    struct{ Items []struct{ Key, Value string } }
		Labels      map[string]string
	}
	if err := json.Unmarshal(raw, &vm); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(vm.MachineType, "/machineTypes/e2-medium") {
		t.Errorf("insert machineType %q, want e2-medium", vm.MachineType)
	}
	if s := vm.Scheduling; s.ProvisioningModel != "SPOT" || s.InstanceTerminationAction != "DELETE" {
		t.Errorf("insert scheduling %+v, want SPOT deleted on preemption", s)
	}
	meta := map[string]string{}
	for _, it := range vm.Metadata.Items {
		meta[it.Key] = it.Value
	}
	if script := meta["startup-script"]; !strings.Contains(script, "mkdir -p "+workspace+"\n") {
		t.Errorf("the startup script does not make the workspace %s:\n%s", workspace, script)
	}
	keys := meta["ssh-keys"]
	if !strings.HasSuffix(keys, ":"+strings.TrimSpace(publicKey)) {
		t.Errorf("insert ssh-keys %q, want the project key %q", keys, publicKey)
	}
	if vm.Labels["scn-run"] == "" || vm.Labels["scn-label"] == "" {
		t.Errorf("insert labels %v, want scn-run and scn-label for scn cleanup", vm.Labels)
	}
}

// The standby's insert meets trouble once. A 503 on the insert request is
// retried (same requestId: one VM) and the drill passes; an insert whose
// operation ends QUOTA_EXCEEDED fails the drill at standby.create, quoting
// Google, with nothing left rented.
func TestCPUStandbyOnVastInsertFailsOnce(t *testing.T) {
	t.Parallel()
	t.Run("503 retried", func(t *testing.T) {
		t.Parallel()
		w := newStandbyWorld(t)
		w.gce.FailNext(gcptest.Fault{Status: 503, Reason: "backendError", Message: "Internal error. Please try again or contact Google Support."})
		// FailNext fails the next compute call: the insert is the first.
		d := runDrill(t, w.tgt, scenario("cpu-standby.yaml"), standbyVars)
		mustPass(t, d)
		if got := w.gceCalls(t); got["insert"] != 2 || got["delete"] != 1 {
			t.Errorf("Compute Engine calls %v, want the insert twice (503, then taken) and 1 delete", got)
		}
		ins := w.vms.Inserts()
		if len(ins) != 2 || ins[0]["name"] != ins[1]["name"] {
			t.Errorf("the retried insert named another VM: %v then %v", ins[0]["name"], ins[1]["name"])
		}
		w.assertNothingAlive(t)
		assertNoSecrets(t, d.Console, w.secrets(t), w.state)
	})
	t.Run("QUOTA_EXCEEDED fails clearly", func(t *testing.T) {
		t.Parallel()
		w := newStandbyWorld(t)
		w.gce.FailNextInsert("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded.  Limit: 0.0 in region us-central1.")
		d := runDrill(t, w.tgt, scenario("cpu-standby.yaml"), standbyVars)
		j := d.Journal
		if j.Status != journal.StatusFailed {
			t.Fatalf("cpu-standby with the standby over quota: %s, want failed", j.Status)
		}
		s := step(t, j, "standby")
		if s.Status != journal.StepFailed || !strings.Contains(s.Error, "QUOTA_EXCEEDED") || !strings.Contains(s.Error, "Quota 'CPUS' exceeded") {
			t.Errorf("standby.create ended %s: %q, want failed quoting Google's QUOTA_EXCEEDED", s.Status, s.Error)
		}
		if !strings.Contains(j.Error, "QUOTA_EXCEEDED") {
			t.Errorf("the run's error %q does not say the standby hit its quota", j.Error)
		}
		for _, later := range []string{"late", "kill", "gpu2", "restore"} {
			if st := step(t, j, later).Status; st == journal.StepPassed {
				t.Errorf("step %s ran after standby.create failed", later)
			}
		}
		if got := w.gceCalls(t); got["insert"] != 1 {
			t.Errorf("Compute Engine calls %v, want 1 insert (a quota does not lift on retry)", got)
		}
		if booted := w.vms.Booted(); len(booted) > 0 {
			t.Errorf("standby VMs booted although the insert failed: %v", booted)
		}
		w.assertNothingAlive(t)
		assertNoSecrets(t, d.Console, w.secrets(t), w.state)
	})
}

// Compute Engine reclaims the Spot standby while the drill runs (as the
// late files are written): the association finds it gone, the drill fails
// saying the standby was lost, and nothing is left rented.
func TestCPUStandbyOnVastStandbyPreempted(t *testing.T) {
	t.Parallel()
	w := newStandbyWorld(t)
	var vm string // the run's one standby VM
	preempted := false
	d := runDrillHooked(t, w.tgt, scenario("cpu-standby.yaml"), standbyVars, func(step string) {
		if ins := w.vms.Inserts(); step == "late" && len(ins) == 1 {
			vm, _ = ins[0]["name"].(string)
			preempted = w.gce.Preempt(vm)
		}
	})
	j := d.Journal
	if !preempted {
		t.Fatalf("the standby VM %q was not there to preempt when step late started", vm)
	}
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "standby "+vm+" lost") {
		t.Fatalf("cpu-standby with its standby preempted: %s %q, want failed with \"standby %s lost\"", j.Status, j.Error, vm)
	}
	var failed []string
	for _, s := range j.Steps {
		if s.Status == journal.StepFailed {
			failed = append(failed, s.ID)
		}
	}
	if len(failed) != 1 || (failed[0] != "pending" && failed[0] != "detect") {
		t.Errorf("failed steps %v, want one standby.status (pending or detect)", failed)
	}
	if s := j.Standby; s == nil || s.State != "standby_lost" || !strings.Contains(s.Error, "lost") {
		t.Errorf("journal standby %+v, want standby_lost with its reason", s)
	}
	if srv := w.vms.Server(vm); srv == nil {
		t.Errorf("the standby VM %s never served SSH", vm)
	}
	w.assertNothingAlive(t)
	assertNoSecrets(t, d.Console, w.secrets(t), w.state)
}

// assertOwnPathsOnly fails when a command scn ran on a machine of set
// names other's path: machines share this test's filesystem, so reading
// another machine's folder would work here and nowhere else.
func assertOwnPathsOnly(t *testing.T, set *machineSet, other string) {
	t.Helper()
	for _, id := range set.Booted() {
		for _, cmd := range set.Server(id).Execs() {
			if strings.Contains(cmd, other) {
				t.Errorf("%s %s was asked to reach %s, another machine's folder: %.200s", set.kind, id, other, cmd)
			}
		}
	}
}
