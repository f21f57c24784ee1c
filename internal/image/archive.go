package image

import (
	"fmt"
	"io"
	"os"

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

// tarDir writes the tree under dir to w (see writeTar).
func tarDir(w io.Writer, dir string) error {
	es, err := readTree(dir, "/", func(string) bool { return true })
	if err != nil {
		return err
	}
	return writeTar(w, es)
}
