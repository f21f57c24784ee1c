package standby

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/testbin"
)

// agents finds scn's agent as the CLI does (built for this machine).
func agents(t testing.TB) *agentctl.Launcher {
	t.Helper()
	dir, err := testbin.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	return agentctl.New(agentctl.Binaries{Dir: dir})
}

// s3Store is a store on the S3 test server, which checks the presigned
// URLs' query-string SigV4 and expiry like S3 does.
func s3Store(t testing.TB) (store.Store, *s3test.Server) {
	t.Helper()
	srv := s3test.StartServer(t, s3test.Options{})
	return srv.Store(t, "drills"), srv
}

// With an agent and a store, every cycle's increment goes GPU → store →
// standby by the machines' agents: the copy is exact, deletions and
// changes follow, no byte passes through scn, and the object that carried
// the increment is gone afterwards. Through a directory store the
// machines share with scn (local sandboxes) and through S3 with presigned
// URLs.
func TestSyncGoesThroughTheStoreByTheAgents(t *testing.T) {
	for _, kind := range []string{"dir", "s3"} {
		t.Run(kind, func(t *testing.T) {
			var st store.Store
			var srv *s3test.Server
			if kind == "dir" {
				st = store.NewDir(filepath.Join(t.TempDir(), "store"))
			} else {
				st, srv = s3Store(t)
			}
			r := newRig(t)
			gpu, sb := r.overSSH(t, r.machine(t)), r.overSSH(t, r.machine(t))
			total := bigTree(t, gpu.Dir, 24, 256<<10) // 6 MiB: parts of 5 MiB on S3
			write(t, filepath.Join(gpu.Dir, "notes.txt"), "epoch 1\n")
			write(t, filepath.Join(gpu.Dir, "gone.txt"), "soon deleted\n")
			must(t, os.Symlink("notes.txt", filepath.Join(gpu.Dir, "latest")))
			m := newManual()
			var logMu sync.Mutex
			var logs []string
			var link links
			a := start(t, gpu, sb, m.options(Options{Agent: agents(t), Store: st, Moved: link.moved,
				Log: func(l string) { logMu.Lock(); logs = append(logs, l); logMu.Unlock() }}))

			first := a.Status().LastSync
			if first.Via != ViaAgent || first.SCNBytes != 0 || first.Bytes < total {
				t.Fatalf("first sync: %+v, want %d+ bytes via the agents, none through scn (log %q)", first, total, logs)
			}
			sameTree(t, gpu.Dir, sb.Dir)

			write(t, filepath.Join(gpu.Dir, "notes.txt"), "epoch 1\nepoch 2\n")
			must(t, os.Remove(filepath.Join(gpu.Dir, "gone.txt")))
			write(t, filepath.Join(gpu.Dir, "ckpt", "step-2.pt"), strings.Repeat("w", 100000))
			presignedBefore := 0
			if srv != nil {
				presignedBefore = srv.Presigned()
			}
			var progress atomic.Int64
			sentBefore, receivedBefore := link.get(gpu.Instance.ID)[0], link.get(sb.Instance.ID)[1]
			c, err := a.Sync(context.Background(), func(n int64) { progress.Store(n) })
			must(t, err)
			if c.Via != ViaAgent || c.SCNBytes != 0 || c.Files != 3 || c.Deleted != 1 || c.Bytes < 100000 || progress.Load() != c.Bytes {
				t.Errorf("increment: %+v (progress %d), want 3 entries and 1 deletion via the agents", c, progress.Load())
			}
			// The increment left the GPU and reached the standby over their
			// links (a provider bills both); a folder they share with scn
			// moves nothing over a network. The GPU also sent scn its
			// listing, as every cycle does.
			want := c.Bytes
			if kind == "dir" {
				want = 0
			}
			if sent, received := link.get(gpu.Instance.ID)[0]-sentBefore, link.get(sb.Instance.ID)[1]-receivedBefore; sent != want+c.Listed || received != want || c.Listed <= 0 {
				t.Errorf("the increment's %d bytes and a %d-byte listing: heard %d sent by the GPU and %d received by the standby, want %d and %d",
					c.Bytes, c.Listed, sent, received, want+c.Listed, want)
			}
			sameTree(t, gpu.Dir, sb.Dir)
			if srv != nil && srv.Presigned() == presignedBefore {
				t.Errorf("no presigned request reached the store during the increment")
			}
			if _, err := st.Stat(context.Background(), relayKey(sb.Instance.ID)); !errors.Is(err, store.ErrNotExist) {
				t.Errorf("the increment's object is still in the store: %v", err)
			}

			// A move onto a new GPU goes standby → store → GPU the same way.
			gpu2 := r.overSSH(t, r.machine(t))
			mv, err := a.Restore(context.Background(), gpu2, nil, nil)
			must(t, err)
			if mv.Via != ViaAgent || mv.SCNBytes != 0 || mv.Bytes < total || mv.Files != 24+2 {
				t.Errorf("move onto a new GPU: %+v, want the agents, no byte through scn", mv)
			}
			sameTree(t, sb.Dir, gpu2.Dir)
			if srv != nil {
				noSecretOnMachines(t, r)
			}
			logMu.Lock()
			defer logMu.Unlock()
			for _, l := range logs {
				if strings.Contains(l, "through scn") {
					t.Errorf("logged a fallback: %q", l)
				}
			}
		})
	}
}

// No agent for the machines: the sync streams through scn as before,
// counting every byte as scn's, and says why once, not every cycle.
func TestSyncFallsBackThroughSCNSayingWhyOnce(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
	var logs []string
	var mu sync.Mutex
	nowhere := agentctl.New(agentctl.Binaries{Dir: t.TempDir()}) // holds no agent
	a := start(t, gpu, sb, Options{Agent: nowhere, Store: store.NewDir(t.TempDir()), SyncTicks: make(chan time.Time), CheckTicks: make(chan time.Time),
		Log: func(l string) { mu.Lock(); logs = append(logs, l); mu.Unlock() }})
	first := a.Status().LastSync
	if first.Via != ViaSCN || first.SCNBytes != first.Bytes || first.Bytes == 0 {
		t.Fatalf("first sync: %+v, want every byte through scn", first)
	}
	write(t, filepath.Join(gpu.Dir, "b.txt"), "b")
	c, err := a.Sync(context.Background(), nil)
	must(t, err)
	if c.Via != ViaSCN || c.SCNBytes != c.Bytes || c.Files != 1 {
		t.Errorf("second sync: %+v", c)
	}
	sameTree(t, gpu.Dir, sb.Dir)
	mu.Lock()
	defer mu.Unlock()
	said := 0
	for _, l := range logs {
		if strings.Contains(l, "copying through scn over SSH") && strings.Contains(l, "no agent for it") {
			said++
		}
	}
	if said != 1 {
		t.Errorf("the fallback was said %d times, want once: %q", said, logs)
	}
}

// The store keeps refusing the GPU's uploads: the cycle fails saying so,
// the standby's copy is left as it was, and no object is left behind.
func TestRelayFailingStoreFailsTheCycleCleanly(t *testing.T) {
	st, srv := s3Store(t)
	_, gpu, sb, a := relayPair(t, st)
	before := tree(t, sb.Dir)
	write(t, filepath.Join(gpu.Dir, "b.txt"), "b")
	srv.FailPresigned(1000, 503)
	c, err := a.Sync(context.Background(), nil)
	srv.FailPresigned(0, 0)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), gpu.Instance.ID) {
		t.Fatalf("sync with a failing store: %+v, %v; want an error naming the GPU and the 503", c, err)
	}
	if after := tree(t, sb.Dir); len(after) != len(before) {
		t.Errorf("the standby changed: %d entries before, %d after", len(before), len(after))
	}
	if _, err := st.Stat(context.Background(), relayKey(sb.Instance.ID)); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("an object is left in the store: %v", err)
	}
	// The store recovers: the next cycle sends what is missing.
	_, err = a.Sync(context.Background(), nil)
	must(t, err)
	sameTree(t, gpu.Dir, sb.Dir)
}

// noSecretOnMachines fails when any file on the rig's machines (their
// homes with the installed agent, workspaces, anything written there)
// holds the store's secret key: the agents only ever get presigned URLs.
func noSecretOnMachines(t *testing.T, r *rig) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, root := range r.roots {
		must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(s3test.SecretAccessKey)) {
				t.Errorf("machine %s: %s holds the store's secret", id, p)
			}
			return nil
		}))
	}
}

// A cycle cancelled while the GPU's agent uploads (what a failover or
// scn's end does to a background sync): it fails, no agent keeps running
// on either machine, the upload is aborted and no object is left.
func TestRelayCancelledMidwayLeavesNothingRunning(t *testing.T) {
	st, _ := s3Store(t)
	r, gpu, sb, a := relayPair(t, st)
	bigTree(t, gpu.Dir, 48, 1<<20) // 48 MiB: many parts, time to cut in
	r.mu.Lock()
	roots := make([]string, 0, len(r.roots))
	for _, root := range r.roots {
		roots = append(roots, root)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seen []string // the agents running when the cut came: the check below can see them
	_, err := a.Sync(ctx, func(n int64) {
		if n > 0 && ctx.Err() == nil {
			seen = agentsRunning(roots)
			cancel()
		}
	})
	if err == nil {
		t.Fatal("a cancelled cycle succeeded")
	}
	if len(seen) == 0 {
		t.Fatal("no agent was seen running mid-upload: the check for leftovers would see nothing either")
	}
	deadline := time.Now().Add(15 * time.Second)
	for left := agentsRunning(roots); len(left) > 0; left = agentsRunning(roots) {
		if time.Now().After(deadline) {
			t.Fatalf("agents still running after the cancelled cycle: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := st.Stat(context.Background(), relayKey(sb.Instance.ID)); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("an object is left in the store: %v", err)
	}
}

// agentsRunning lists the processes whose command line runs an agent
// installed under one of roots (the machines' homes).
func agentsRunning(roots []string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var found []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		for _, root := range roots {
			if strings.Contains(cmd, root) && strings.Contains(cmd, "agent-") {
				found = append(found, cmd)
			}
		}
	}
	return found
}

// relayPair is a GPU holding a.txt and its standby, both over SSH, in an
// association relaying through st, its loops driven by nobody.
func relayPair(t *testing.T, st store.Store) (r *rig, gpu, sb Machine, a *Association) {
	r = newRig(t)
	gpu, sb = r.overSSH(t, r.machine(t)), r.overSSH(t, r.machine(t))
	write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
	a = start(t, gpu, sb, Options{Agent: agents(t), Store: st, SyncTicks: make(chan time.Time), CheckTicks: make(chan time.Time)})
	return r, gpu, sb, a
}

// links adds up what Options.Moved heard, by instance: [sent, received].
type links struct {
	mu sync.Mutex
	by map[string][2]int64
}

func (l *links) moved(instance string) func(sent, received int64) {
	return func(sent, received int64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.by == nil {
			l.by = map[string][2]int64{}
		}
		v := l.by[instance]
		l.by[instance] = [2]int64{v[0] + sent, v[1] + received}
	}
}

func (l *links) get(instance string) [2]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.by[instance]
}
