package scenarios_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/testbin"
)

// fillThenSnapshot fills a sandbox's workspace with size bytes LZ4 cannot
// shrink, then snapshots it: over a slow link, time enough to kill scn in
// the middle of the upload.
func fillThenSnapshot(name string, size int) string {
	return fmt.Sprintf(`name: %s
steps:
  - id: gpu
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: fill
    action: ssh.exec
    with: { on: "${{ steps.gpu }}", command: "head -c %d /dev/urandom > big.bin" }
  - id: snap
    action: snapshot.create
    with: { on: "${{ steps.gpu }}" }
`, name, size)
}

// killedMidSnapshot is 16 MB over a 1 MiB/s link: about 15s of upload.
var killedMidSnapshot = fillThenSnapshot("killed-mid-snapshot", 16000000)

// agentProcs lists the processes running an agent installed under root
// (a sandbox's folder), by their executable.
func agentProcs(root string) []int {
	var pids []int
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range exes {
		exe, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(exe, root+"/") || !strings.Contains(exe, "/.cache/scn/agent-") {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// poll waits, bounded, for cond.
func poll(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SIGKILL to scn while its agent uploads: the agent's session ends and
// nothing keeps running on the machine (a sandbox kills what the session
// left, as it does for any command; where sshd leaves it running, the agent
// stops on its own: internal/snapshot's TestAgentStopsWhenItsSessionIsCut),
// and the ledger keeps the snapshot's intent, by name, for `scn cleanup`,
// which then removes the partial object too.
func TestAgentExitsWhenSCNIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bin/scn")
	}
	bin := scnBinary(t)
	if _, err := testbin.AgentDir(); err != nil { // beside bin, as make build puts it
		t.Fatal(err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, ".scn")
	writeFile(t, filepath.Join(dir, "scn.yaml"), "targets:\n  local:\n    kind: local\n    faults: { link_bytes_per_sec: 1048576 }\n")
	writeFile(t, filepath.Join(dir, "drill.yaml"), killedMidSnapshot)
	cmd := exec.Command(bin, "run", "drill.yaml")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "SCN_HOME="+state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// The agent is writing the data object into the store's folder.
	var partial string
	poll(t, "the agent writing the snapshot", time.Minute, func() bool {
		files, _ := filepath.Glob(filepath.Join(state, "store", "snapshots", "*", ".scn-put-*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
				partial = f
				return true
			}
		}
		return false
	})
	sandboxes := filepath.Join(state, "local")
	if pids := agentProcs(sandboxes); len(pids) != 1 {
		t.Fatalf("want one agent running, found %v\n%s", pids, &out)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	poll(t, "the agent exiting after scn was killed", 30*time.Second, func() bool { return len(agentProcs(sandboxes)) == 0 })
	_, left := openLeftovers(t, state)
	var snapshot bool
	for _, r := range left {
		snapshot = snapshot || (r.Kind == "snapshot" && strings.HasPrefix(r.Label, "scn-"))
	}
	if !snapshot {
		t.Errorf("the ledger keeps no trace of the interrupted snapshot: %+v", left)
	}

	clean := exec.Command(bin, "cleanup")
	clean.Dir = dir
	clean.Env = cmd.Env
	if b, err := clean.CombinedOutput(); err != nil {
		t.Fatalf("scn cleanup: %v\n%s", err, b)
	}
	if _, left := openLeftovers(t, state); len(left) != 0 {
		t.Errorf("scn cleanup left %+v", left)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("scn cleanup left the partial object %s", partial)
	}
	if objs, _ := filepath.Glob(filepath.Join(state, "store", "snapshots", "*", "*")); len(objs) != 0 {
		t.Errorf("the store still holds %v", objs)
	}
}
