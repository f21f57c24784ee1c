package standby

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/remote/sshtest"
)

// rig rents machines from a fake VAST.ai through the real vast provider:
// their status is real HTTP and destroying one makes it gone, as on
// VAST. Each machine's disk is a folder reached through a real shell.
type rig struct {
	fake *vasttest.Fake
	prov *vast.Provider
	key  string
	// signer is scn's key, authorised on every machine
	signer ssh.Signer
	// probe is a real SSH probe, as Env.Probe is.
	probe func(context.Context, *cloud.Instance) error

	mu     sync.Mutex
	rented int               // offers 1..rented are taken
	roots  map[string]string // instance id → its folder (its SSH server's too)
}

func newRig(t testing.TB) *rig {
	t.Helper()
	var offers []vasttest.Offer
	for i := range 8 {
		offers = append(offers, vasttest.Offer{ID: int64(i + 1), GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.3, Reliability: 0.99, DiskSpace: 100})
	}
	f := vasttest.New(t, vasttest.Options{Offers: offers})
	p, err := vast.New(vast.Config{BaseURL: f.URL, APIKey: f.APIKey(), PollInterval: time.Millisecond,
		RetryBase: time.Millisecond, RetryCap: 4 * time.Millisecond, MaxRetries: 3, DestroyChecks: 5})
	if err != nil {
		t.Fatal(err)
	}
	signer := sshtest.NewKey(t)
	r := &rig{fake: f, prov: p, signer: signer, key: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))),
		probe: sshtest.Probe(signer, ssh.InsecureIgnoreHostKey()), roots: map[string]string{}}
	// Each instance, once running, answers SSH on 127.0.0.1 over its own folder.
	f.StartSSHServers(t, func(id string) vasttest.SSHOptions {
		root := t.TempDir()
		r.mu.Lock()
		r.roots[id] = root
		r.mu.Unlock()
		// Its own HOME, so what scn installs there (its agent) stays on it.
		home := filepath.Join(root, "home")
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Error(err)
		}
		return vasttest.SSHOptions{Dir: root, Home: home}
	})
	return r
}

// machine rents an instance, waits until it runs and gives it a folder
// with a workspace; it is destroyed when the test ends.
func (r *rig) machine(t testing.TB) Machine {
	t.Helper()
	r.mu.Lock()
	r.rented++
	n := r.rented
	r.mu.Unlock()
	ctx := context.Background()
	inst, err := r.prov.Create(ctx, cloud.CreateRequest{Offer: cloud.Offer{ID: fmt.Sprint(n), Provider: "vast", GPU: "RTX_4090", NumGPUs: 1},
		Label: "scn-test-standby", PublicKey: r.key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.prov.Destroy(context.Background(), inst.ID, cloud.ReasonUser); err != nil {
			t.Errorf("destroying %s: %v", inst.ID, err)
		}
	})
	inst, err = cloud.WaitReady(ctx, r.prov, inst.ID, cloud.WaitOptions{Interval: time.Millisecond, Timeout: 10 * time.Second, Probe: r.probe})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	root := r.roots[inst.ID]
	r.mu.Unlock()
	ws := filepath.Join(root, "workspace")
	must(t, os.Mkdir(ws, 0o755))
	return Machine{Instance: inst, Dir: ws, Provider: r.prov, Connect: shellAt(root), Probe: r.probe}
}

// overSSH is m reached as scn reaches machines, over its real SSH server
// (whose HOME is the machine's own): what scn's agent needs, since it
// talks on the session's stdin and stdout.
func (r *rig) overSSH(t testing.TB, m Machine) Machine {
	t.Helper()
	c, err := remote.Dial(context.Background(), remote.Endpoint{Host: m.Instance.Host, Port: m.Instance.Port, User: m.Instance.User},
		remote.Options{Signer: r.signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m.Connect = func(context.Context, *cloud.Instance) (remote.Execer, error) { return c, nil }
	return m
}

// destroy kills an instance the way instance.destroy reason: failure does.
func (r *rig) destroy(t *testing.T, m Machine) {
	t.Helper()
	if err := r.prov.Destroy(context.Background(), m.Instance.ID, cloud.ReasonFailure); err != nil {
		t.Fatal(err)
	}
}

func shellAt(root string) func(context.Context, *cloud.Instance) (remote.Execer, error) {
	return func(context.Context, *cloud.Instance) (remote.Execer, error) { return remote.Shell{Dir: root}, nil }
}

// manual drives an association's loops by hand: tick, then wait for the
// round's report.
type manual struct {
	syncTicks, checkTicks chan time.Time
	syncs                 chan Cycle
	checks                chan Health
}

func newManual() *manual {
	return &manual{syncTicks: make(chan time.Time), checkTicks: make(chan time.Time),
		syncs: make(chan Cycle, 16), checks: make(chan Health, 16)}
}

func (m *manual) options(o Options) Options {
	o.SyncTicks, o.CheckTicks = m.syncTicks, m.checkTicks
	o.OnSync = func(c Cycle) { m.syncs <- c }
	o.OnCheck = func(h Health) { m.checks <- h }
	return o
}

// check runs one health round and returns its report.
func (m *manual) check(t *testing.T) Health { t.Helper(); return round(t, m.checkTicks, m.checks) }

// sync runs one background cycle and returns it.
func (m *manual) sync(t *testing.T) Cycle { t.Helper(); return round(t, m.syncTicks, m.syncs) }

// round ticks a loop once and waits for what it reports.
func round[R any](t *testing.T, ticks chan<- time.Time, reports <-chan R) R {
	t.Helper()
	select {
	case ticks <- time.Now():
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not take the tick")
	}
	select {
	case r := <-reports:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the loop reported nothing within 20s")
	}
	var zero R
	return zero
}

// start starts an association and stops it when the test ends.
func start(t testing.TB, gpu, sb Machine, o Options) *Association {
	t.Helper()
	a, err := Start(context.Background(), gpu, sb, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return a
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

// node is what tree compares of one path.
type node struct {
	Type  string
	Mode  fs.FileMode
	MTime int64  // files only
	Data  string // md5 of a file, target of a link
}

// tree describes every path under dir except those skip says.
func tree(t *testing.T, dir string) map[string]node {
	t.Helper()
	out := map[string]node{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := node{Mode: info.Mode().Perm()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			n.Type, n.Mode = "link", 0
			n.Data, _ = os.Readlink(p)
		case info.IsDir():
			n.Type = "dir"
		default:
			n.Type, n.MTime = "file", info.ModTime().UnixNano()
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := md5.Sum(b)
			n.Data = hex.EncodeToString(sum[:])
		}
		out[rel] = n
		return nil
	}))
	return out
}

// sameTree fails unless a and b hold the same paths with the same content,
// permissions and file mtimes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	ta, tb := tree(t, a), tree(t, b)
	for p, n := range ta {
		if m, ok := tb[p]; !ok {
			t.Errorf("%q is in %s but not in %s", p, a, b)
		} else if m != n {
			t.Errorf("%q differs: %+v in %s, %+v in %s", p, n, a, m, b)
		}
	}
	for p := range tb {
		if _, ok := ta[p]; !ok {
			t.Errorf("%q is in %s but not in %s", p, b, a)
		}
	}
}
