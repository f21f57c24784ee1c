package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/remote/sshtest"
	"github.com/scnlabs/scn/internal/target"
)

// ownHost is one machine of the team, for the ssh target: a real SSH
// server on 127.0.0.1 that accepts only the host's own identity key (not
// the project key) and runs commands on a folder standing for its disk.
type ownHost struct {
	Name      string
	Root      string // the machine's disk: workspace plus the team's other files
	Workspace string
	KeyFile   string // private key scn.yaml gives for it
	Server    *sshtest.Server
	// PinnedKey is the host key scn.yaml pins: the server's own unless a
	// test sets another.
	PinnedKey ssh.PublicKey
	before    map[string]string // relative path → md5 of every file before the drill
}

func startOwnHost(t *testing.T, name string) *ownHost {
	t.Helper()
	h := &ownHost{Name: name, Root: t.TempDir()}
	h.Workspace = filepath.Join(h.Root, "workspace")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name+"-identity")
	if err != nil {
		t.Fatal(err)
	}
	h.KeyFile = filepath.Join(t.TempDir(), name+"_ed25519")
	if err := os.WriteFile(h.KeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	// The team's files: in the workspace and beside it. The drill may
	// add files; it must not remove or change these.
	for rel, content := range map[string]string{
		"workspace/notes-" + name + ".txt":        "the team's notes on " + name + "\n",
		"workspace/data-" + name + "/weights.bin": strings.Repeat(name, 1000),
		"home/.bashrc": "export PS1='" + name + "$ '\n",
	} {
		p := filepath.Join(h.Root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.Server = sshtest.Start(t, sshtest.Options{AuthorizedKeys: []string{string(ssh.MarshalAuthorizedKey(pub))}, Dir: h.Workspace})
	h.PinnedKey = h.Server.HostKey
	h.before = h.files(t)
	return h
}

// files maps every regular file under Root to its MD5.
func (h *ownHost) files(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(h.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(h.Root, p)
		sum := md5.Sum(data)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertNothingLost fails for every file of the team that the drill
// removed or changed.
func (h *ownHost) assertNothingLost(t *testing.T) {
	t.Helper()
	after := h.files(t)
	for rel, sum := range h.before {
		switch got, ok := after[rel]; {
		case !ok:
			t.Errorf("host %s: the drill deleted %s", h.Name, rel)
		case got != sum:
			t.Errorf("host %s: the drill changed %s", h.Name, rel)
		}
	}
}

// yaml is the host's entry in scn.yaml, its host key pinned.
func (h *ownHost) yaml() string {
	hostKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.PinnedKey)))
	return fmt.Sprintf("      - { name: %s, host: %s, port: %d, user: drill, key: %q, workspace: %q, gpu: RTX_4090, num_gpus: 1, host_key: %q }\n",
		h.Name, h.Server.Host, h.Server.Port, h.KeyFile, h.Workspace, hostKey)
}

// openSSHTarget writes a scn.yaml whose ssh target lists hosts, with a
// dir store, and opens that target.
func openSSHTarget(t *testing.T, hosts ...*ownHost) *target.Target {
	t.Helper()
	state := t.TempDir()
	cfg := "targets:\n  ssh:\n    store: { kind: dir, path: " + fmt.Sprintf("%q", filepath.Join(state, "snapshots-store")) + " }\n    hosts:\n"
	for _, h := range hosts {
		cfg += h.yaml()
	}
	file := filepath.Join(state, "scn.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tgt, err := assembly.Open(context.Background(), assembly.OpenOptions{Name: "ssh", StateDir: state, ConfigFile: file,
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("opening the ssh target of\n%s: %v", cfg, err)
	}
	t.Cleanup(tgt.Close)
	return tgt
}

// assertLeasesReleased fails when any host of the target is still leased.
func assertLeasesReleased(t *testing.T, tgt *target.Target) {
	t.Helper()
	leased, err := tgt.Compute.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range leased {
		t.Errorf("host %s is still leased (label %s)", inst.ID, inst.Label)
	}
	leases, _ := filepath.Glob(filepath.Join(tgt.StateDir, "sshpool", "*.lease"))
	for _, l := range leases {
		t.Errorf("lease file left: %s", l)
	}
}

// assertStoreEmpty fails when a snapshot is left in the dir store.
func assertStoreEmpty(t *testing.T, tgt *target.Target) {
	t.Helper()
	objs, err := tgt.Store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		t.Errorf("left in the store %s: %s", tgt.Store, o.Key)
	}
}

// realtime-sync on two of the team's machines: the drill leases one,
// writes files, snapshots to the dir store, gives the machine up as lost,
// leases the other and restores there.
func TestRealtimeSyncOnSSHTarget(t *testing.T) {
	t.Parallel()
	h1, h2 := startOwnHost(t, "host1"), startOwnHost(t, "host2")
	tgt := openSSHTarget(t, h1, h2)
	d := runDrill(t, tgt, scenario("realtime-sync.yaml"), nil)
	mustPass(t, d)

	a, b := output(t, d.Journal, "gpu_a", "id"), output(t, d.Journal, "gpu_b", "id")
	if a == b {
		t.Errorf("GPU B is host %v again, the machine the drill had just lost: the restore proved nothing", a)
	}
	if v := d.Journal.Validation; v == nil || v.Valid != 3 || v.Total != 3 {
		t.Errorf("validation %+v, want 3/3 valid", v)
	}
	// scn lost GPU A itself: detection 0; then B's rent, the restore, the verify.
	if r := d.Journal.Recovery; r == nil || !r.Recovered || r.Instance != b || r.Phases.Detection != 0 ||
		r.Phases.Provisioning != step(t, d.Journal, "gpu_b").Seconds || r.Phases.Restore != step(t, d.Journal, "restore").Seconds ||
		r.Phases.Verification != step(t, d.Journal, "verify").Seconds {
		t.Errorf("journal recovery %+v", r)
	}
	if !strings.Contains(d.Console, "Recovery onto "+b.(string)) {
		t.Errorf("the closing report shows no recovery:\n%s", d.Console)
	}
	assertLeasesReleased(t, tgt)
	assertStoreEmpty(t, tgt)
	for _, h := range []*ownHost{h1, h2} {
		h.assertNothingLost(t)
		if h.Server.Connections() == 0 {
			t.Errorf("host %s was never contacted", h.Name)
		}
	}
	// The files the drill wrote on A came back, byte for byte, on B.
	files, _ := output(t, d.Journal, "files", "files").([]any)
	if len(files) != 3 {
		t.Fatalf("files.create recorded %d files, want 3", len(files))
	}
	hostA, hostB := h1, h2
	if a == "host2" {
		hostA, hostB = h2, h1
	}
	for _, f := range files {
		rel, err := filepath.Rel(hostA.Workspace, f.(map[string]any)["path"].(string))
		if err != nil {
			t.Fatal(err)
		}
		onA, errA := os.ReadFile(filepath.Join(hostA.Workspace, rel))
		onB, errB := os.ReadFile(filepath.Join(hostB.Workspace, rel))
		if errA != nil || errB != nil || string(onA) != string(onB) {
			t.Errorf("%s: on A %v, on B %v, same content %v", rel, errA, errB, string(onA) == string(onB))
		}
	}
	assertNoSecrets(t, d.Console, []string{string(mustRead(t, h1.KeyFile)), string(mustRead(t, h2.KeyFile))}, d.Dir)
}

// manual-ssh on two named hosts of the ssh target, as its header shows:
// --var source=host1 --var target=host2.
func TestManualSSHOnSSHTarget(t *testing.T) {
	t.Parallel()
	h1, h2 := startOwnHost(t, "host1"), startOwnHost(t, "host2")
	tgt := openSSHTarget(t, h1, h2)
	d := runDrill(t, tgt, scenario("manual-ssh.yaml"), map[string]string{"source": "host1", "target": "host2", "save_dir": "lists"})
	mustPass(t, d)
	if v := d.Journal.Validation; v == nil || v.Valid != 5 || v.Total != 5 {
		t.Errorf("validation %+v, want 5/5 valid", v)
	}
	for _, r := range d.Journal.Resources {
		if r.Kind == "instance" {
			t.Errorf("the drill created instance %s (%s) although both hosts were named", r.ID, r.State)
		}
	}
	mustExist(t, filepath.Join(d.Dir, "lists", "failover_files_host1.json"))
	assertLeasesReleased(t, tgt)
	assertStoreEmpty(t, tgt)
	h1.assertNothingLost(t)
	h2.assertNothingLost(t)
}

// The host keys scn.yaml pins are checked: a host answering with another
// key gets nothing from the drill.
func TestSSHTargetRefusesAHostWithAnotherKey(t *testing.T) {
	t.Parallel()
	h1, h2 := startOwnHost(t, "host1"), startOwnHost(t, "host2")
	h2.PinnedKey = h1.Server.HostKey // as if another machine answered at host2's address
	tgt := openSSHTarget(t, h1, h2)
	d := runDrill(t, tgt, scenario("manual-ssh.yaml"), map[string]string{"source": "host1", "target": "host2"})
	if d.Journal.Status != journal.StatusFailed || !strings.Contains(d.Journal.Error, "host key") {
		t.Fatalf("manual-ssh against a host with the wrong key: %s %q, want failed on its host key", d.Journal.Status, d.Journal.Error)
	}
	if s := step(t, d.Journal, "restore"); s.Status != journal.StepFailed {
		t.Errorf("the restore onto host2 ended %s, want failed", s.Status)
	}
	if got := h2.files(t); len(got) != len(h2.before) {
		t.Errorf("host2 has %d files after the refused restore, had %d", len(got), len(h2.before))
	}
	assertLeasesReleased(t, tgt)
	assertStoreEmpty(t, tgt)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
