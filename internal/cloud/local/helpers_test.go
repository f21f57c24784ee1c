package local_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
	"github.com/scnlabs/scn/internal/remote"
)

// A secret in scn's environment, which no sandbox command may see.
const secretEnv, secretValue = "B2_APPLICATION_KEY", "K005-do-not-leak"

func TestMain(m *testing.M) {
	local.RunIfChild()
	if os.Getenv("LOCAL_TEST_HELPER") == "create" {
		os.Exit(helperCreate())
	}
	os.Setenv(secretEnv, secretValue)
	os.Exit(m.Run())
}

// helperCreate is a short-lived "scn" that creates one sandbox and exits.
func helperCreate() int {
	key, err := remote.LoadOrCreateKey(os.Getenv("LOCAL_TEST_KEYDIR"))
	if err == nil {
		p := local.New(local.Options{StateDir: os.Getenv("LOCAL_TEST_STATEDIR"), Key: key})
		var inst *cloud.Instance
		inst, err = p.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: "loc-3090-a"}, Label: "scn-helper-gpu"})
		if err == nil {
			fmt.Print(inst.ID)
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// fixture is a provider over a fresh state folder whose sandboxes are all
// destroyed, and checked gone, when the test ends.
type fixture struct {
	t        *testing.T
	stateDir string
	keyDir   string
	key      *remote.Key
	p        *local.Provider
	pool     *remote.Pool
	seen     []int // pids of every sandbox created
}

func newFixture(t *testing.T, faults local.Faults) *fixture {
	t.Helper()
	f := &fixture{t: t, stateDir: t.TempDir()}
	f.keyDir = filepath.Join(f.stateDir, "keys")
	key, err := remote.LoadOrCreateKey(f.keyDir)
	if err != nil {
		t.Fatal(err)
	}
	f.key = key
	f.p = f.provider(faults)
	f.pool = remote.NewPool(key.Signer, remote.Options{ConnectTimeout: 10 * time.Second})
	t.Cleanup(f.cleanup)
	return f
}

// provider is another Provider over the same state, as a later scn command
// would make.
func (f *fixture) provider(faults local.Faults) *local.Provider {
	return local.New(local.Options{StateDir: f.stateDir, Key: f.key, Faults: faults, StopGrace: 3 * time.Second})
}

func (f *fixture) cleanup() {
	f.pool.Close()
	ctx := context.Background()
	insts, err := f.p.List(ctx, "")
	if err != nil {
		f.t.Errorf("cleanup: %v", err)
	}
	var pids []int
	for _, inst := range insts {
		pids = append(pids, f.pid(inst.ID))
		if err := f.p.Destroy(ctx, inst.ID, cloud.ReasonUser); err != nil {
			f.t.Errorf("cleanup: %v", err)
		}
	}
	for _, pid := range append(pids, f.seen...) {
		assertGone(f.t, pid)
	}
	if left, _ := os.ReadDir(filepath.Join(f.stateDir, "local")); len(left) > 0 {
		f.t.Errorf("cleanup left %d entries in the sandboxes folder", len(left))
	}
}

// pid reads a sandbox's pid from its state.json (0 if none).
func (f *fixture) pid(id string) int {
	var st sandbox.State
	sandbox.ReadJSON(filepath.Join(f.stateDir, "local", id, sandbox.StateFile), &st)
	return st.PID
}

// create makes a sandbox and remembers its pid for the final check.
func (f *fixture) create(label string) *cloud.Instance {
	f.t.Helper()
	inst, err := f.p.Create(context.Background(), cloud.CreateRequest{Offer: cloud.Offer{ID: "loc-4090-a"}, Label: label})
	if err != nil {
		f.t.Fatal(err)
	}
	f.seen = append(f.seen, f.pid(inst.ID))
	return inst
}

// ready waits until the instance answers SSH probes.
func (f *fixture) ready(id string, onPoll func(*cloud.Instance, time.Duration, string)) *cloud.Instance {
	f.t.Helper()
	inst, err := cloud.WaitReady(context.Background(), f.p, id, cloud.WaitOptions{
		Interval: 20 * time.Millisecond, Timeout: 30 * time.Second, Probe: f.pool.Probe, OnPoll: onPoll})
	if err != nil {
		f.t.Fatalf("instance %s not ready: %v (log: %s)", id, err, f.log(id))
	}
	return inst
}

func (f *fixture) log(id string) string {
	b, _ := os.ReadFile(filepath.Join(f.stateDir, "local", id, sandbox.LogFile))
	return string(b)
}

// run executes cmd on the instance through the pool.
func (f *fixture) run(inst *cloud.Instance, cmd string) (string, error) {
	c, err := f.pool.Client(context.Background(), inst)
	if err != nil {
		return "", err
	}
	return remote.Run(context.Background(), c, cmd, nil)
}

// waitStatus polls Get (bounded) until the instance reaches status.
func (f *fixture) waitStatus(id, status string) *cloud.Instance {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		inst, err := f.p.Get(context.Background(), id)
		if err != nil {
			f.t.Fatal(err)
		}
		if inst.Status == status {
			return inst
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("instance %s still %s, want %s", id, inst.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertGone waits (bounded) until pid is no process, or only a zombie, and
// nothing is left in its session.
func assertGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 1 {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		members := sessionMembers(pid)
		if !processAlive(pid) && len(members) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("sandbox %d left processes behind: alive %v, session members %v", pid, processAlive(pid), members)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive is true for a live process, false for none or a zombie.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// sessionMembers lists live processes in session sid (Linux).
func sessionMembers(sid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) > 3 && f[0] != "Z" && f[3] == strconv.Itoa(sid) {
			out = append(out, pid)
		}
	}
	return out
}
