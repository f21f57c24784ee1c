package snapshot

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/store"
)

// Info summarises one snapshot for listings.
type Info struct {
	Name        string    `json:"name"`
	CreatedAt   time.Time `json:"created_at"`
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`        // file contents
	StoredBytes int64     `json:"stored_bytes"` // the compressed object
}

// List returns the snapshots whose name matches the glob pattern ("" or
// "*" for all), sorted by name. Only names with a manifest are snapshots.
func List(ctx context.Context, st store.Store, pattern string) ([]Info, error) {
	if pattern == "" {
		pattern = "*"
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("snapshot pattern %q: %w", pattern, err)
	}
	objs, err := st.List(ctx, "snapshots/")
	if err != nil {
		return nil, fmt.Errorf("listing snapshots: %w", err)
	}
	var infos []Info
	for _, o := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, "snapshots/"), "/manifest.json")
		if !ok || ValidateName(name) != nil {
			continue
		}
		if match, _ := path.Match(pattern, name); !match {
			continue
		}
		m, err := ReadManifest(ctx, st, name)
		if err != nil {
			return nil, fmt.Errorf("listing snapshots: %w", err)
		}
		infos = append(infos, Info{Name: name, CreatedAt: m.CreatedAt, Files: m.Counts.Files, Bytes: m.BytesFiles, StoredBytes: m.BytesStored})
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	return infos, nil
}

// Delete removes snapshot name: the manifest first, so that at every moment
// either the snapshot is whole or it does not exist (a crash in between
// leaves only data, which is not a snapshot and a later Create replaces),
// then the data. Deleting a snapshot that does not exist is not an error.
func Delete(ctx context.Context, st store.Store, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	for _, key := range []string{manifestKey(name), dataKey(name)} {
		if err := st.Delete(ctx, key); err != nil {
			return fmt.Errorf("deleting snapshot %q: %w", name, err)
		}
	}
	return nil
}
