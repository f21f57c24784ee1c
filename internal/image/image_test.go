package image

import (
	"archive/tar"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/scnlabs/scn/internal/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// The archive `make image` writes is unpacked the way a runtime does it
// (OCI layout → index → manifest → config and layers), and scn runs from
// the unpacked root: chrooted as the image's user when the test may, so
// nothing from the host's filesystem helps it.
func TestImageRunsSCN(t *testing.T) {
	scn, err := testbin.StaticSCN()
	if err != nil {
		t.Fatal(err)
	}
	agents, err := testbin.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	agent := filepath.Join(agents, "scn-agent-linux-"+runtime.GOARCH)
	img, err := Build(Options{SCN: scn, Agents: []string{agent}, Scenarios: "../../scenarios", Arch: runtime.GOARCH, Version: "v-test"})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "scn-image.tar")
	if err := WriteOCIArchive(archive, img, "scn:test"); err != nil {
		t.Fatal(err)
	}

	// Unpack: the archive is an OCI layout naming the image scn:test.
	lay := t.TempDir()
	untar(t, archive, lay)
	idx, err := layout.ImageIndexFromPath(lay)
	if err != nil {
		t.Fatalf("not an OCI layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "scn:test" {
		t.Fatalf("index %+v (%v): want one image named scn:test", im, err)
	}
	got, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || c.User != "65532:65532" || c.Labels["org.opencontainers.image.version"] != "v-test" {
		t.Errorf("config: %s/%s user %q labels %v", cf.OS, cf.Architecture, c.User, c.Labels)
	}
	root := t.TempDir()
	rc := mutate.Extract(got)
	defer rc.Close()
	untarReader(t, rc, root)

	bin := filepath.Join(root, c.Entrypoint[0])
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("entrypoint %s: %v", c.Entrypoint[0], err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("scn in the image is dynamically linked: FROM scratch has no loader")
		}
	}
	f.Close()
	for _, p := range []string{"usr/local/bin/scn-agent-linux-" + runtime.GOARCH, "scenarios/realtime-sync.yaml", "scenarios/examples/fails-on-purpose.yaml", "etc/passwd"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("the image lacks /%s", p)
		}
	}

	out := inImage(t, root, c.Entrypoint, c.Env, c.WorkingDir, "version")
	if !strings.HasPrefix(out, "scn version ") {
		t.Errorf("scn version printed %q", out)
	}
	// The scenarios it carries check out, and the state directory is
	// writable by the image's user (cleanup opens the ledger there).
	inImage(t, root, c.Entrypoint, c.Env, c.WorkingDir, "validate", "/scenarios/realtime-sync.yaml")
	inImage(t, root, c.Entrypoint, c.Env, c.WorkingDir, "cleanup", "--dry-run")
}

// inImage runs the entrypoint with args as the image would: chrooted into
// root as uid 65532 when this process may chroot, else straight from the
// unpacked files. It fails the test unless the command exits 0.
func inImage(t *testing.T, root string, entry, env []string, wd string, args ...string) string {
	t.Helper()
	cmd := exec.Command(entry[0], append(entry[1:], args...)...)
	cmd.Env = env
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: UID, Gid: UID}}
		cmd.Dir = wd
	} else {
		// Not root, so no chroot: the image's absolute paths are taken
		// under root, and the state goes to a temporary directory.
		cmd.Path = filepath.Join(root, entry[0])
		for i, a := range cmd.Args[1:] {
			if strings.HasPrefix(a, ScenarioDir+"/") {
				cmd.Args[i+1] = filepath.Join(root, a)
			}
		}
		cmd.Env = append(env, "SCN_HOME="+filepath.Join(t.TempDir(), "state"))
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scn %s in the image: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func untar(t *testing.T, archive, dir string) {
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	untarReader(t, f, dir)
}

// untarReader writes a tar stream's directories and regular files under
// dir with their modes and owners (owners only as root).
func untarReader(t *testing.T, r io.Reader, dir string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("tar entry %q escapes the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(w, tr); err != nil {
				t.Fatal(err)
			}
			w.Close()
		default:
			t.Fatalf("tar entry %q of type %c: the image holds only directories and files", h.Name, h.Typeflag)
		}
		if err := os.Chmod(p, os.FileMode(h.Mode).Perm()|modeBits(h.Mode)); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			os.Lchown(p, h.Uid, h.Gid)
		}
	}
}

// modeBits keeps the sticky bit (/tmp) of a tar mode.
func modeBits(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}
