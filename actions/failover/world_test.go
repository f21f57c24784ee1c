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

	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/remote/sshtest"
	"github.com/scnlabs/scn/internal/target"
)

// world is the vast target in miniature: GPUs from a fake VAST.ai through
// the real vast provider, standby VMs from a fake Compute Engine through
// the real gcp provider. Every machine, once running, serves real SSH on
// 127.0.0.1 over its own folder (probes go through it); commands run
// there with a real shell.
type world struct {
	*actiontest.Run
	vast *vasttest.Fake
	gce  *gcptest.Server

	mu      sync.Mutex
	roots   map[string]string              // instance id → its folder
	servers map[string]*vasttest.SSHServer // standby VM name → its SSH server
	env     map[string][]string            // instance id → extra environment of its shell
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{roots: map[string]string{}, servers: map[string]*vasttest.SSHServer{}, env: map[string][]string{}}
	signer := sshtest.NewKey(t)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))

	var offers []vasttest.Offer
	for i := range 6 {
		offers = append(offers, vasttest.Offer{ID: int64(i + 1), GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.30 + float64(i)/100,
			Reliability: 0.99, DiskSpace: 100, Geolocation: "Norway, NO"})
	}
	w.vast = vasttest.New(t, vasttest.Options{Offers: offers, Credit: 50})
	w.vast.StartSSHServers(t, func(id string) vasttest.SSHOptions { return vasttest.SSHOptions{Dir: w.newRoot(t, id)} })
	vp, err := vast.New(vast.Config{BaseURL: w.vast.URL, APIKey: w.vast.APIKey(), PollInterval: time.Millisecond,
		RetryBase: time.Millisecond, RetryCap: 4 * time.Millisecond, MaxRetries: 3, DestroyChecks: 5})
	if err != nil {
		t.Fatal(err)
	}

	w.gce = gcptest.New(t)
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

	// The run: its undos go when the test ends, before the fakes do.
	w.Run = actiontest.NewRun(t, &target.Target{Name: "vast", Kind: "vast", Compute: vp, Standby: gp, Paid: true,
		PublicKey: pub, PollInterval: time.Millisecond})
	w.Probe = sshtest.Probe(signer, ssh.InsecureIgnoreHostKey())
	w.Connect = func(_ context.Context, inst *cloud.Instance) (remote.Execer, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		root, ok := w.roots[inst.ID]
		if !ok {
			return nil, fmt.Errorf("no machine %s", inst.ID)
		}
		return remote.Shell{Dir: root, Env: w.env[inst.ID]}, nil
	}
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
