// Package assembly builds a target.Target from a target name — a built-in
// (local, vast, ssh) or one defined in the project's scn.yaml — and the
// environment's credentials: it opens the VAST.ai, Compute Engine, SSH-host
// and sandbox providers and the directory or S3/B2 store. It is the one place
// that links the cloud SDKs, and only cmd/scn and tests import it; the
// runner and the actions see the finished *target.Target.
package assembly

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scnlabs/scn/internal/cloud/sshpool"
)

// Target kinds. A built-in target is named after its kind.
const (
	KindLocal = "local"
	KindVast  = "vast"
	KindSSH   = "ssh"
)

var kinds = []string{KindLocal, KindVast, KindSSH}

// Config is the project's optional scn.yaml: targets beyond the built-ins,
// and settings for the built-ins. Secrets are never in it, only the names
// of the environment variables that hold them. See docs/targets.md.
type Config struct {
	File    string                  // the file read; "" when there was none
	Targets map[string]TargetConfig // the targets the file defines, by name
}

// TargetConfig is one target as scn.yaml defines it. Zero values mean the
// kind's default.
type TargetConfig struct {
	Name  string
	Kind  string // KindLocal, KindVast or KindSSH
	Where string // file:line:col of its definition; "" for a built-in not in scn.yaml

	Hosts  []sshpool.Host // kind ssh: the team's machines, all roles, defaults applied by sshpool
	Store  *StoreConfig   // nil: the kind's default store
	Faults Faults         // kind local: failures to inject
	Vast   VastOptions    // kind vast
	GCP    *GCPOptions    // kind vast: the standby VM; nil: from the environment
}

// StoreConfig says where snapshots go.
type StoreConfig struct {
	Kind string // "dir" or "s3"
	Path string // dir: absolute (scn.yaml's relative paths are resolved against its directory)
	// s3 (B2, MinIO, AWS...):
	Endpoint     string // https://s3.us-west-004.backblazeb2.com; required by s3store.New (AWS has no default here)
	Region       string
	Bucket       string
	Prefix       string // key prefix inside the bucket
	AccessKeyEnv string // name of the variable holding the access key id; empty = defaultS3KeyIDEnv
	SecretKeyEnv string // name of the variable holding the secret key; empty = defaultS3SecretEnv
}

// The variables an s3 store in scn.yaml reads its keys from when it names
// none: the B2 ones, as the vast target's default store does.
const (
	defaultS3KeyIDEnv  = "B2_KEY_ID"
	defaultS3SecretEnv = "B2_APPLICATION_KEY"
)

// Faults are failures a local target injects, to rehearse a drill's bad day.
type Faults struct {
	BootDelay       time.Duration // an instance answers SSH only this long after creation
	RefuseSSHFor    time.Duration // then refuses SSH connections for this long
	PreemptAfter    time.Duration // an instance dies this long after it booted (0 = never)
	StoreFailEvery  int           // every Nth store request fails (0 = never)
	LinkBytesPerSec int64         // bandwidth cap to and from instances (0 = none)
}

// VastOptions tune a vast target.
type VastOptions struct {
	Image     string  // container image; the provider's default when empty
	DiskGB    float64 // disk to rent, GB; the provider's default when 0
	APIKeyEnv string  // name of the variable holding the API key; VAST_API_KEY when empty
}

// GCPOptions say where a vast target's standby VM runs.
type GCPOptions struct {
	Project     string
	Zone        string // us-central1-a
	MachineType string // e2-medium
}

// LoadConfig reads scn.yaml at path. A missing file is an empty config; a
// broken one is an error listing every problem with file:line:col.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Targets: map[string]TargetConfig{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading project config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("reading project config %s: %w", path, err)
	}
	return parseConfig(path, dir, data)
}

// Target returns the target called name: as scn.yaml defines it, or the
// built-in of that name with its defaults. false when there is no such
// target (see Names for the message).
func (c *Config) Target(name string) (TargetConfig, bool) {
	if c != nil {
		if t, ok := c.Targets[name]; ok {
			return t, true
		}
	}
	if slices.Contains(kinds, name) {
		return TargetConfig{Name: name, Kind: name}, true
	}
	return TargetConfig{}, false
}

// Names lists every target name --target accepts, sorted.
func (c *Config) Names() []string {
	names := slices.Clone(kinds)
	if c != nil {
		for n := range c.Targets {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}

func parseConfig(file, dir string, data []byte) (*Config, error) {
	cfg := &Config{File: file, Targets: map[string]TargetConfig{}}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if err.Error() == "EOF" { // empty, or only comments
			return cfg, nil
		}
		return nil, syntaxError(file, data, err)
	}
	d := &decoder{file: file, dir: dir}
	top := d.mapping(doc.Content[0], "", "targets")
	if tn := top.val("targets"); tn != nil && !isNull(tn) {
		if tn.Kind != yaml.MappingNode {
			d.fail(tn, "targets", "must be a mapping of target names to their settings, not %s", describe(tn))
		} else {
			for i := 0; i+1 < len(tn.Content); i += 2 {
				k, v := tn.Content[i], resolve(tn.Content[i+1])
				if _, dup := cfg.Targets[k.Value]; dup {
					d.fail(k, "targets."+k.Value, "target defined twice")
					continue
				}
				if t, ok := d.target(k, v); ok {
					cfg.Targets[t.Name] = t
				}
			}
		}
	}
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b *ConfigError) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		errs := make([]error, len(d.errs))
		for i, e := range d.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

var targetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Keys each kind of target accepts, beyond kind and store.
var kindKeys = map[string][]string{
	KindLocal: {"faults"},
	KindVast:  {"image", "disk_gb", "api_key_env", "gcp"},
	KindSSH:   {"hosts"},
}

func (d *decoder) target(k, v *yaml.Node) (TargetConfig, bool) {
	name, path := k.Value, "targets."+k.Value
	t := TargetConfig{Name: name, Where: fmt.Sprintf("%s:%d:%d", d.file, k.Line, k.Column)}
	if !targetNameRE.MatchString(name) {
		d.fail(k, path, "a target name is letters, digits, '.', '_' or '-' (it is typed after --target)")
		return t, false
	}
	all := []string{"kind", "store"}
	for _, kind := range kinds {
		all = append(all, kindKeys[kind]...)
	}
	f := d.mapping(v, path, all...)
	builtin := slices.Contains(kinds, name)
	t.Kind = d.oneOf(f.val("kind"), path+".kind", kinds...)
	switch {
	case f.val("kind") == nil && builtin:
		t.Kind = name
	case f.val("kind") == nil:
		d.fail(k, path, "needs kind: (local, vast or ssh)")
		return t, false
	case t.Kind == "":
		return t, false // oneOf said why
	case builtin && t.Kind != name:
		d.fail(f.val("kind"), path+".kind", "%s is the built-in %s target; give a kind %s target another name", name, name, t.Kind)
		return t, false
	}
	for key, fl := range f {
		if key != "kind" && key != "store" && !slices.Contains(kindKeys[t.Kind], key) {
			d.fail(fl.key, join(path, key), "only for kind %s targets; %s is kind %s", kindOf(key), name, t.Kind)
		}
	}
	if n := f.val("store"); n != nil {
		t.Store = d.store(n, path+".store")
	}
	switch t.Kind {
	case KindSSH:
		t.Hosts = d.hosts(f.val("hosts"), path+".hosts", k)
	case KindLocal:
		t.Faults = d.faults(f.val("faults"), path+".faults")
	case KindVast:
		t.Vast = VastOptions{
			Image:     d.str(f.val("image"), path+".image"),
			DiskGB:    d.number(f.val("disk_gb"), path+".disk_gb"),
			APIKeyEnv: d.envName(f.val("api_key_env"), path+".api_key_env"),
		}
		if n := f.val("gcp"); n != nil {
			t.GCP = d.gcp(n, path+".gcp")
		}
	}
	return t, true
}

func kindOf(key string) string {
	for kind, keys := range kindKeys {
		if slices.Contains(keys, key) {
			return kind
		}
	}
	return "?"
}
