package assembly

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/cloud/sshpool"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/hint"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3store"
	"github.com/scnlabs/scn/internal/target"
)

// OpenOptions say which target to assemble and from where.
type OpenOptions struct {
	Name       string // --target
	StateDir   string // absolute .scn path
	ConfigFile string // scn.yaml (optional)
	// Getenv reads credentials; default os.Getenv (tests pass their own).
	Getenv func(string) string
	// SandboxExe is the binary local sandboxes run (default: this one).
	SandboxExe string
	// Agents says where scn's agent binaries are; nil leaves the target
	// without an agent: every snapshot streams through scn. The CLI
	// passes agentctl.BesideExecutable(), tests testbin.AgentDir().
	Agents *agentctl.Binaries
	// TuneVast, TuneS3 and TuneGCP, when set, edit the VAST provider's,
	// the S3/B2 store's and the GCP standby provider's settings
	// (credentials and endpoints already filled in) before they are built.
	// The CLI leaves them nil; tests use them to drive a vast target
	// against fakes: fast polls and backoff, a temporary workspace, an HTTP
	// client trusting a test CA, the SSH port of a test server.
	TuneVast func(*vast.Config)
	TuneS3   func(*s3store.Config)
	TuneGCP  func(*gcp.Config)
}

// Open assembles the target called o.Name: built-in (local, vast, ssh) or
// defined in scn.yaml. Nothing is rented or contacted yet, except what a
// provider must read to start (a credentials file).
func Open(ctx context.Context, o OpenOptions) (*target.Target, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	cfg, err := LoadConfig(o.ConfigFile)
	if err != nil {
		return nil, err
	}
	tc, ok := cfg.Target(o.Name)
	if !ok {
		return nil, fmt.Errorf("unknown target %q%s", o.Name, hint.Hint(o.Name, cfg.Names()))
	}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating state dir: %w", err)
	}
	key, err := remote.LoadOrCreateKey(filepath.Join(o.StateDir, "keys"))
	if err != nil {
		return nil, fmt.Errorf("project SSH key: %w", err)
	}
	t := &target.Target{Name: o.Name, Kind: tc.Kind, StateDir: o.StateDir, PublicKey: key.AuthorizedKey}
	var retryFor time.Duration
	switch tc.Kind {
	case "local":
		err = openLocal(ctx, t, tc, key, o)
	case "vast":
		err = openVast(ctx, t, tc, o)
		retryFor = 2 * time.Minute // real hosts and vast's SSH proxy come up slowly
	case "ssh":
		err = openSSH(ctx, t, tc, o)
		retryFor = 30 * time.Second
	default:
		err = fmt.Errorf("target %s has unknown kind %q", o.Name, tc.Kind)
	}
	if err != nil {
		return nil, err
	}
	pool := remote.NewPool(key.Signer, remote.Options{RetryFor: retryFor, RetryDelay: time.Second})
	t.Connect = func(ctx context.Context, inst *cloud.Instance) (remote.Execer, error) {
		return pool.Client(ctx, inst)
	}
	// A dial that fails asks the instance's provider once before retrying:
	// a machine that is gone fails its step at once.
	pool.SetRecheck(func(ctx context.Context, inst *cloud.Instance) error {
		prov, ok := t.Provider(inst.Provider)
		if !ok {
			return nil
		}
		return cloud.StillThere(ctx, prov, inst.ID)
	})
	t.Probe, t.Forget = pool.Probe, pool.Forget
	t.OnClose(pool.Close)
	if o.Agents != nil {
		t.Agent = agentctl.New(*o.Agents)
	}
	return t, nil
}

func openLocal(ctx context.Context, t *target.Target, tc TargetConfig, key *remote.Key, o OpenOptions) error {
	f := tc.Faults
	p := local.New(local.Options{StateDir: t.StateDir, Exe: o.SandboxExe, Key: key, Faults: local.Faults{
		BootDelay: f.BootDelay, RefuseSSHFor: f.RefuseSSHFor, PreemptAfter: f.PreemptAfter, LinkBytesPerSec: f.LinkBytesPerSec}})
	t.Compute, t.Standby = p, p
	t.PollInterval = 100 * time.Millisecond
	st, err := openStore(ctx, tc.Store, t, o)
	if err != nil {
		return err
	}
	if f.StoreFailEvery > 0 {
		st = &store.Faulty{Store: st, FailEvery: f.StoreFailEvery}
	}
	t.Store = st
	return nil
}

func openSSH(ctx context.Context, t *target.Target, tc TargetConfig, o OpenOptions) error {
	if len(tc.Hosts) == 0 {
		return fmt.Errorf("target %s has no hosts: list your machines under targets.%s.hosts in scn.yaml (see docs/targets.md)", t.Name, t.Name)
	}
	t.Compute = sshpool.New(sshpool.Options{StateDir: t.StateDir, Hosts: tc.Hosts})
	standby := false
	for _, h := range tc.Hosts {
		standby = standby || h.Role == sshpool.RoleStandby
		t.Paid = t.Paid || h.PricePerHour > 0
	}
	if standby {
		t.Standby = sshpool.New(sshpool.Options{StateDir: t.StateDir, Hosts: tc.Hosts, Role: sshpool.RoleStandby})
	}
	t.PollInterval = time.Second
	st, err := openStore(ctx, tc.Store, t, o)
	t.Store = st
	return err
}

func openVast(ctx context.Context, t *target.Target, tc TargetConfig, o OpenOptions) error {
	keyEnv := tc.Vast.APIKeyEnv
	if keyEnv == "" {
		keyEnv = "VAST_API_KEY"
	}
	apiKey := o.Getenv(keyEnv)
	if apiKey == "" {
		return fmt.Errorf("target %s needs a VAST.ai API key in $%s (console.vast.ai → Account → API keys)", t.Name, keyEnv)
	}
	t.Secrets = append(t.Secrets, apiKey)
	vc := vast.Config{BaseURL: o.Getenv("VAST_URL"), APIKey: apiKey, Image: tc.Vast.Image, DiskGB: tc.Vast.DiskGB}
	if o.TuneVast != nil {
		o.TuneVast(&vc)
	}
	vp, err := vast.New(vc)
	if err != nil {
		return err
	}
	t.Compute, t.Paid, t.PollInterval = vp, true, 5*time.Second
	if tc.Store != nil {
		t.Store, err = openStore(ctx, tc.Store, t, o)
	} else {
		t.Store, err = openB2(ctx, t, o)
		t.StoreRates = &store.B2Rates
	}
	if err != nil {
		return err
	}
	// The standby VM is optional: only standby drills need GCP.
	g := gcp.Config{CredentialsFile: o.Getenv("GOOGLE_APPLICATION_CREDENTIALS"), Project: o.Getenv("GCP_PROJECT_ID"),
		Zone: o.Getenv("GCP_ZONE"), Endpoint: o.Getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE"),
		BillingEndpoint: o.Getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING")}
	if tc.GCP != nil {
		g.Project, g.Zone, g.MachineType = cmp.Or(g.Project, tc.GCP.Project), cmp.Or(g.Zone, tc.GCP.Zone), tc.GCP.MachineType
	}
	if o.TuneGCP != nil {
		o.TuneGCP(&g)
	}
	if g.CredentialsFile != "" {
		t.Secrets = append(t.Secrets, serviceAccountSecrets(g.CredentialsFile)...)
		gp, err := gcp.New(ctx, g)
		if err != nil {
			return fmt.Errorf("GCP standby provider: %w", err)
		}
		t.Standby = gp
	}
	return nil
}

// openB2 is the vast target's default store: Backblaze B2 through its S3 API.
func openB2(ctx context.Context, t *target.Target, o OpenOptions) (store.Store, error) {
	endpoint, bucket := o.Getenv("B2_ENDPOINT"), o.Getenv("B2_BUCKET")
	id, secret := o.Getenv("B2_KEY_ID"), o.Getenv("B2_APPLICATION_KEY")
	var missing []string
	for name, v := range map[string]string{"B2_ENDPOINT": endpoint, "B2_BUCKET": bucket, "B2_KEY_ID": id, "B2_APPLICATION_KEY": secret} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("target %s stores snapshots in Backblaze B2: set %v (see README: paid runs)", t.Name, slices.Sorted(slices.Values(missing)))
	}
	t.Secrets = append(t.Secrets, secret, id)
	return newS3(ctx, o, s3store.Config{Endpoint: endpoint, Region: o.Getenv("B2_REGION"), Bucket: bucket,
		Prefix: o.Getenv("B2_PREFIX"), AccessKeyID: id, SecretAccessKey: secret})
}

// newS3 builds an S3 store, letting o.TuneS3 adjust its settings first.
func newS3(ctx context.Context, o OpenOptions, c s3store.Config) (store.Store, error) {
	if o.TuneS3 != nil {
		o.TuneS3(&c)
	}
	s, err := s3store.New(ctx, c)
	if err != nil {
		return nil, err // not a nil *S3 inside a non-nil Store
	}
	return s, nil
}

// openStore builds a store from scn.yaml; nil means the default directory.
func openStore(ctx context.Context, sc *StoreConfig, t *target.Target, o OpenOptions) (store.Store, error) {
	if sc == nil || sc.Kind == "dir" {
		dir := filepath.Join(t.StateDir, "store")
		if sc != nil && sc.Path != "" {
			dir = sc.Path
		}
		return store.NewDir(dir), nil
	}
	idEnv, secretEnv := sc.AccessKeyEnv, sc.SecretKeyEnv
	if idEnv == "" && secretEnv == "" { // scn.yaml names both or neither
		idEnv, secretEnv = defaultS3KeyIDEnv, defaultS3SecretEnv
	}
	id, secret := o.Getenv(idEnv), o.Getenv(secretEnv)
	if id == "" || secret == "" {
		return nil, fmt.Errorf("target %s: the s3 store needs $%s and $%s", t.Name, idEnv, secretEnv)
	}
	t.Secrets = append(t.Secrets, secret, id)
	return newS3(ctx, o, s3store.Config{Endpoint: sc.Endpoint, Region: sc.Region,
		Bucket: sc.Bucket, Prefix: sc.Prefix, AccessKeyID: id, SecretAccessKey: secret})
}

// serviceAccountSecrets are the parts of a service-account JSON that must
// never be shown: its private key (each line of it) and the key's id.
func serviceAccountSecrets(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil // gcp.New reports it
	}
	var sa struct {
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
	}
	if json.Unmarshal(data, &sa) != nil {
		return nil
	}
	out := []string{sa.PrivateKey, sa.PrivateKeyID}
	for _, line := range strings.Split(sa.PrivateKey, "\n") {
		if !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}
