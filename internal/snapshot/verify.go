package snapshot

import (
	"context"
	"fmt"
	"path"
	"sort"

	"github.com/scnlabs/scn/internal/md5check"
	"github.com/scnlabs/scn/internal/remote"
)

// verify hashes every regular file (and hard link) of the manifest on the
// instance under dir with the shared remote checker (md5check, as
// files.verify does) and records verified, mismatched and missing files in
// res, by their path in the snapshot, sorted.
func verify(ctx context.Context, ex remote.Execer, dir string, m *Manifest, res *RestoreResult) error {
	var entries []Entry
	var want []md5check.Want
	for _, e := range m.Entries {
		if e.Type == TypeFile || e.Type == TypeHardlink {
			entries = append(entries, e)
			want = append(want, md5check.Want{Path: path.Join(dir, e.Path), MD5: e.MD5})
		}
	}
	res.Mismatched, res.Missing = []string{}, []string{}
	if len(want) == 0 {
		return nil
	}
	rep, err := md5check.Check(ctx, ex, want)
	if err != nil {
		return fmt.Errorf("running md5sum: %w", err)
	}
	for i, r := range rep.Results {
		switch r.Status {
		case md5check.Missing:
			res.Missing = append(res.Missing, entries[i].Path)
		case md5check.Mismatch:
			res.Mismatched = append(res.Mismatched, entries[i].Path)
		default:
			res.verified(entries[i])
		}
	}
	sort.Strings(res.Missing)
	sort.Strings(res.Mismatched)
	return nil
}
