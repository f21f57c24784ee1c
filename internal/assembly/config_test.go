package assembly

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/sshpool"
)

const fullConfig = `# every kind of setting
targets:
  lab:                       # --target lab
    kind: ssh
    hosts:
      - { name: gpu1, host: 10.0.0.5, port: 22, user: root, key: ~/.ssh/id_ed25519, workspace: /workspace, gpu: RTX_4090, num_gpus: 1, price_per_hour: 0.50, role: gpu }
      - { name: cpu1, host: 10.0.0.9, user: scn, key: keys/lab, workspace: /srv/ws, role: standby }
      - name: gpu2
        host: gpu2.lab
        port: 2222
        gpu: RTX_3090
        host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl
    store: { kind: dir, path: .scn/store }
  local:
    faults: { boot_delay: 5s, refuse_ssh_for: 10s, preempt_after: 1m, store_fail_every: 3, link_bytes_per_sec: 1000000 }
  vast:
    kind: vast
    image: vastai/base-image:@vastai-automatic-tag
    disk_gb: 20
    api_key_env: TEAM_VAST_KEY
    gcp: { project: my-proj, zone: us-central1-a, machine_type: e2-medium }
    store:
      kind: s3
      endpoint: https://s3.us-west-004.backblazeb2.com
      region: us-west-004
      bucket: drills
      prefix: team-a/
      access_key_env: B2_KEY_ID
      secret_key_env: B2_APPLICATION_KEY
`

func TestLoadConfigFull(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	file := filepath.Join(dir, "scn.yaml")
	if err := os.WriteFile(file, []byte(fullConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]TargetConfig{
		"lab": {Name: "lab", Kind: "ssh", Where: file + ":3:3",
			Hosts: []sshpool.Host{
				{Name: "gpu1", Host: "10.0.0.5", Port: 22, User: "root", IdentityFile: filepath.Join(home, ".ssh/id_ed25519"),
					Workspace: "/workspace", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.5, Role: "gpu"},
				{Name: "cpu1", Host: "10.0.0.9", User: "scn", IdentityFile: filepath.Join(dir, "keys/lab"), Workspace: "/srv/ws", Role: "standby"},
				{Name: "gpu2", Host: "gpu2.lab", Port: 2222, GPU: "RTX_3090", NumGPUs: 1,
					HostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"},
			},
			Store: &StoreConfig{Kind: "dir", Path: filepath.Join(dir, ".scn/store")}},
		"local": {Name: "local", Kind: "local", Where: file + ":14:3",
			Faults: Faults{BootDelay: 5 * time.Second, RefuseSSHFor: 10 * time.Second, PreemptAfter: time.Minute, StoreFailEvery: 3, LinkBytesPerSec: 1000000}},
		"vast": {Name: "vast", Kind: "vast", Where: file + ":16:3",
			Vast: VastOptions{Image: "vastai/base-image:@vastai-automatic-tag", DiskGB: 20, APIKeyEnv: "TEAM_VAST_KEY"},
			GCP:  &GCPOptions{Project: "my-proj", Zone: "us-central1-a", MachineType: "e2-medium"},
			Store: &StoreConfig{Kind: "s3", Endpoint: "https://s3.us-west-004.backblazeb2.com", Region: "us-west-004",
				Bucket: "drills", Prefix: "team-a/", AccessKeyEnv: "B2_KEY_ID", SecretKeyEnv: "B2_APPLICATION_KEY"}},
	}
	for name, w := range want {
		got, ok := cfg.Target(name)
		if !ok || !reflect.DeepEqual(got, w) {
			t.Errorf("Target(%s) = %+v, %v\nwant %+v", name, got, ok, w)
		}
	}
	if len(cfg.Targets) != len(want) || cfg.File != file {
		t.Errorf("config = %+v", cfg)
	}
	if got := cfg.Names(); !reflect.DeepEqual(got, []string{"lab", "local", "ssh", "vast"}) {
		t.Errorf("Names() = %v", got)
	}
	if got, ok := cfg.Target("ssh"); !ok || !reflect.DeepEqual(got, TargetConfig{Name: "ssh", Kind: "ssh"}) {
		t.Errorf("built-in ssh not in scn.yaml = %+v, %v", got, ok)
	}
	if _, ok := cfg.Target("labb"); ok {
		t.Error("Target(labb) found a target that is not defined")
	}
}

func TestLoadConfigAbsentOrEmpty(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadConfig(filepath.Join(dir, "scn.yaml"))
	if err != nil || len(cfg.Targets) != 0 || cfg.File != "" {
		t.Fatalf("missing file: %+v, %v; want an empty config", cfg, err)
	}
	if tc, ok := cfg.Target("local"); !ok || tc.Kind != "local" {
		t.Errorf("built-in local from an empty config = %+v, %v", tc, ok)
	}
	for _, src := range []string{"", "# nothing yet\n", "targets:\n"} {
		cfg, err := parseConfig("scn.yaml", dir, []byte(src))
		if err != nil || len(cfg.Targets) != 0 {
			t.Errorf("%q: %+v, %v; want an empty config", src, cfg, err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "isdir.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(filepath.Join(dir, "isdir.yaml")); err == nil {
		t.Error("a config that cannot be read is not an error")
	}
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string // each a whole error, or its beginning
		deny string   // must not appear (a secret)
	}{
		{"typo at top", "target:\n  lab: {}\n",
			[]string{`scn.yaml:1:1: target: unknown key (did you mean "targets"?)`}, ""},
		{"targets is a list", "targets:\n  - lab\n",
			[]string{`scn.yaml:2:3: targets: must be a mapping of target names`}, ""},
		{"syntax", "targets:\n  lab:\n    kind: ssh\n   bad: [\n",
			[]string{`scn.yaml:4:1: YAML syntax error: `}, ""},
		{"typo in target, no hosts", "targets:\n  lab:\n    kind: ssh\n    hots:\n      - { name: a, host: h }\n",
			[]string{`scn.yaml:2:3: targets.lab: a kind ssh target needs hosts:`, `scn.yaml:4:5: targets.lab.hots: unknown key (did you mean "hosts"?)`}, ""},
		{"no kind", "targets:\n  lab:\n    hosts: []\n",
			[]string{`scn.yaml:2:3: targets.lab: needs kind: (local, vast or ssh)`}, ""},
		{"bad kind", "targets:\n  lab:\n    kind: shh\n",
			[]string{`scn.yaml:3:11: targets.lab.kind: must be local or vast or ssh, not "shh" (did you mean "ssh"?)`}, ""},
		{"built-in of another kind", "targets:\n  local:\n    kind: vast\n",
			[]string{`scn.yaml:3:11: targets.local.kind: local is the built-in local target; give a kind vast target another name`}, ""},
		{"key of another kind", "targets:\n  vast:\n    image: x\n    hosts: []\n",
			[]string{`scn.yaml:4:5: targets.vast.hosts: only for kind ssh targets; vast is kind vast`}, ""},
		{"bad target name", "targets:\n  my lab:\n    kind: local\n",
			[]string{`scn.yaml:2:3: targets.my lab: a target name is letters`}, ""},
		{"kind twice", "targets:\n  lab:\n    kind: local\n    kind: vast\n",
			[]string{`scn.yaml:4:5: targets.lab.kind: set twice (first at line 3)`}, ""},
		{"literal access key", "targets:\n  vast:\n    store:\n      kind: s3\n      bucket: b\n      access_key: AKIASECRET42\n",
			[]string{`scn.yaml:6:7: targets.vast.store.access_key: secrets never go in scn.yaml: put the value in an environment variable and name it with access_key_env`}, "AKIASECRET42"},
		{"secret in an env name", "targets:\n  vast:\n    store: { kind: s3, bucket: b, access_key_env: B2_KEY_ID, secret_key_env: K005x/y+zSECRET }\n",
			[]string{`scn.yaml:3:78: targets.vast.store.secret_key_env: must name an environment variable`}, "K005x/y+zSECRET"},
		{"literal api key", "targets:\n  vast:\n    api_key: abc123SECRET\n",
			[]string{`scn.yaml:3:5: targets.vast.api_key: secrets never go in scn.yaml: put the value in an environment variable and name it with api_key_env`}, "abc123SECRET"},
		{"half the s3 credentials", "targets:\n  vast:\n    store: { kind: s3, bucket: b, access_key_env: B2_KEY_ID }\n",
			[]string{`scn.yaml:3:12: targets.vast.store: name both access_key_env and secret_key_env`}, ""},
		{"s3 without bucket, bad endpoint", "targets:\n  vast:\n    store: { kind: s3, endpoint: s3.example.com }\n",
			[]string{`scn.yaml:3:12: targets.vast.store: an s3 store needs bucket:`, `scn.yaml:3:34: targets.vast.store.endpoint: must be a URL`}, ""},
		{"dir store without path, s3 key", "targets:\n  local:\n    store: { kind: dir, bucket: b }\n",
			[]string{`scn.yaml:3:12: targets.local.store: a dir store needs path:`, `scn.yaml:3:25: targets.local.store.bucket: not a setting of a kind dir store`}, ""},
		{"store kind", "targets:\n  local:\n    store: { kind: disk, path: x }\n",
			[]string{`scn.yaml:3:20: targets.local.store.kind: must be dir or s3, not "disk"`}, ""},
		{"faults", "targets:\n  local:\n    faults: { boot_delay: 5, preempt_after: -1s, store_fail_every: often }\n",
			[]string{`scn.yaml:3:27: targets.local.faults.boot_delay: must be a duration like 5s`,
				`scn.yaml:3:45: targets.local.faults.preempt_after: must not be negative`,
				`scn.yaml:3:68: targets.local.faults.store_fail_every: must be a whole number, not "often"`}, ""},
		{"host fields", "targets:\n  ssh:\n    hosts:\n      - { name: gpu1, host: h1, port: 70000, workspace: ws, role: worker, num_gpus: two, price_per_hour: -1 }\n",
			[]string{`scn.yaml:4:39: targets.ssh.hosts[0].port: must be between 1 and 65535, not 70000`,
				`scn.yaml:4:57: targets.ssh.hosts[0].workspace: must be an absolute path on the host, not "ws"`,
				`scn.yaml:4:67: targets.ssh.hosts[0].role: must be gpu or standby, not "worker"`,
				`scn.yaml:4:85: targets.ssh.hosts[0].num_gpus: must be a whole number, not "two"`,
				`scn.yaml:4:106: targets.ssh.hosts[0].price_per_hour: must not be negative`}, ""},
		{"host identity", "targets:\n  ssh:\n    hosts:\n      - { host: h1 }\n      - { name: -x, host: h2 }\n      - { name: a, password: hunter2 }\n",
			[]string{`scn.yaml:4:9: targets.ssh.hosts[0]: needs name:`,
				`scn.yaml:5:17: targets.ssh.hosts[1].name: host name "-x" must be`,
				`scn.yaml:6:9: targets.ssh.hosts[2]: needs host:`,
				`scn.yaml:6:20: targets.ssh.hosts[2].password: looks like a secret`}, "hunter2"},
		{"host twice", "targets:\n  ssh:\n    hosts:\n      - { name: a, host: h1 }\n      - { name: a, host: h2 }\n      - { name: b, host: h1, port: 22 }\n",
			[]string{`scn.yaml:5:17: targets.ssh.hosts[1].name: host a is listed twice (first at line 4)`,
				`scn.yaml:6:26: targets.ssh.hosts[2].host: h1:22 is host a already`}, ""},
		{"host not a mapping", "targets:\n  ssh:\n    hosts:\n      - gpu1\n",
			[]string{`scn.yaml:4:9: targets.ssh.hosts[0]: must be a mapping like`}, ""},
		{"private key pasted", "targets:\n  ssh:\n    hosts:\n      - name: a\n        host: h\n        key: \"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUSECRET\\n\"\n",
			[]string{`scn.yaml:6:14: targets.ssh.hosts[0].key: must be the path of a private key file, not a key`}, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUSECRET"},
		{"key of another user", "targets:\n  ssh:\n    hosts:\n      - { name: a, host: h, key: ~bob/.ssh/id }\n",
			[]string{`scn.yaml:4:34: targets.ssh.hosts[0].key: only ~/ (your home) is expanded`}, ""},
		{"bad host key", "targets:\n  ssh:\n    hosts:\n      - { name: a, host: h, host_key: not-a-key }\n",
			[]string{`scn.yaml:4:39: targets.ssh.hosts[0].host_key: is not an SSH public key`}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseConfig("scn.yaml", "/proj", []byte(c.src))
			if err == nil {
				t.Fatalf("no error for:\n%s", c.src)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(c.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(lines), len(c.want), err)
			}
			for i, w := range c.want {
				if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
					t.Errorf("error %d does not start with\n  %s\ngot:\n%v", i, w, err)
				}
			}
			if c.deny != "" && strings.Contains(err.Error(), c.deny) {
				t.Errorf("the error repeats the secret %q: %v", c.deny, err)
			}
		})
	}
}
