// Package files holds files.create and files.verify: write test files with
// unique content on a machine and record their MD5, then prove later — on
// the same machine or on the one a failover restored to — that every file
// came back byte for byte. The formats are those of the system scn
// replaces (Dumont Cloud's failover helper): files named test-file-<i>.txt
// whose text carries a timestamp, and a saved list
// failover_files_<instance>.json of {"path","content","md5","size"}.
//
// The work is done by plain functions over a remote.Execer (Write, Resolve,
// Check; the hashing itself is internal/md5check's, shared with
// snapshot.restore and failover.restore) so they run the same against a
// sandbox, a VAST GPU or a local shell in tests; the actions only look the
// instance up and report.
// Every machine is touched in as few round trips as possible: one tar
// stream to write, one shell script to hash.
package files

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/scnlabs/scn/internal/md5check"
)

// File is one file as files.create records it and files.verify checks it.
type File struct {
	Path string `json:"path" doc:"absolute path on the machine that wrote it"`
	Rel  string `json:"rel,omitempty" doc:"path relative to the directory it was written in"`
	MD5  string `json:"md5" doc:"hex MD5 of the content"`
	Size int64  `json:"size" doc:"size in bytes"`
}

// name is how messages call the file: its recorded path, else its rel.
func (f File) name() string {
	if f.Path != "" {
		return f.Path
	}
	return f.Rel
}

// seedRecord is one entry of the seed's saved list. Its four fields, and
// only those, are written so the seed's own validator can read our files
// and we can read its.
type seedRecord struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	MD5     string `json:"md5"`
	Size    int64  `json:"size"`
}

// expandID replaces {id} in a saved-list path by the instance id, so the
// seed's failover_files_{id}.json names work as they did.
func expandID(path, id string) string { return strings.ReplaceAll(path, "{id}", id) }

// encodeList is files as a seed-compatible JSON list. Content is the
// file's text for text-only files and "" for files padded with random
// bytes (not text, and possibly huge): their md5 and size are what
// verification uses.
func encodeList(files []Written) ([]byte, error) {
	recs := make([]seedRecord, len(files))
	for i, f := range files {
		recs[i] = seedRecord{Path: f.Path, Content: f.Content, MD5: f.MD5, Size: f.Size}
	}
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the file list: %w", err)
	}
	return append(data, '\n'), nil
}

// Load reads a saved list (ours or the seed's). Each entry needs a path and
// an MD5; content is ignored.
func Load(path string) ([]File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the file list: %w", err)
	}
	var recs []seedRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("file list %s is not a JSON list of {path, content, md5, size}: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("file list %s is empty: nothing to verify", path)
	}
	out := make([]File, len(recs))
	for i, r := range recs {
		out[i] = File{Path: r.Path, MD5: r.MD5, Size: r.Size}
		if err := checkRecord(out[i]); err != nil {
			return nil, fmt.Errorf("file list %s, entry %d: %w", path, i, err)
		}
	}
	return out, nil
}

// checkRecord rejects a recorded file that cannot be verified.
func checkRecord(f File) error {
	if f.Path == "" && f.Rel == "" {
		return fmt.Errorf("no path")
	}
	if !md5check.IsMD5(f.MD5) {
		return fmt.Errorf("%s: md5 %q is not 32 hex digits", f.name(), f.MD5)
	}
	return nil
}
