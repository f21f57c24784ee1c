package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/target"
)

// standbyVars are cpu-standby's intervals for these tests. Checks are
// fast, so detection takes a fraction of a second. The drill needs no
// background sync to happen between its first sync and the GPU's death
// (the late files must stay unsynced: that is what it measures), and those
// steps take about half a second here, more on a loaded machine: syncs are
// set far enough apart that one never falls in between. Nothing in the
// drill waits for a sync, so this costs no time.
var standbyVars = map[string]string{"sync_interval": "5s", "check_interval": "50ms"}

// standbyWorld is the vast target with its standby provider, all fakes on
// loopback: GPUs from the VAST fake, the standby VM from the Compute
// Engine fake (token endpoint included), B2 as gofakes3 over HTTPS behind
// the B2 guard. GPUs and standby VMs are separate machine sets: a file
// reaches the standby only through scn's sync.
type standbyWorld struct {
	vast   *vasttest.Fake
	gpus   *vastMachines
	gce    *gcptest.Server
	vms    *gcpMachines
	b2     *s3test.Server
	google *googleWire
	creds  string // the service-account key file
	tgt    *target.Target
	state  string
	offers []vasttest.Offer
}

func newStandbyWorld(t *testing.T) *standbyWorld {
	t.Helper()
	w := &standbyWorld{gpus: newVastMachines(t), b2: s3test.StartServer(t, s3test.Options{}), state: t.TempDir(),
		google: newGoogleWire(t)}
	w.offers = []vasttest.Offer{
		{ID: offerGPUA, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.347, Reliability: 0.995, DiskSpace: 120, Geolocation: "Oregon, US"},
		{ID: offerGPUB, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.389, Reliability: 0.995, DiskSpace: 120, Geolocation: "Oregon, US"},
	}
	w.vast = vasttest.New(t, vasttest.Options{APIKey: vastAPIKey, Offers: w.offers, Credit: 25, SSH: w.gpus.boot})
	w.gpus.fake = w.vast

	w.gce = gcptest.New(t)
	w.vms = newGCPMachines(t)
	w.gce.OnCall = w.vms.inserted
	w.gce.SSH, w.gce.SSHRelease = w.vms.boot, w.vms.release
	w.creds = w.gce.WriteCredentials(t)

	env := map[string]string{
		"VAST_API_KEY": vastAPIKey, "VAST_URL": w.vast.URL,
		"B2_ENDPOINT": w.b2.Endpoint, "B2_BUCKET": w.b2.Bucket, "B2_REGION": "us-west-004",
		"B2_KEY_ID": s3test.AccessKeyID, "B2_APPLICATION_KEY": s3test.SecretAccessKey,
		"GOOGLE_APPLICATION_CREDENTIALS": w.creds, "GCP_PROJECT_ID": w.gce.Project, "GCP_ZONE": w.gce.Zone,
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE":      w.gce.Endpoint(),
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING": w.gce.BillingEndpoint(),
	}
	tgt, err := assembly.Open(context.Background(), assembly.OpenOptions{
		Name: "vast", StateDir: w.state, ConfigFile: filepath.Join(w.state, "scn.yaml"),
		Getenv: func(k string) string { return env[k] },
		// scn's agent on every machine, as the CLI has it: the standby's
		// increments go GPU → B2 → standby without scn in the path.
		Agents: agentBinaries(t),
		TuneVast: func(c *vast.Config) {
			c.Workspace = w.gpus.Workspace
			c.PollInterval, c.RetryBase, c.RetryCap = 20*time.Millisecond, 5*time.Millisecond, 40*time.Millisecond
		},
		// The machines' agents reach "B2" too, trusting its certificate.
		TuneS3: func(c *s3store.Config) {
			c.HTTPClient, c.MaxBackoff, c.CAPEM = w.b2.Client, 50*time.Millisecond, w.b2.CertPEM
		},
		TuneGCP: func(c *gcp.Config) {
			c.Workspace, c.PollInterval, c.SSHPortOverride = w.vms.Workspace, 5*time.Millisecond, w.gce.SSHPort
			c.HTTPClient = &http.Client{Transport: w.google, Timeout: 30 * time.Second}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tgt.Close)
	if tgt.Standby == nil || tgt.Standby.Name() != "gcp" {
		t.Fatalf("the vast target's standby provider is %v, want gcp", tgt.Standby)
	}
	tgt.PollInterval = 20 * time.Millisecond
	w.tgt = tgt
	return w
}

// gcpMachines stands for the standby VMs the Compute Engine fake runs (see
// machineSet). Like a real VM's guest agent, a VM's SSH server accepts the
// key its insert put in the ssh-keys metadata, nothing else.
type gcpMachines struct {
	*machineSet
	mu   sync.Mutex
	keys map[string]string // VM name → the authorized key of its ssh-keys metadata
	ins  []map[string]any  // every insert body, decoded
}

func newGCPMachines(t *testing.T) *gcpMachines {
	return &gcpMachines{machineSet: newMachineSet(t, "standby VM", 1), keys: map[string]string{}}
}

// inserted records an insert call (the fake's OnCall hook). OnCall runs
// outside the fake's lock, before the call is served, so the key is known
// when the VM boots.
func (m *gcpMachines) inserted(c gcptest.Call) {
	if c.Method != http.MethodPost || !strings.HasSuffix(c.Path, "/instances") {
		return
	}
	var body map[string]any
	var vm struct {
		Name     string
		Metadata struct{ Items []struct{ Key, Value string } }
	}
	if json.Unmarshal(c.Body, &body) != nil || json.Unmarshal(c.Body, &vm) != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ins = append(m.ins, body)
	for _, it := range vm.Metadata.Items {
		if _, key, ok := strings.Cut(it.Value, ":"); ok && it.Key == "ssh-keys" {
			m.keys[vm.Name] = key
		}
	}
}

// boot is the fake's SSH hook (called under its lock: it must not call the fake).
func (m *gcpMachines) boot(name string) (string, int, error) {
	m.mu.Lock()
	key := m.keys[name]
	m.mu.Unlock()
	var keys []string
	if key != "" {
		keys = []string{key}
	}
	return m.machineSet.boot(name, keys)
}

// Inserts returns the decoded body of every insert the fake received.
func (m *gcpMachines) Inserts() []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.ins)
}

// googleWire is the gcp provider's HTTP transport: it refuses anything
// but loopback (a real Google address would mean the test leaks out) and
// records the token requests and every bearer token presented.
type googleWire struct {
	next http.RoundTripper

	mu      sync.Mutex
	tokens  int             // POSTs to the token endpoint
	bearers map[string]bool // access tokens sent to Compute Engine
}

func newGoogleWire(t *testing.T) *googleWire {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &googleWire{next: tr, bearers: map[string]bool{}}
}

func (g *googleWire) RoundTrip(r *http.Request) (*http.Response, error) {
	if h := r.URL.Hostname(); h != "127.0.0.1" {
		return nil, fmt.Errorf("e2e: the gcp provider called %s, not the loopback fake", h)
	}
	g.mu.Lock()
	if r.Method == http.MethodPost && r.URL.Path == "/token" {
		g.tokens++
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		g.bearers[tok] = true
	}
	g.mu.Unlock()
	return g.next.RoundTrip(r)
}

// seen returns the token requests made and the bearer tokens presented.
func (g *googleWire) seen() (tokenPosts int, bearers []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for b := range g.bearers {
		bearers = append(bearers, b)
	}
	return g.tokens, bearers
}

// secrets lists what must never be written or printed: the VAST key, the
// B2 keys, the service account's private key (its PEM body, line by line,
// so that a partial leak is found too) and every access token issued.
func (w *standbyWorld) secrets(t *testing.T) []string {
	t.Helper()
	var sa struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(mustRead(t, w.creds), &sa); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		t.Fatalf("%s holds no PEM private key", w.creds)
	}
	out := []string{vastAPIKey, s3test.SecretAccessKey, s3test.AccessKeyID}
	for _, line := range strings.Split(sa.PrivateKey, "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	_, bearers := w.google.seen()
	return append(out, bearers...)
}

// assertNothingAlive fails for anything still rented: VAST instances
// (every one created must have received a DELETE) and Compute Engine VMs.
func (w *standbyWorld) assertNothingAlive(t *testing.T) {
	t.Helper()
	w.vast.AssertAllDestroyed(t)
	if alive := w.gce.Alive(); len(alive) > 0 {
		t.Errorf("Compute Engine VMs still alive: %v", alive)
	}
}

// gceCalls counts the fake's compute calls by method and the last path
// segment's kind (instances, operations), and fails for any call made
// without a valid token.
func (w *standbyWorld) gceCalls(t *testing.T) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, c := range w.gce.Calls() {
		if !c.Authed {
			t.Errorf("%s %s carried no valid token from the token endpoint", c.Method, c.Path)
		}
		switch {
		case c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/instances"):
			n["insert"]++
		case c.Method == http.MethodDelete:
			n["delete"]++
		case c.Method == http.MethodGet && strings.Contains(c.Path, "/instances/"):
			n["get"]++
		}
	}
	return n
}

// createdFiles returns the relative paths of a files.create step's files.
func createdFiles(t *testing.T, d *drill, stepID, workspace string) []string {
	t.Helper()
	list, _ := output(t, d.Journal, stepID, "files").([]any)
	var out []string
	for _, f := range list {
		p, _ := f.(map[string]any)["path"].(string)
		rel, err := filepath.Rel(workspace, p)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("step %s: file %q is not in the workspace %s", stepID, p, workspace)
		}
		out = append(out, rel)
	}
	return out
}

// assertHolds fails unless every file of want is in dir with the content
// it has in ref (when ref is not ""), and none of absent is.
func assertHolds(t *testing.T, what, dir, ref string, want, absent []string) {
	t.Helper()
	for _, rel := range want {
		got, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		if ref == "" {
			continue
		}
		if orig, err := os.ReadFile(filepath.Join(ref, rel)); err != nil || string(orig) != string(got) {
			t.Errorf("%s: %s differs from the original in %s (%v)", what, rel, ref, err)
		}
	}
	for _, rel := range absent {
		if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
			t.Errorf("%s holds %s, which only ever existed on the first GPU", what, rel)
		}
	}
}
