package assembly

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/scnlabs/scn/internal/cloud/sshpool"
)

var hostKeys = []string{"name", "host", "port", "user", "key", "workspace", "gpu", "num_gpus", "price_per_hour", "role", "host_key"}

// hosts reads an ssh target's machines. target is the target's key node,
// where "no hosts" is reported.
func (d *decoder) hosts(n *yaml.Node, p string, target *yaml.Node) []sshpool.Host {
	if n == nil || isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		d.fail(target, "targets."+target.Value, "a kind ssh target needs hosts: (the machines it may use)")
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, p, "must be a list of hosts, not %s", describe(n))
		return nil
	}
	var out []sshpool.Host
	names := map[string]int{} // name → line
	addrs := map[string]string{}
	for i, hn := range n.Content {
		hp := fmt.Sprintf("%s[%d]", p, i)
		hn = resolve(hn)
		h, f, ok := d.host(hn, hp)
		if !ok {
			continue
		}
		if line, dup := names[h.Name]; dup {
			d.fail(f.val("name"), hp+".name", "host %s is listed twice (first at line %d)", h.Name, line)
			continue
		}
		names[h.Name] = f.val("name").Line
		port := h.Port
		if port == 0 {
			port = 22 // sshpool's default: h1 and h1:22 are one machine
		}
		addr := net.JoinHostPort(h.Host, strconv.Itoa(port))
		if other, dup := addrs[addr]; dup {
			d.fail(f.val("host"), hp+".host", "%s is host %s already: list a machine once, so its lease keeps it exclusive", addr, other)
			continue
		}
		addrs[addr] = h.Name
		out = append(out, h)
	}
	return out
}

// host reads one machine; false when it is unusable (d has the reasons).
func (d *decoder) host(n *yaml.Node, p string) (sshpool.Host, fields, bool) {
	before := len(d.errs)
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, "must be a mapping like { name: gpu1, host: 10.0.0.5, user: root, key: ~/.ssh/id_ed25519 }, not %s", describe(n))
		return sshpool.Host{}, nil, false
	}
	f := d.mapping(n, p, hostKeys...)
	h := sshpool.Host{
		Name:         d.str(f.val("name"), p+".name"),
		Host:         d.str(f.val("host"), p+".host"),
		Port:         int(d.integer(f.val("port"), p+".port", 1, 65535)),
		User:         d.str(f.val("user"), p+".user"),
		Workspace:    d.str(f.val("workspace"), p+".workspace"),
		GPU:          d.str(f.val("gpu"), p+".gpu"),
		NumGPUs:      int(d.integer(f.val("num_gpus"), p+".num_gpus", 0, 1024)),
		PricePerHour: d.number(f.val("price_per_hour"), p+".price_per_hour"),
		Role:         d.oneOf(f.val("role"), p+".role", sshpool.RoleGPU, sshpool.RoleStandby),
		HostKey:      d.str(f.val("host_key"), p+".host_key"),
	}
	if h.Name == "" {
		d.fail(n, p, "needs name: (the instance id scn shows, e.g. gpu1)")
	} else if err := sshpool.CheckName(h.Name); err != nil {
		d.fail(f.val("name"), p+".name", "%v", err)
	}
	if h.Host == "" {
		d.fail(n, p, "needs host: (the address to SSH to)")
	}
	if kn := f.val("key"); kn != nil {
		if s := d.str(kn, p+".key"); strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "\n") || strings.HasPrefix(s, "ssh-") {
			// Never echo it: it may be the key itself.
			d.fail(kn, p+".key", "must be the path of a private key file, not a key: secrets never go in scn.yaml")
		} else {
			h.IdentityFile = d.path(kn, p+".key")
		}
	}
	if h.Workspace != "" && !path.IsAbs(h.Workspace) {
		d.fail(f.val("workspace"), p+".workspace", "must be an absolute path on the host, not %q", h.Workspace)
	}
	if h.GPU != "" && f.val("num_gpus") == nil {
		h.NumGPUs = 1
	}
	if h.HostKey != "" {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey)); err != nil {
			d.fail(f.val("host_key"), p+".host_key", "is not an SSH public key in authorized_keys format (ssh-ed25519 AAAA...): %v", err)
		}
	}
	return h, f, len(d.errs) == before
}

// storeKeys are the keys of each kind of store.
var storeKeys = map[string][]string{
	"dir": {"kind", "path"},
	"s3":  {"kind", "endpoint", "region", "bucket", "prefix", "access_key_env", "secret_key_env"},
}

// anyStoreKey is every key of some kind of store: any other is unknown, one
// of another kind is reported as such once the kind is known.
var anyStoreKey = func() []string {
	keys := slices.Concat(storeKeys["dir"], storeKeys["s3"])
	slices.Sort(keys)
	return slices.Compact(keys)
}()

func (d *decoder) store(n *yaml.Node, p string) *StoreConfig {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, "must be a mapping like { kind: dir, path: .scn/store }, not %s", describe(n))
		return nil
	}
	f := d.mapping(n, p, anyStoreKey...)
	s := &StoreConfig{Kind: d.oneOf(f.val("kind"), p+".kind", "dir", "s3")}
	switch {
	case f.val("kind") == nil:
		d.fail(n, p, "needs kind: (dir or s3)")
		return nil
	case s.Kind == "":
		return nil
	}
	for key, fl := range f {
		if !slices.Contains(storeKeys[s.Kind], key) {
			d.fail(fl.key, join(p, key), "not a setting of a kind %s store", s.Kind)
		}
	}
	switch s.Kind {
	case "dir":
		if pn := f.val("path"); pn == nil || isNull(pn) {
			d.fail(n, p, "a dir store needs path: (where snapshots go)")
		} else {
			s.Path = d.path(pn, p+".path")
		}
	case "s3":
		s.Endpoint = d.str(f.val("endpoint"), p+".endpoint")
		s.Region = d.str(f.val("region"), p+".region")
		s.Bucket = d.str(f.val("bucket"), p+".bucket")
		s.Prefix = d.str(f.val("prefix"), p+".prefix")
		s.AccessKeyEnv = d.envName(f.val("access_key_env"), p+".access_key_env")
		s.SecretKeyEnv = d.envName(f.val("secret_key_env"), p+".secret_key_env")
		if s.Bucket == "" {
			d.fail(n, p, "an s3 store needs bucket:")
		}
		if u, err := url.Parse(s.Endpoint); s.Endpoint != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
			d.fail(f.val("endpoint"), p+".endpoint", "must be a URL like https://s3.us-west-004.backblazeb2.com, not %q", s.Endpoint)
		}
		if (f.val("access_key_env") == nil) != (f.val("secret_key_env") == nil) {
			d.fail(n, p, "name both access_key_env and secret_key_env, or neither (then %s and %s are used)", defaultS3KeyIDEnv, defaultS3SecretEnv)
		}
	}
	return s
}

func (d *decoder) faults(n *yaml.Node, p string) Faults {
	f := d.mapping(n, p, "boot_delay", "refuse_ssh_for", "preempt_after", "store_fail_every", "link_bytes_per_sec")
	return Faults{
		BootDelay:       d.duration(f.val("boot_delay"), p+".boot_delay"),
		RefuseSSHFor:    d.duration(f.val("refuse_ssh_for"), p+".refuse_ssh_for"),
		PreemptAfter:    d.duration(f.val("preempt_after"), p+".preempt_after"),
		StoreFailEvery:  int(d.integer(f.val("store_fail_every"), p+".store_fail_every", 0, 1<<31-1)),
		LinkBytesPerSec: d.integer(f.val("link_bytes_per_sec"), p+".link_bytes_per_sec", 0, 1<<62),
	}
}

func (d *decoder) gcp(n *yaml.Node, p string) *GCPOptions {
	f := d.mapping(n, p, "project", "zone", "machine_type")
	return &GCPOptions{
		Project:     d.str(f.val("project"), p+".project"),
		Zone:        d.str(f.val("zone"), p+".zone"),
		MachineType: d.str(f.val("machine_type"), p+".machine_type"),
	}
}
