// Package image builds scn's container image without a container daemon:
// one layer holding the static scn binary, its agents beside it, the
// repository's scenarios and a minimal root (a non-root user, /tmp, the
// state directory), on an empty base — FROM scratch. Nothing is pulled, so
// `make image` works offline and gives the same image on every machine
// for the same inputs (file times and the creation date are fixed).
// go-containerregistry assembles the OCI image and writes it as an OCI
// image layout in a tar file (an "oci-archive"), which podman, skopeo,
// crane, containerd and Docker ≥ 25 load.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things are in the image; the CronJob manifest and the docs use
// the same paths.
const (
	BinDir       = "/usr/local/bin"
	ScenarioDir  = "/scenarios"
	StateDir     = "/state" // SCN_HOME: mount a volume here
	HomeDir      = "/home/scn"
	UID          = 65532 // the "nonroot" id distroless images use
	passwdFile   = "root:x:0:0:root:/root:/sbin/nologin\nscn:x:65532:65532:scn:/home/scn:/sbin/nologin\n"
	groupFile    = "root:x:0:\nscn:x:65532:\n"
	sourceLabel  = "https://github.com/scnlabs/scn"
	defaultEpoch = 0
)

// Options say what goes into the image.
type Options struct {
	// SCN is the scn binary: static, built for Arch (CGO_ENABLED=0).
	SCN string
	// Agents are scn's agent binaries (scn-agent-<os>-<arch>), placed
	// beside scn, where it looks for them.
	Agents []string
	// Scenarios is a directory whose *.yaml files (recursively) go to
	// /scenarios; "" for none.
	Scenarios string
	// Arch is the image's CPU architecture (amd64, arm64); the OS is linux.
	Arch string
	// Version labels the image (org.opencontainers.image.version).
	Version string
	// Created is the image's creation time; zero: the Unix epoch, for
	// reproducible images (SOURCE_DATE_EPOCH is how make sets it).
	Created time.Time
}

// Build assembles the image.
func Build(o Options) (v1.Image, error) {
	if o.Arch == "" {
		return nil, fmt.Errorf("image: no architecture")
	}
	created := o.Created
	if created.IsZero() {
		created = time.Unix(defaultEpoch, 0).UTC()
	}
	layer, err := rootfs(o)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", o.Arch, v1.Time{Time: created}
	cf.Config = v1.Config{
		Entrypoint: []string{path.Join(BinDir, "scn")},
		Cmd:        []string{"--help"},
		Env:        []string{"PATH=" + BinDir, "SCN_HOME=" + StateDir, "HOME=" + HomeDir},
		User:       fmt.Sprintf("%d:%d", UID, UID),
		WorkingDir: HomeDir,
		Volumes:    map[string]struct{}{StateDir: {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "scn",
			"org.opencontainers.image.version": o.Version,
			"org.opencontainers.image.source":  sourceLabel,
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return img, nil
}

// entry is one file or directory of the layer.
type entry struct {
	name string // absolute, in the image
	mode int64
	uid  int
	body []byte // nil for a directory
}

// rootfs is the image's only layer.
func rootfs(o Options) (v1.Layer, error) {
	es := []entry{
		{name: "/etc", mode: 0o755}, {name: "/etc/passwd", mode: 0o644, body: []byte(passwdFile)},
		{name: "/etc/group", mode: 0o644, body: []byte(groupFile)},
		{name: "/tmp", mode: 0o1777}, {name: HomeDir, mode: 0o755, uid: UID}, {name: StateDir, mode: 0o755, uid: UID},
		{name: "/usr", mode: 0o755}, {name: "/usr/local", mode: 0o755}, {name: BinDir, mode: 0o755},
	}
	for _, bin := range append([]string{o.SCN}, o.Agents...) {
		b, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		es = append(es, entry{name: path.Join(BinDir, filepath.Base(bin)), mode: 0o755, body: b})
	}
	if o.Scenarios != "" {
		sc, err := scenarios(o.Scenarios)
		if err != nil {
			return nil, err
		}
		es = append(es, sc...)
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, es); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// scenarios are the YAML files under dir, at the same relative paths
// under /scenarios, with the directories between.
func scenarios(dir string) ([]entry, error) {
	es, err := readTree(dir, ScenarioDir, func(name string) bool {
		return path.Ext(name) == ".yaml" || path.Ext(name) == ".yml"
	})
	return append([]entry{{name: ScenarioDir, mode: 0o755}}, es...), err
}

// readTree reads the directories and the files keep accepts under dir,
// named as under the absolute path under.
func readTree(dir, under string, keep func(name string) bool) ([]entry, error) {
	var es []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := path.Join(under, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			es = append(es, entry{name: name, mode: 0o755})
		case keep(name):
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			es = append(es, entry{name: name, mode: 0o644, body: b})
		}
		return nil
	})
	return es, err
}

// writeTar writes es to w in lexical order, with fixed times: the same
// entries give the same bytes.
func writeTar(w io.Writer, es []entry) error {
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	tw := tar.NewWriter(w)
	for _, e := range es {
		h := &tar.Header{Name: strings.TrimPrefix(e.name, "/"), Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: time.Unix(defaultEpoch, 0), Format: tar.FormatPAX}
		if e.body == nil {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(e.body); err != nil {
			return err
		}
	}
	return tw.Close()
}
