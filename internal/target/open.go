package target

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// OpenOptions say which target to assemble and from where.
type OpenOptions struct {
	Name       string // --target
	StateDir   string // absolute .scn path
	ConfigFile string // scn.yaml (optional)
}

// Open assembles the target called o.Name.
func Open(ctx context.Context, o OpenOptions) (*Target, error) {
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating state dir: %w", err)
	}
	switch o.Name {
	case "local":
		return &Target{Name: "local", Kind: "local", StateDir: o.StateDir}, nil
	}
	return nil, fmt.Errorf("unknown target %q (built-in targets: local, vast, ssh; others are defined in %s)", o.Name, filepath.Base(o.ConfigFile))
}
