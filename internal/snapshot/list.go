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

// Delete removes snapshot name: the manifest first — a name without a
// manifest is not a snapshot, so an interrupted delete never leaves
// something that looks restorable — then everything else under
// snapshots/<name>/. With a store that can purge (store.Purger) that is
// everything still stored and billed: older versions and delete markers
// (B2 keeps every version), unfinished multipart uploads and the
// temporaries of a writer killed mid-way. gone is true when nothing was
// there: deleting a missing snapshot is not an error, and `scn cleanup`
// says "destroyed" only when something was.
func Delete(ctx context.Context, st store.Store, name string) (gone bool, err error) {
	if err := ValidateName(name); err != nil {
		return false, err // a name with a slash would widen the prefix to other snapshots
	}
	prefix := "snapshots/" + name + "/"
	objs, err := st.List(ctx, prefix)
	if err != nil {
		return false, fmt.Errorf("deleting snapshot %q: listing it in %s: %w", name, st, err)
	}
	removed := 0
	for _, o := range objs {
		if o.Key == manifestKey(name) {
			if err := st.Delete(ctx, o.Key); err != nil {
				return false, fmt.Errorf("deleting snapshot %q: %w", name, err)
			}
			removed++
		}
	}
	if p, ok := store.PurgerOf(st); ok {
		n, err := p.Purge(ctx, prefix)
		if err != nil {
			return false, fmt.Errorf("deleting snapshot %q: %w", name, err)
		}
		return removed+n == 0, nil
	}
	if sh, ok := store.SharedOf(st); ok {
		if err := sh.DiscardPartial(ctx, prefix); err != nil {
			return false, fmt.Errorf("deleting snapshot %q: %w", name, err)
		}
	}
	for _, o := range objs {
		if o.Key == manifestKey(name) {
			continue
		}
		if err := st.Delete(ctx, o.Key); err != nil {
			return false, fmt.Errorf("deleting snapshot %q: %s: %w", name, o.Key, err)
		}
		removed++
	}
	return removed == 0, nil
}
