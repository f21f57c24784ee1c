package failover_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcpfake"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vastfake"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/remote/sshtest"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/undo"
)

// world is the vast target in miniature: GPUs from a fake VAST.ai through
// the real vast provider, standby VMs from a fake Compute Engine through
// the real gcp provider. Every machine, once running, serves real SSH on
// 127.0.0.1 over its own folder (probes go through it); commands run
// there with a real shell.
type world struct {
	vast   *vastfake.Fake
	gce    *gcpfake.Server
	target *target.Target
	undo   *undo.Stack
	res    *resource.Tracker
	shared *actions.Shared
	probe  func(context.Context, *cloud.Instance) error

	mu      sync.Mutex
	roots   map[string]string              // instance id → its folder
	servers map[string]*vastfake.SSHServer // standby VM name → its SSH server
	env     map[string][]string            // instance id → extra environment of its shell
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{roots: map[string]string{}, servers: map[string]*vastfake.SSHServer{}, env: map[string][]string{},
		undo: &undo.Stack{}, shared: &actions.Shared{}}
	signer := sshtest.NewKey(t)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	w.probe = sshtest.Probe(signer, ssh.InsecureIgnoreHostKey())

	var offers []vastfake.Offer
	for i := range 6 {
		offers = append(offers, vastfake.Offer{ID: int64(i + 1), GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.30 + float64(i)/100,
			Reliability: 0.99, DiskSpace: 100, Geolocation: "Norway, NO"})
	}
	w.vast = vastfake.New(t, vastfake.Options{Offers: offers, Credit: 50})
	w.vast.StartSSHServers(t, func(id string) vastfake.SSHOptions { return vastfake.SSHOptions{Dir: w.newRoot(t, id)} })
	vp, err := vast.New(vast.Config{BaseURL: w.vast.URL, APIKey: w.vast.APIKey(), PollInterval: time.Millisecond,
		RetryBase: time.Millisecond, RetryCap: 4 * time.Millisecond, MaxRetries: 3, DestroyChecks: 5})
	if err != nil {
		t.Fatal(err)
	}

	w.gce = gcpfake.New(t)
	w.gce.SSH = func(name string) (string, int, error) {
		srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []string{pub}, Dir: w.newRoot(t, name)})
		w.mu.Lock()
		w.servers[name] = srv
		w.mu.Unlock()
		return srv.Host, srv.Port, nil
	}
	w.gce.SSHRelease = func(name string) {
		w.mu.Lock()
		srv := w.servers[name]
		w.mu.Unlock()
		if srv != nil {
			go srv.Close() // called under the fake's lock: close outside it
		}
	}
	gp, err := gcp.New(context.Background(), w.gce.ProviderConfig(t))
	if err != nil {
		t.Fatal(err)
	}

	w.target = &target.Target{Name: "vast", Kind: "vast", Compute: vp, Standby: gp, Paid: true, PublicKey: pub,
		PollInterval: time.Millisecond}
	w.res = resource.NewTracker("run1", "vast", nil, w.undo)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, u := range w.undo.Unwind(ctx, nil) {
			if u.Status != "done" {
				t.Errorf("undo %q: %s %s", u.Description, u.Status, u.Error)
			}
		}
	})
	return w
}

// newRoot gives a machine its folder, with a workspace inside.
func (w *world) newRoot(t *testing.T, id string) string {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "workspace"), 0o755); err != nil {
		t.Error(err)
	}
	w.mu.Lock()
	w.roots[id] = root
	w.mu.Unlock()
	return root
}

// ws is the workspace folder of an instance.
func (w *world) ws(id string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return filepath.Join(w.roots[id], "workspace")
}

// step returns the Env of one step of the run.
func (w *world) step(id string) *actions.Env {
	return &actions.Env{RunID: "run1", Step: id, Target: w.target, Resources: w.res, Undo: w.undo, Shared: w.shared,
		Probe: w.probe,
		Connect: func(_ context.Context, inst *cloud.Instance) (remote.Execer, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			root, ok := w.roots[inst.ID]
			if !ok {
				return nil, fmt.Errorf("no machine %s", inst.ID)
			}
			return remote.Shell{Dir: root, Env: w.env[inst.ID]}, nil
		}}
}

// run decodes with: as the runner does and runs the action as step id.
func (w *world) run(t *testing.T, id string, spec *actions.Spec, with map[string]any) (any, error) {
	t.Helper()
	p := spec.NewParams()
	if err := actions.Decode(p, with, false); err != nil {
		t.Fatalf("%s: decoding %v: %v", spec.Name, with, err)
	}
	return spec.Run(context.Background(), w.step(id), p)
}

// ok runs a step that must succeed.
func ok[O any](t *testing.T, w *world, id string, spec *actions.Spec, with map[string]any) *O {
	t.Helper()
	out, err := w.run(t, id, spec, with)
	if err != nil {
		t.Fatalf("step %s (%s): %v", id, spec.Name, err)
	}
	return out.(*O)
}

// until re-runs a step until cond holds, like `until:` (bounded).
func until[O any](t *testing.T, w *world, id string, spec *actions.Spec, with map[string]any, cond func(*O) bool) *O {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := ok[O](t, w, id, spec, with)
		if cond(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("step %s: condition still false after 20s: %+v", id, out)
		}
		time.Sleep(5 * time.Millisecond) // the until: interval
	}
}
