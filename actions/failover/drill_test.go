package failover_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/actions/failover"
	"github.com/scnlabs/scn/actions/files"
	"github.com/scnlabs/scn/actions/instance"
	"github.com/scnlabs/scn/actions/standby"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/runner"
)

var offer1 = map[string]any{"id": "1", "provider": "vast", "gpu": "RTX_4090", "num_gpus": 1, "price": 0.30}

// The cpu-standby drill: GPU → files → standby → more files → the GPU dies
// → detection → the data survived on the standby (except what came after
// the last sync) → a new GPU → failover → every MD5 verified there.
func TestCPUStandbyDrill(t *testing.T) {
	w := newWorld(t)
	console := &consoleLines{}
	w.Run.Events = console
	gpu := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu", instance.Create, map[string]any{"offer": offer1, "ready_timeout": "20s", "fallback": 0})
	gpuDir := w.ws(gpu.ID)
	made := actiontest.OK[files.CreateOutputs](t, w.Run, "files", files.Create, map[string]any{"on": gpu.ID, "dir": gpuDir, "count": 3, "size": 4096})
	sbDir := filepath.Join(t.TempDir(), "copy") // the VM's /workspace, in this test's folder

	sb := actiontest.OK[standby.CreateOutputs](t, w.Run, "standby", standby.Create, map[string]any{
		"gpu": map[string]any{"id": gpu.ID, "provider": "vast"}, "path": gpuDir, "standby_path": sbDir,
		"sync_interval": "1h", "check_interval": "10ms", "failure_threshold": 3, "ready_timeout": "20s"})
	if sb.Provider != "gcp" || sb.GPU != gpu.ID || sb.State != "syncing" || sb.SyncCount != 1 || sb.FileCount != 3 ||
		sb.Bytes != 3*4096 || sb.Workspace != sbDir || sb.SyncBytes < 3*4096 || sb.Price <= 0 {
		t.Fatalf("standby.create: %+v", sb)
	}
	if tr := sb.Transfer(); tr.Kind != "sync" || tr.ID != sb.ID || tr.BytesStream != sb.SyncBytes || tr.Files != 3 {
		t.Errorf("standby.create transfer: %+v", tr)
	}

	// Written after the last sync: the next sync is an hour away.
	late := actiontest.OK[files.CreateOutputs](t, w.Run, "late", files.Create, map[string]any{"on": gpu.ID, "dir": gpuDir, "count": 2, "prefix": "late-"})
	actiontest.Until(t, w.Run, "pending", standby.Status, map[string]any{"id": sb.ID}, func(o *standby.StatusOutputs) bool { return o.PendingFiles == 2 })

	actiontest.OK[instance.DestroyOutputs](t, w.Run, "kill", instance.Destroy, map[string]any{"id": gpu.ID, "reason": "failure"})
	det := actiontest.Until(t, w.Run, "detect", standby.Status, map[string]any{"id": map[string]any{"id": sb.ID, "provider": "gcp"}},
		func(o *standby.StatusOutputs) bool { return o.State == "failover_active" })
	if det.LostFiles != 2 || !reflect.DeepEqual(det.Lost, []string{"late-1.txt", "late-2.txt"}) ||
		det.DataAtRiskSeconds <= 0 || det.DetectionSeconds <= 0 || det.FailureDetectedAt.Before(det.FirstFailureAt) ||
		!strings.Contains(det.LastError, "failed 3 health checks in a row") {
		t.Errorf("detection: %+v", det)
	}
	if s := det.Standby(); s.ID != sb.ID || s.State != "failover_active" || s.LostFiles != 2 || s.DataAtRiskSeconds != det.DataAtRiskSeconds {
		t.Errorf("journal standby: %+v", s)
	}
	if _, err := w.Do(t, "sync", standby.Sync, map[string]any{"id": sb.ID}); err == nil || !strings.Contains(err.Error(), "failover is active") {
		t.Errorf("standby.sync with the GPU gone: %v", err)
	}

	// The data survived the GPU on the standby; the late files did not.
	onStandby := actiontest.OK[files.VerifyOutputs](t, w.Run, "survived", files.Verify, map[string]any{"on": sbRef(sb), "files": runner.ToGeneric(made.Files), "dir": sbDir})
	if !onStandby.Success || onStandby.Valid != 3 {
		t.Errorf("files on the standby: %+v", onStandby)
	}
	lost := actiontest.OK[files.VerifyOutputs](t, w.Run, "lost", files.Verify, map[string]any{"on": sbRef(sb), "files": runner.ToGeneric(late.Files), "dir": sbDir, "fail": false})
	if len(lost.Missing) != 2 || len(lost.Missing) != det.LostFiles {
		t.Errorf("late files on the standby: %+v", lost)
	}

	gpu2 := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu2", instance.Create, map[string]any{"gpu": "RTX_4090", "ready_timeout": "20s", "fallback": 0})
	gpu2Dir := filepath.Join(w.ws(gpu2.ID), "restored")
	fo := actiontest.OK[failover.RestoreOutputs](t, w.Run, "failover", failover.Restore, map[string]any{"standby": sb.ID, "on": gpu2.ID, "path": gpu2Dir})
	if !fo.Verified || fo.FileCount != 3 || fo.Checked != 3 || fo.Valid != 3 || fo.Bytes < 3*4096 || fo.MTTRSeconds <= 0 ||
		fo.Planned || fo.StandbyState != "restored" || fo.LostFiles != 2 || fo.GPU != gpu2.ID {
		t.Errorf("failover.restore: %+v", fo)
	}
	var (
		_ actions.TransferReport   = fo
		_ actions.StandbyReport    = fo
		_ actions.ValidationReport = fo
	)
	if tr := fo.Transfer(); tr.Kind != "failover" || tr.Files != 3 || tr.BytesStream != fo.Bytes {
		t.Errorf("failover transfer: %+v", tr)
	}
	if v, ok := fo.Validation(); !ok || !v.Success || v.Total != 3 || v.Valid != 3 {
		t.Errorf("failover validation: %+v", v)
	}
	if s := fo.Standby(); s.MTTRSeconds != fo.MTTRSeconds || s.LostFiles != 2 || s.DetectionSeconds <= 0 || s.State != "restored" {
		t.Errorf("journal standby after failover: %+v", s)
	}
	onNew := actiontest.OK[files.VerifyOutputs](t, w.Run, "verify", files.Verify, map[string]any{"on": gpu2.ID, "files": runner.ToGeneric(made.Files), "dir": gpu2Dir})
	if !onNew.Success {
		t.Errorf("files on the new GPU: %+v", onNew)
	}

	// The standby follows the new GPU.
	if err := os.WriteFile(filepath.Join(gpu2Dir, "resumed.txt"), []byte("training goes on"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := actiontest.OK[standby.SyncOutputs](t, w.Run, "resync", standby.Sync, map[string]any{"standby": sb.ID})
	if s.GPU != gpu2.ID || s.CopiedFiles != 1 || s.State != "syncing" {
		t.Errorf("sync from the new GPU: %+v", s)
	}
	if b, err := os.ReadFile(filepath.Join(sbDir, "resumed.txt")); err != nil || string(b) != "training goes on" {
		t.Errorf("resumed.txt on the standby: %q %v", b, err)
	}

	// Every standby event reaches the console once: live, as it happens,
	// not again when standby.status or failover.restore runs; the status
	// step's journal still records what happened before it.
	seen := map[string]int{}
	for _, l := range console.all() {
		// Live events carry the standby's name, as the console shows them
		// under the standby step; compare them without it.
		l = strings.TrimPrefix(l, "standby "+sb.ID+": ")
		for _, event := range []string{"health check", "failover active", "restored ", "sync from GPU"} {
			if strings.Contains(l, event) {
				seen[l]++
			}
		}
	}
	for line, n := range seen {
		if n > 1 {
			t.Errorf("shown %d times on the console: %s", n, line)
		}
	}
	var failedCheck, restored int
	for line := range seen {
		if strings.Contains(line, "failed its health check (1/3)") {
			failedCheck++
		}
		if strings.HasPrefix(line, "restored 3 files") {
			restored++
		}
	}
	if failedCheck != 1 || restored != 1 {
		t.Errorf("console: %d first failed checks, %d restores; want 1 of each:\n%s", failedCheck, restored, strings.Join(console.all(), "\n"))
	}
	if logs := strings.Join(w.Run.Env("detect").Logs(), "\n"); !strings.Contains(logs, "failed its health check (1/3)") {
		t.Errorf("the detect step's journal lacks the failed checks:\n%s", logs)
	}

	// Cleanup (LIFO): the loops stop before the standby VM is destroyed.
	order := []string{}
	for _, e := range w.Undo.Pending() {
		order = append(order, e.Description)
	}
	stop, vm := slices.Index(order, "stop syncing standby "+sb.ID), slices.Index(order, "destroy standby "+sb.ID)
	if stop < 0 || vm < 0 || stop > vm {
		t.Errorf("undo order %q: the loops must stop before the VM goes", order)
	}
}

// sbRef is ${{ steps.standby }} as the next step sees it: id and provider.
func sbRef(sb *standby.CreateOutputs) map[string]any {
	return map[string]any{"id": sb.ID, "provider": sb.Provider, "workspace": sb.Workspace}
}

func TestAStandbyThatDiesFailsStatusAndSync(t *testing.T) {
	w := newWorld(t)
	gpu := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu", instance.Create, map[string]any{"offer": offer1, "ready_timeout": "20s", "fallback": 0})
	actiontest.OK[files.CreateOutputs](t, w.Run, "files", files.Create, map[string]any{"on": gpu.ID, "dir": w.ws(gpu.ID), "count": 2})
	sb := actiontest.OK[standby.CreateOutputs](t, w.Run, "standby", standby.Create, map[string]any{
		"gpu": gpu.ID, "path": w.ws(gpu.ID), "standby_path": t.TempDir(), "check_interval": "10ms", "failure_threshold": 2})

	if !w.gce.Preempt(sb.ID) { // Compute Engine reclaims the Spot VM
		t.Fatalf("no VM %s to preempt", sb.ID)
	}
	out := actiontest.Until(t, w.Run, "watch", standby.Status, map[string]any{"id": sb.ID, "fail": false},
		func(o *standby.StatusOutputs) bool { return o.State == "standby_lost" })
	// Preempted: STOPPING (exited) then deleted (gone) on the next read.
	if !strings.Contains(out.LastError, "standby "+sb.ID+" lost") || !strings.Contains(out.LastError, "exited") && !strings.Contains(out.LastError, "gone") {
		t.Errorf("why: %q", out.LastError)
	}
	if s := out.Standby(); s.Error == "" || s.State != "standby_lost" {
		t.Errorf("journal standby: %+v", s)
	}
	if _, err := w.Do(t, "status", standby.Status, map[string]any{"id": sb.ID}); err == nil || !strings.Contains(err.Error(), "lost") {
		t.Errorf("standby.status (fail: true) on a lost standby: %v", err)
	}
	if _, err := w.Do(t, "sync", standby.Sync, map[string]any{"id": sb.ID}); err == nil || !strings.Contains(err.Error(), "lost") {
		t.Errorf("standby.sync to a lost standby: %v", err)
	}
}

// A new GPU whose disk garbles a file: the MD5 check catches it, the step
// fails naming it, and the standby keeps waiting for a good GPU.
func TestFailoverCatchesADamagedCopy(t *testing.T) {
	w := newWorld(t)
	gpu := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu", instance.Create, map[string]any{"offer": offer1, "ready_timeout": "20s", "fallback": 0})
	made := actiontest.OK[files.CreateOutputs](t, w.Run, "files", files.Create, map[string]any{"on": gpu.ID, "dir": w.ws(gpu.ID), "count": 3})
	sb := actiontest.OK[standby.CreateOutputs](t, w.Run, "standby", standby.Create, map[string]any{
		"gpu": gpu.ID, "path": w.ws(gpu.ID), "standby_path": t.TempDir(), "check_interval": "10ms", "failure_threshold": 1})
	actiontest.OK[instance.DestroyOutputs](t, w.Run, "kill", instance.Destroy, map[string]any{"id": gpu.ID, "reason": "failure"})
	actiontest.Until(t, w.Run, "detect", standby.Status, map[string]any{"id": sb.ID}, func(o *standby.StatusOutputs) bool { return o.State == "failover_active" })

	bad := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu2", instance.Create, map[string]any{"gpu": "RTX_4090", "ready_timeout": "20s", "fallback": 0})
	damaged := filepath.Join(w.ws(bad.ID), "test-file-2.txt")
	w.mu.Lock()
	w.env[bad.ID] = []string{"PATH=" + faultyTar(t) + ":" + os.Getenv("PATH"), "SCN_DAMAGE=" + damaged}
	w.mu.Unlock()
	out, err := w.Do(t, "failover", failover.Restore, map[string]any{"standby": sb.ID, "to": bad.ID, "path": w.ws(bad.ID)})
	if err == nil || !strings.Contains(err.Error(), "MD5 mismatch: "+damaged) {
		t.Fatalf("failover onto a damaged disk: %v", err)
	}
	fo := out.(*failover.RestoreOutputs)
	if fo.Verified || fo.Valid != 2 || !reflect.DeepEqual(fo.Mismatched, []string{damaged}) || len(fo.Missing) != 0 {
		t.Errorf("outputs: %+v", fo)
	}
	if v, ok := fo.Validation(); !ok || v.Success || v.Mismatched != 1 || len(v.Failures) != 1 || v.Failures[0].Path != damaged {
		t.Errorf("validation: %+v", v)
	}
	st := actiontest.OK[standby.StatusOutputs](t, w.Run, "after", standby.Status, map[string]any{"id": sb.ID})
	if st.State != "failover_active" || st.GPU != gpu.ID {
		t.Errorf("the standby must keep waiting after a bad copy: %+v", st)
	}

	good := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu3", instance.Create, map[string]any{"gpu": "RTX_4090", "ready_timeout": "20s", "fallback": 0})
	fo = actiontest.OK[failover.RestoreOutputs](t, w.Run, "failover2", failover.Restore, map[string]any{"standby": sb.ID, "to": good.ID, "path": w.ws(good.ID)})
	if !fo.Verified || fo.Valid != 3 {
		t.Errorf("second failover: %+v", fo)
	}
	actiontest.OK[files.VerifyOutputs](t, w.Run, "verify", files.Verify, map[string]any{"on": good.ID, "files": runner.ToGeneric(made.Files), "dir": w.ws(good.ID)})
}

// faultyTar is a folder holding a tar that extracts, then appends a byte
// to $SCN_DAMAGE: a disk that corrupts what was written.
func faultyTar(t *testing.T) string {
	t.Helper()
	real, err := exec.LookPath("tar")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\n" + real + " \"$@\" || exit $?\ncase \" $* \" in *\" -xpf \"*) printf X >> \"$SCN_DAMAGE\";; esac\n"
	if err := os.WriteFile(filepath.Join(dir, "tar"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// consoleLines records the lines actions show on the console.
type consoleLines struct {
	event.Discard
	mu    sync.Mutex
	lines []string
}

func (c *consoleLines) Log(_, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, line)
}

func (c *consoleLines) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}
