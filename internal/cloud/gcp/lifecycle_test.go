package gcp_test

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
	"github.com/scnlabs/scn/internal/remote/sshtest"
)

// rig is a provider wired to a fake Compute Engine whose VMs each come up
// with a real SSH server on 127.0.0.1.
type rig struct {
	fake *gcptest.Server
	p    *gcp.Provider
	cfg  gcp.Config
	key  testKey
	ctx  context.Context

	mu      sync.Mutex
	servers map[string]*sshtest.Server
}

// testKey is the "project key" the VMs must accept.
type testKey struct {
	signer ssh.Signer
	line   string // authorized_keys line
}

func newTestKey(t *testing.T) testKey {
	signer := sshtest.NewKey(t)
	return testKey{signer: signer, line: sshtest.AuthorizedKey(signer) + " scn-test"}
}

func newRig(t *testing.T, adjust func(*gcp.Config)) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	r := &rig{fake: gcptest.New(t), key: newTestKey(t), ctx: ctx, servers: map[string]*sshtest.Server{}}
	r.fake.SSH = func(name string) (string, int, error) {
		// Like the VM's guest agent: the ssh-keys user, with the project key.
		srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []string{r.key.line}, User: gcp.DefaultUser})
		r.mu.Lock()
		r.servers[name] = srv
		r.mu.Unlock()
		return srv.Host, srv.Port, nil
	}
	r.fake.SSHRelease = func(name string) {
		r.mu.Lock()
		srv := r.servers[name]
		r.mu.Unlock()
		if srv != nil {
			srv.Close()
		}
	}
	r.cfg = r.fake.ProviderConfig(t)
	if adjust != nil {
		adjust(&r.cfg)
	}
	p, err := gcp.New(ctx, r.cfg)
	if err != nil {
		t.Fatalf("gcp.New: %v", err)
	}
	r.p = p
	t.Cleanup(func() {
		if alive := r.fake.Alive(); len(alive) > 0 {
			t.Errorf("VMs left alive at the end of the test: %v", alive)
		}
	})
	return r
}

func (r *rig) create(t *testing.T, label string) *cloud.Instance {
	t.Helper()
	inst, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: label, PublicKey: r.key.line})
	if err != nil {
		t.Fatalf("Create(%s): %v", label, err)
	}
	return inst
}

// waitReady waits like the actions do: running, then two SSH echoes.
func (r *rig) waitReady(t *testing.T, id string) *cloud.Instance {
	t.Helper()
	inst, err := cloud.WaitReady(r.ctx, r.p, id, cloud.WaitOptions{
		Interval: time.Millisecond, Timeout: 20 * time.Second,
		Probe: sshtest.Probe(r.key.signer, ssh.InsecureIgnoreHostKey()), // pinning is the remote package's job
	})
	if err != nil {
		t.Fatalf("WaitReady(%s): %v", id, err)
	}
	return inst
}

// ssh runs cmd on the VM as a real SSH client logging in with the project key would.
func (r *rig) ssh(inst *cloud.Instance, cmd string) (string, error) {
	return sshtest.Run(r.ctx, inst, r.key.signer, ssh.InsecureIgnoreHostKey(), cmd)
}

func (r *rig) destroy(t *testing.T, id string) {
	t.Helper()
	if err := r.p.Destroy(r.ctx, id, cloud.ReasonUser); err != nil {
		t.Fatalf("Destroy(%s): %v", id, err)
	}
}

func TestLifecycleCreateSSHDestroy(t *testing.T) {
	r := newRig(t, nil)
	inst := r.create(t, "scn-run1-standby")
	if !strings.HasPrefix(inst.ID, "scn-run1-standby-") || inst.Label != "scn-run1-standby" || inst.Provider != "gcp" {
		t.Fatalf("created instance = %+v", inst)
	}
	if inst.Status != cloud.StatusLoading || inst.Workspace != "/workspace" || inst.User != "scn" {
		t.Errorf("fresh VM: status %q workspace %q user %q, want loading /workspace scn", inst.Status, inst.Workspace, inst.User)
	}
	if time.Since(inst.CreatedAt) > time.Minute || time.Until(inst.CreatedAt) > time.Minute {
		t.Errorf("fresh VM created at %v", inst.CreatedAt)
	}
	if inst.GPU != "e2-medium" || inst.PricePerHour <= 0.005 || inst.PricePerHour >= 0.034 {
		t.Errorf("fresh VM: machine %q price %v, want e2-medium at a Spot price", inst.GPU, inst.PricePerHour)
	}

	ready := r.waitReady(t, inst.ID)
	if ready.Status != cloud.StatusRunning || ready.Host != "127.0.0.1" || ready.Port != r.fake.SSHPort(inst.ID) || ready.Port == 22 {
		t.Fatalf("ready VM = %s:%d (%s), want 127.0.0.1:%d running", ready.Host, ready.Port, ready.Status, r.fake.SSHPort(inst.ID))
	}
	out, err := r.ssh(ready, "echo hello from $(echo standby)")
	if err != nil || out != "hello from standby\n" {
		t.Fatalf("ssh echo = %q, %v", out, err)
	}

	listed, err := r.p.List(r.ctx, "scn-run1")
	if err != nil || len(listed) != 1 || listed[0].ID != inst.ID || listed[0].Label != "scn-run1-standby" {
		t.Fatalf("List(scn-run1) = %+v, %v", listed, err)
	}

	r.destroy(t, inst.ID)
	if _, err := r.p.Get(r.ctx, inst.ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("Get after Destroy: %v, want ErrNotFound", err)
	}
	if _, err := r.ssh(ready, "echo still here"); err == nil {
		t.Fatal("the VM's SSH server still answers after Destroy")
	}

	calls := r.fake.Calls()
	var inserts, waits, deletes int
	for _, c := range calls {
		if !c.Authed {
			t.Errorf("%s %s went without the OAuth token", c.Method, c.Path)
		}
		switch {
		case c.Method == "POST" && strings.HasSuffix(c.Path, "/instances"):
			inserts++
			if c.Query.Get("requestId") == "" {
				t.Error("insert without requestId: a retry could create a second VM")
			}
		case strings.HasSuffix(c.Path, "/wait"):
			waits++
		case c.Method == "DELETE":
			deletes++
		}
	}
	// Each operation takes two polls (PENDING → RUNNING → DONE).
	if inserts != 1 || deletes != 1 || waits != 4 {
		t.Errorf("calls: %d inserts, %d deletes, %d operation waits; want 1, 1, 4", inserts, deletes, waits)
	}
}

func TestInsertBody(t *testing.T) {
	r := newRig(t, nil)
	inst, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-Run_42.b-Standby", RunID: "Run_42.b", PublicKey: r.key.line})
	if err != nil {
		t.Fatal(err)
	}
	defer r.destroy(t, inst.ID)
	body := r.fake.InsertBody(inst.ID)
	get := func(path ...any) any {
		var v any = body
		for _, k := range path {
			switch k := k.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				a, _ := v.([]any)
				if k >= len(a) {
					return nil
				}
				v = a[k]
			}
		}
		return v
	}
	want := map[string]any{
		"machineType":           "zones/us-central1-a/machineTypes/e2-medium",
		"provisioningModel":     "SPOT",
		"terminationAction":     "DELETE",
		"accessConfig":          "ONE_TO_ONE_NAT",
		"sourceImage":           "projects/debian-cloud/global/images/family/debian-12",
		"diskSizeGb":            "20", // int64 travels as a JSON string
		"autoDelete":            true,
		"network":               "global/networks/default",
		"label scn-run":         "run_42-b",
		"label scn-label":       "scn-run_42-b-standby",
		"metadata ssh-keys":     "scn:" + r.key.line,
		"metadata oslogin":      "FALSE",
		"metadata exact label":  "scn-Run_42.b-Standby",
		"VM name is a GCE name": true,
	}
	meta := map[string]string{}
	items, _ := get("metadata", "items").([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		k, _ := m["key"].(string)
		meta[k], _ = m["value"].(string)
	}
	got := map[string]any{
		"machineType":           get("machineType"),
		"provisioningModel":     get("scheduling", "provisioningModel"),
		"terminationAction":     get("scheduling", "instanceTerminationAction"),
		"accessConfig":          get("networkInterfaces", 0, "accessConfigs", 0, "type"),
		"sourceImage":           get("disks", 0, "initializeParams", "sourceImage"),
		"diskSizeGb":            get("disks", 0, "initializeParams", "diskSizeGb"),
		"autoDelete":            get("disks", 0, "autoDelete"),
		"network":               get("networkInterfaces", 0, "network"),
		"label scn-run":         get("labels", "scn-run"),
		"label scn-label":       get("labels", "scn-label"),
		"metadata ssh-keys":     meta["ssh-keys"],
		"metadata oslogin":      meta["enable-oslogin"],
		"metadata exact label":  meta["scn-label"],
		"VM name is a GCE name": gceName(inst.ID),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("insert body %s = %v, want %v", k, got[k], w)
		}
	}
	script := meta["startup-script"]
	for _, line := range []string{"mkdir -p /workspace", "chown scn: /workspace", "useradd --create-home --shell /bin/bash scn"} {
		if !strings.Contains(script, line) {
			t.Errorf("startup-script lacks %q:\n%s", line, script)
		}
	}
	checkBashSyntax(t, script)
}

func gceName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '-' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// checkBashSyntax parses the script with bash -n: it must at least be a
// valid script (running it needs root on a real VM).
func checkBashSyntax(t *testing.T, script string) {
	t.Helper()
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("startup-script is not valid bash: %v\n%s\n%s", err, out, script)
	}
}

func TestOnDemandEnvAndOnStart(t *testing.T) {
	r := newRig(t, func(c *gcp.Config) {
		c.OnDemand, c.MachineType, c.ImageFamily = true, "e2-standard-2", "ubuntu-2204-lts"
	})
	inst, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-x-y", PublicKey: r.key.line, DiskGB: 31.5,
		Env: map[string]string{"GREETING": "it's here", "bad name": "dropped"}, OnStart: "touch started"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.destroy(t, inst.ID)
	body := r.fake.InsertBody(inst.ID)
	sched, _ := body["scheduling"].(map[string]any)
	if sched["provisioningModel"] != "STANDARD" || sched["instanceTerminationAction"] != nil {
		t.Errorf("on-demand scheduling = %v", sched)
	}
	disk := body["disks"].([]any)[0].(map[string]any)["initializeParams"].(map[string]any)
	if disk["sourceImage"] != "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts" || disk["diskSizeGb"] != "32" {
		t.Errorf("disk = %v", disk)
	}
	if inst.GPU != "e2-standard-2" || inst.PricePerHour < 0.06 {
		t.Errorf("on-demand e2-standard-2 reported as %s at %v/h", inst.GPU, inst.PricePerHour)
	}
	var script string
	for _, it := range body["metadata"].(map[string]any)["items"].([]any) {
		if m := it.(map[string]any); m["key"] == "startup-script" {
			script = m["value"].(string)
		}
	}
	if !strings.Contains(script, `export GREETING='it'\''s here'`) || strings.Contains(script, "bad name") ||
		!strings.HasSuffix(script, "cd /workspace\ntouch started\n") {
		t.Errorf("startup-script:\n%s", script)
	}
	checkBashSyntax(t, script)
}

func TestListPagesAndFiltersByLabelPrefix(t *testing.T) {
	r := newRig(t, nil)
	r.fake.PageSize = 1
	var ids []string
	for _, label := range []string{"scn-a-1", "scn-a-2", "scn-b-1"} {
		ids = append(ids, r.create(t, label).ID)
	}
	defer func() {
		for _, id := range ids {
			r.destroy(t, id)
		}
	}()
	for prefix, want := range map[string]int{"": 3, "scn-a": 2, "scn-b-1": 1, "scn-c": 0} {
		got, err := r.p.List(r.ctx, prefix)
		if err != nil || len(got) != want {
			t.Errorf("List(%q) = %d instances (%v), want %d", prefix, len(got), err, want)
		}
	}
	var pages int
	for _, c := range r.fake.Calls() {
		if c.Method == "GET" && strings.HasSuffix(c.Path, "/instances") {
			if c.Query.Get("filter") != "labels.scn-run:*" {
				t.Errorf("list filter = %q", c.Query.Get("filter"))
			}
			if c.Query.Get("pageToken") != "" {
				pages++
			}
		}
	}
	if pages != 4*2 {
		t.Errorf("%d follow-up pages fetched, want 8 (2 per listing of 3 VMs, one per page)", pages)
	}
}

func TestCreateRefusesMissingKey(t *testing.T) {
	r := newRig(t, nil)
	for _, key := range []string{"", "not a key", r.key.line + "\n" + r.key.line} {
		if _, err := r.p.Create(r.ctx, cloud.CreateRequest{Label: "scn-k", PublicKey: key}); err == nil {
			t.Errorf("Create with public key %q succeeded", key)
		}
	}
	if n := len(r.fake.Calls()); n != 0 {
		t.Errorf("%d API calls for requests refused up front", n)
	}
}

// Compute Engine bills a VM at least a minute: the provider says so on the
// instance, and its price is what the fake's bill charges per hour.
func TestAShortLivedVMIsBilledAMinute(t *testing.T) {
	r := newRig(t, nil)
	inst := r.create(t, "scn-run1-standby")
	r.destroy(t, inst.ID)
	usd, secs := r.fake.Bill(inst.ID)
	if secs <= 0 || secs >= 60 {
		t.Fatalf("the VM lived %vs in the fake, want under a minute", secs)
	}
	if inst.MinBilledSeconds != gcptest.MinBilledSeconds {
		t.Errorf("instance says a minimum of %vs, Compute Engine bills %vs", inst.MinBilledSeconds, gcptest.MinBilledSeconds)
	}
	if want := inst.PricePerHour * gcptest.MinBilledSeconds / 3600; usd <= 0 || math.Abs(usd-want) > 1e-12 {
		t.Errorf("billed $%v for %.3fs, want a minute at the instance's $%v/h: $%v", usd, secs, inst.PricePerHour, want)
	}
}
