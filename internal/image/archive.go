package image

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/scnlabs/scn/internal/atomicfile"
)

// WriteOCIArchive writes img to path as an OCI image layout in a tar file,
// its index naming it ref (org.opencontainers.image.ref.name, e.g.
// "scn:latest"): `podman load -i`, `skopeo copy oci-archive:PATH …`,
// `docker load -i` (Docker ≥ 25).
func WriteOCIArchive(path string, img v1.Image, ref string) error {
	dir, err := os.MkdirTemp("", "scn-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}),
		layout.WithPlatform(v1.Platform{OS: cf.OS, Architecture: cf.Architecture})); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	out, err := atomicfile.New(path, 0o644)
	if err != nil {
		return err
	}
	if err := tarDir(out, dir); err != nil {
		out.Abort()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return out.Commit()
}

// tarDir writes the tree under dir to w, in lexical order with fixed
// times and owners: the same layout gives the same archive.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: time.Unix(defaultEpoch, 0), Format: tar.FormatPAX}
		if d.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			return tw.WriteHeader(h)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h.Typeflag, h.Size = tar.TypeReg, info.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
